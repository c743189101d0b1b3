package elastic

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
)

// The spool: append-only JSON-lines segments, one record per document, in
// the order the documents were handed over. A shipper spools into its own
// directory under Config.SpoolDir (held with an flock while it runs, so
// Replay leaves a live shipper's spool alone) and deletes a segment once
// every document in it is stored, refused, or spooled again. A torn last
// line (a crash mid-write) is skipped on reading: its document was never
// acknowledged to the caller as spooled.

// record is one spooled document.
type record struct {
	Index string          `json:"i"`
	ID    string          `json:"d"`
	Op    op              `json:"o,omitempty"`
	Body  json.RawMessage `json:"b"`
}

// segment is one spool file.
type segment struct {
	path string
	// read counts records already handed to the queue (replay resumes
	// there); fullyRead is set once all were; outstanding counts handed
	// records not yet settled. Guarded by Shipper.mu.
	read        int
	fullyRead   bool
	outstanding int
}

// syncEvery bounds how many spooled records may wait for an fsync: a
// batch, so an outage does not cost one fsync per document; the rest are
// synced at the end of each hand-over and by the shipper's ticker.
const syncEvery = 1000

type spoolWriter struct {
	seg      *segment
	f        *os.File
	w        *bufio.Writer
	records  int
	bytes    int
	unsynced int
}

// maxSegBytes rolls the spool to a new segment: replay reads one segment
// at a time into memory, so this bounds what replay holds.
const maxSegBytes = 8 << 20

func segPath(dir string, n int) string { return filepath.Join(dir, fmt.Sprintf("seg-%09d.jsonl", n)) }

func openSpool(dir string, n int) (*spoolWriter, error) {
	p := segPath(dir, n)
	f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	return &spoolWriter{seg: &segment{path: p}, f: f, w: bufio.NewWriterSize(f, 256<<10)}, nil
}

func (sw *spoolWriter) append(it *item) error {
	b, err := json.Marshal(record{Index: it.index, ID: it.id, Op: it.op, Body: it.body})
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if _, err := sw.w.Write(b); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	sw.records++
	sw.bytes += len(b)
	sw.unsynced++
	if sw.unsynced >= syncEvery {
		return sw.sync()
	}
	return nil
}

func (sw *spoolWriter) sync() error {
	if sw.unsynced == 0 {
		return nil
	}
	if err := sw.w.Flush(); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	if err := sw.f.Sync(); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	sw.unsynced = 0
	return nil
}

func (sw *spoolWriter) close() error {
	err := sw.sync()
	if cerr := sw.f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("spool: %w", cerr)
	}
	return err
}

// maxRecordBytes bounds one spooled line when it is read back; a variable
// so that tests can exercise an over-long one.
var maxRecordBytes = 64 << 20

// readSegment returns the records of a segment from record skip on.
func readSegment(path string, skip int) ([]record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, min(64<<10, maxRecordBytes)), maxRecordBytes)
	var out []record
	n := 0
	for sc.Scan() {
		var r record
		if json.Unmarshal(sc.Bytes(), &r) != nil || r.Index == "" || r.ID == "" {
			continue // a torn line
		}
		if n++; n <= skip {
			continue
		}
		out = append(out, r)
	}
	if err := sc.Err(); err != nil {
		return out, fmt.Errorf("spool %s: %w", path, err)
	}
	return out, nil
}

// lockDir takes the flock of a shipper's spool directory; ok is false
// when another process (or shipper) holds it.
func lockDir(dir string) (f *os.File, ok bool, err error) {
	f, err = os.OpenFile(filepath.Join(dir, "lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, false, fmt.Errorf("spool: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, false, nil
	}
	return f, true, nil
}

// lockOwn takes the flock of a new shipper's own directory.
func lockOwn(dir string) (*os.File, error) {
	f, ok, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("spool: %s is locked by another process", dir)
	}
	return f, nil
}

// segmentsIn lists the segments of dir in order.
func segmentsIn(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	var out []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "seg-") && strings.HasSuffix(e.Name(), ".jsonl") {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	sort.Strings(out)
	return out, nil
}

// removeIfEmpty removes a shipper's directory when only its lock is left.
func removeIfEmpty(dir string) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		if e.Name() != "lock" {
			return
		}
	}
	os.Remove(filepath.Join(dir, "lock"))
	os.Remove(dir)
}
