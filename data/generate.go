package data

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/internal/atomicfile"
)

// Options are the choices both generators share.
type Options struct {
	Dir string // output directory, created if missing
	// Verify checks existing files' SHA-256 against the manifest, not only
	// their sizes.
	Verify bool
	// Replace allows generating with parameters other than those of the
	// directory's manifest; it removes only files that manifest lists.
	Replace bool
	// Workers is how many files are written at once; 0 means GOMAXPROCS.
	Workers int
	// Progress, if set, is called (never concurrently) as work is done.
	Progress func(Progress)
	// Log, if set, receives notes for the user (never concurrently).
	Log func(string)
}

// Progress is a snapshot of a generation.
type Progress struct {
	// Phase is PhaseFiles while files are written; the SDF generator first
	// goes through PhaseMolfiles when it makes its molfile cache.
	Phase            Phase
	Files, FilesDone int    // files to write, files written
	Done, Total      int64  // work done and planned in this phase, in Unit
	Unit             string // "bytes" (smiles) or "molecules" (sdf)
	// File is the file just finished, or nil for an intermediate report.
	File *FileInfo
}

// Phase is a stage of a generation, each with its own progress.
type Phase int

const (
	// PhaseFiles writes the output files.
	PhaseFiles Phase = iota
	// PhaseMolfiles lays out the corpus with Open Babel for the molfile
	// cache (SDF only, once per corpus and Open Babel version): the long
	// silent minute of a first run.
	PhaseMolfiles
)

func (p Phase) String() string {
	if p == PhaseMolfiles {
		return "molfiles"
	}
	return "files"
}

// Result says what a generation did.
type Result struct {
	Dir      string
	Manifest *Manifest
	Written  []FileInfo // files (re)generated, in manifest order
	Kept     int        // files found intact and left alone
	Removed  []string   // files removed by Replace
	// WrittenBytes is the size of the files written.
	WrittenBytes int64
	Elapsed      time.Duration
	// CacheBuild is the time spent building the SDF molfile cache with
	// Open Babel (0 when the cache was already there).
	CacheBuild time.Duration
}

// UpToDate reports whether nothing had to be written.
func (r *Result) UpToDate() bool { return len(r.Written) == 0 }

// plannedFile is one output file: its name, its expected amount of work
// (for progress) and the function that writes it. write must depend only on
// the parameters and the file's index, so that a file can be regenerated
// alone, byte-identical.
type plannedFile struct {
	name  string
	units int64
	write func(ctx context.Context, w *fileWriter) (FileInfo, error)
}

type job struct {
	generator string
	params    Params
	unit      string
	files     []plannedFile
	// prepare runs once before any file is written, and only if some file
	// must be; it may fill in result.CacheBuild.
	prepare func(ctx context.Context, r *Result) error
	// grows, if set, says whether data made with old's parameters is the
	// start of this job's data, the same files with the same bytes: then
	// the job only adds files, with no --replace. It returns "" when so,
	// and otherwise why not.
	grows func(old Params) string
}

// fileWriter is what a plannedFile writes to: it hashes, counts and
// reports progress in the file's units.
type fileWriter struct {
	f      *os.File
	h      hash.Hash
	n      int64
	report func(units int64)
}

func (w *fileWriter) Write(p []byte) (int, error) {
	w.h.Write(p)
	n, err := w.f.Write(p)
	w.n += int64(n)
	return n, err
}

// progress reports units of work done since the last call.
func (w *fileWriter) progress(units int64) {
	if w.report != nil {
		w.report(units)
	}
}

var _ io.Writer = (*fileWriter)(nil)

// generate brings opts.Dir to the state j describes: it refuses to touch
// files it did not make, checks the files it did, and (re)writes only what
// is missing or wrong, in parallel.
func generate(ctx context.Context, opts Options, j *job) (*Result, error) {
	start := time.Now()
	res := &Result{Dir: opts.Dir}
	logf := func(format string, args ...any) {
		if opts.Log != nil {
			opts.Log(fmt.Sprintf(format, args...))
		}
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, &benchrig.Error{Code: benchrig.EInvalid, File: opts.Dir, Msg: "cannot create output directory", Err: err}
	}
	old, err := ReadManifest(opts.Dir)
	if err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", opts.Dir, err)
	}
	present := map[string]fs.DirEntry{}
	for _, e := range entries {
		present[e.Name()] = e
	}
	planned := map[string]bool{}
	for _, f := range j.files {
		planned[f.name] = true
		if _, ok := present[f.name]; !ok {
			continue
		}
		listed := false
		if old != nil {
			_, listed = old.lookup(f.name)
		}
		if !listed {
			return nil, &benchrig.Error{Code: benchrig.EInvalid, File: filepath.Join(opts.Dir, f.name),
				Msg: "exists and is not listed in the directory's benchrig manifest (" + ManifestName + "); refusing to overwrite it: move it away or choose another --out"}
		}
	}
	// Temporary files of an interrupted run are ours by name.
	for name := range present {
		if base, ok := tempOwner(name); ok && planned[base] {
			os.Remove(filepath.Join(opts.Dir, name))
		}
	}

	if old != nil {
		diff := paramsDiff(old, j)
		why := "noop"
		if diff != "" {
			why = growsFrom(old, j)
		}
		switch {
		case diff == "":
		case why == "": // with or without Replace: the files are the same

			logf("adding %d file(s) to the %d already there (%s; those keep their bytes)", len(j.files)-len(old.Files), len(old.Files), diff)
		case !opts.Replace:
			if why == "noop" {
				why = ""
			} else {
				why = ": " + why
			}
			return nil, &benchrig.Error{Code: benchrig.EInvalid, File: opts.Dir,
				Msg: fmt.Sprintf("holds data generated with other parameters (%s)%s; use --replace to remove its %d file(s) and generate anew, or choose another --out", diff, why, len(old.Files))}
		default:
			for _, f := range old.Files {
				p := filepath.Join(opts.Dir, f.Name)
				if err := os.Remove(p); err == nil {
					res.Removed = append(res.Removed, f.Name)
				} else if !errors.Is(err, fs.ErrNotExist) {
					return nil, fmt.Errorf("replace: %w", err)
				}
			}
			if err := os.Remove(filepath.Join(opts.Dir, ManifestName)); err != nil {
				return nil, fmt.Errorf("replace: %w", err)
			}
			logf("removed %d file(s) of the previous data (%s)", len(res.Removed), diff)
			old = nil
		}
	}

	m := &Manifest{Generator: j.generator, Format: FormatVersion, Params: j.params, Files: make([]FileInfo, len(j.files))}
	var todo []int
	keep := make([]bool, len(j.files))
	if old != nil {
		m.MolfileCache = old.MolfileCache
		keep = checkFiles(opts, old, j, m, logf)
	}
	for i, f := range j.files {
		if keep[i] {
			res.Kept++
			continue
		}
		m.Files[i] = FileInfo{Name: f.name}
		todo = append(todo, i)
	}
	res.Manifest = m
	if len(todo) == 0 {
		m.sum()
		res.Elapsed = time.Since(start)
		return res, nil
	}
	if j.prepare != nil {
		if err := j.prepare(ctx, res); err != nil {
			return nil, err
		}
	}
	// The manifest lists the files before they are written, so that the
	// files of an interrupted run are known as ours next time.
	if err := writeManifest(opts.Dir, m); err != nil {
		return nil, err
	}

	var (
		mu   sync.Mutex
		prog = Progress{Files: len(todo), Unit: j.unit}
	)
	for _, i := range todo {
		prog.Total += j.files[i].units
	}
	report := func(units int64, done *FileInfo) {
		mu.Lock()
		defer mu.Unlock()
		prog.Done += units
		if done != nil {
			prog.FilesDone++
		}
		if opts.Progress != nil {
			p := prog
			p.File = done
			opts.Progress(p)
		}
	}
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	next := make(chan int)
	errs := make([]error, len(j.files))
	var wg sync.WaitGroup
	for range min(workers, len(todo)) {
		wg.Go(func() {
			for i := range next {
				fi, err := writeOne(wctx, opts.Dir, j.files[i], func(u int64) { report(u, nil) })
				if err != nil {
					errs[i] = err
					cancel()
					continue
				}
				mu.Lock()
				m.Files[i] = fi
				mu.Unlock()
				report(0, &fi)
			}
		})
	}
feed:
	for _, i := range todo {
		select {
		case next <- i:
		case <-wctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()

	for _, i := range todo {
		f := m.Files[i]
		if !f.done() {
			continue
		}
		res.Written = append(res.Written, f)
		res.WrittenBytes += f.Size
		// Same parameters should give the same bytes; say so when not
		// (another Go compressor, a rebuilt molfile cache).
		if old != nil {
			if was, ok := old.lookup(f.Name); ok && was.done() && was.SHA256 != f.SHA256 {
				logf("%s was regenerated with other bytes than the manifest recorded (sha256 %s, was %s)", f.Name, short(f.SHA256), short(was.SHA256))
			}
		}
	}
	if err := writeManifest(opts.Dir, m); err != nil {
		return res, err
	}
	res.Elapsed = time.Since(start)
	for _, err := range errs {
		if err != nil && !errors.Is(err, context.Canceled) {
			return res, err
		}
	}
	if ctx.Err() != nil {
		return res, &benchrig.Error{Code: benchrig.ECancelled, Msg: fmt.Sprintf("cancelled: %d of %d file(s) written; run again to finish", len(res.Written), len(todo))}
	}
	return res, nil
}

// checkFiles decides which planned files already match the manifest (by
// size, and by SHA-256 when opts.Verify) and copies their entries into m.
func checkFiles(opts Options, old *Manifest, j *job, m *Manifest, logf func(string, ...any)) []bool {
	keep := make([]bool, len(j.files))
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		sem = make(chan struct{}, max(1, runtime.GOMAXPROCS(0)))
	)
	for i, f := range j.files {
		want, ok := old.lookup(f.name)
		if !ok || !want.done() {
			continue
		}
		p := filepath.Join(opts.Dir, f.name)
		st, err := os.Stat(p)
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				logf("%s: %v; regenerating", f.name, err)
			}
			continue
		}
		if !st.Mode().IsRegular() || st.Size() != want.Size {
			logf("%s: size %d, manifest says %d; regenerating", f.name, st.Size(), want.Size)
			continue
		}
		if !opts.Verify {
			keep[i], m.Files[i] = true, want
			continue
		}
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			sum, err := fileSHA256(p)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				logf("%s: %v; regenerating", f.name, err)
			case sum != want.SHA256:
				logf("%s: sha256 differs from the manifest; regenerating", f.name)
			default:
				keep[i], m.Files[i] = true, want
			}
		})
	}
	wg.Wait()
	return keep
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.CopyBuffer(h, f, make([]byte, 1<<20)); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// writeOne writes a file through a temporary file in the same directory
// and renames it into place, so a reader never sees a partial file. There
// is no fsync: the data can be regenerated and is checked on the next run.
func writeOne(ctx context.Context, dir string, pf plannedFile, report func(int64)) (FileInfo, error) {
	var w *fileWriter
	var fi FileInfo
	err := atomicfile.Write(filepath.Join(dir, pf.name), 0o644, false, func(f *os.File) error {
		w = &fileWriter{f: f, h: sha256.New(), report: report}
		var err error
		fi, err = pf.write(ctx, w)
		return err
	})
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return FileInfo{}, err
		}
		return FileInfo{}, fmt.Errorf("write %s: %w", pf.name, err)
	}
	fi.Name, fi.Size, fi.SHA256 = pf.name, w.n, hex.EncodeToString(w.h.Sum(nil))
	return fi, nil
}

const tempMark = atomicfile.TempMark

// tempOwner returns the file a temporary file of writeOne was for.
func tempOwner(name string) (string, bool) {
	i := strings.LastIndex(name, tempMark)
	if !strings.HasPrefix(name, ".") || i < 0 {
		return "", false
	}
	return name[1:i], true
}

// growsFrom says whether j only adds files to old's: the same generator
// and format, every file of old planned again under its name, and
// parameters that j.grows accepts. It returns "" when so, "noop" when the
// parameters differ in a way that is no growth at all, and otherwise why
// the existing files would change.
func growsFrom(old *Manifest, j *job) string {
	if j.grows == nil || old.Generator != j.generator || old.Format != FormatVersion {
		return "noop"
	}
	if why := j.grows(old.Params); why != "" {
		return why
	}
	if len(j.files) <= len(old.Files) {
		return "noop"
	}
	for i, f := range old.Files {
		if j.files[i].name != f.Name {
			return fmt.Sprintf("the files would be renamed (%s, was %s)", j.files[i].name, f.Name)
		}
	}
	return ""
}

// paramsDiff describes how the manifest's parameters differ from j's, or
// returns "" when they are the same.
func paramsDiff(old *Manifest, j *job) string {
	if old.Generator != j.generator {
		return fmt.Sprintf("generator %s, not %s", old.Generator, j.generator)
	}
	if old.Format != FormatVersion {
		return fmt.Sprintf("format %d, now %d", old.Format, FormatVersion)
	}
	a, b := old.Params, j.params
	var diffs []string
	add := func(name string, was, now any) {
		if was != now {
			diffs = append(diffs, fmt.Sprintf("%s %v, now %v", name, was, now))
		}
	}
	add("size", a.Size, b.Size)
	add("chunk", a.Chunk, b.Chunk)
	add("files", a.Files, b.Files)
	add("molecules", a.Molecules, b.Molecules)
	add("seed", a.Seed, b.Seed)
	add("corpus", short(a.Corpus), short(b.Corpus))
	add("corpus molecules", a.CorpusMolecules, b.CorpusMolecules)
	add("obabel", a.OBabel, b.OBabel)
	add("gzip level", a.GzipLevel, b.GzipLevel)
	return strings.Join(diffs, "; ")
}

func short(sum string) string {
	if len(sum) > 12 {
		return sum[:12]
	}
	return sum
}
