package data

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/internal/atomicfile"
)

// SDFSpec are the parameters of a gzipped SDF data set.
type SDFSpec struct {
	Files     int    // number of files
	Molecules int    // records per file
	Seed      uint64 // seed of every file's random stream
	// Corpus, if not 0, draws from only the first Corpus molecules of the
	// corpus: a quicker first run (Open Babel lays out fewer molecules)
	// with fewer distinct molecules.
	Corpus int
	// OBabel is the obabel program; "" looks it up in PATH.
	OBabel string
	// CacheDir holds the molfiles Open Babel made from the corpus, built
	// once per Open Babel version; "" means Dir/.cache.
	CacheDir string
}

// Defaults: four files of 5000 molecules, ~20 MB of SDF each before
// compression.
const (
	DefaultSDFFiles     = 4
	DefaultSDFMolecules = 5000
	// sdfGzipLevel is gzip's own default level: the trade-off PubChem's
	// downloads were made with, and what zcat-based tools expect.
	sdfGzipLevel = 6
	// cacheFormat changes when the cache's content or its making changes.
	cacheFormat = 1
)

// obabelArgs make 2D molfiles with explicit hydrogens (as PubChem's 2D SDF
// records have) and the descriptors that become PubChem-named fields.
var obabelArgs = []string{"-osdf", "--gen2d", "-h", "--add", "formula MW HBA2 HBD rotors TPSA InChI InChIKey"}

// SDFFileName is the name of the i-th (0-based) of n SDF files.
func SDFFileName(i, n int) string { return fileName("compound-", ".sdf.gz", i, n) }

func (s SDFSpec) validate() error {
	switch {
	case s.Files < 1 || s.Files > MaxFiles:
		return &benchrig.Error{Code: benchrig.EInvalid, Field: "files", Msg: fmt.Sprintf("must be 1 to %d, got %d", MaxFiles, s.Files)}
	case s.Molecules < 1 || s.Molecules > 10_000_000:
		return &benchrig.Error{Code: benchrig.EInvalid, Field: "molecules", Msg: fmt.Sprintf("must be 1 to 10000000 per file, got %d", s.Molecules)}
	case s.Corpus < 0:
		return &benchrig.Error{Code: benchrig.EInvalid, Field: "corpus", Msg: fmt.Sprintf("must not be negative, got %d", s.Corpus)}
	}
	return nil
}

// ErrNoOBabel is returned (wrapped in an invalid-input *benchrig.Error)
// when Open Babel is not installed.
var ErrNoOBabel = errors.New("obabel not found: SDF generation needs Open Babel (apt-get install openbabel)")

// OBabelVersion runs `obabel -V` and returns its first line.
func OBabelVersion(ctx context.Context, obabel string) (string, error) {
	if obabel == "" {
		obabel = "obabel"
	}
	path, err := exec.LookPath(obabel)
	if err != nil {
		return "", &benchrig.Error{Code: benchrig.EInvalid, Err: ErrNoOBabel}
	}
	out, err := exec.CommandContext(ctx, path, "-V").Output()
	if err != nil {
		return "", fmt.Errorf("%s -V: %w", path, err)
	}
	v, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return v, nil
}

// GenerateSDF writes (or checks and completes) an SDF data set in
// opts.Dir: files compound-0001.sdf.gz, ... of PubChem-like records.
func GenerateSDF(ctx context.Context, opts Options, s SDFSpec) (*Result, error) {
	if err := s.validate(); err != nil {
		return nil, err
	}
	c, err := LoadCorpus()
	if err != nil {
		return nil, err
	}
	if s.Corpus > 0 && s.Corpus < len(c.SMILES) {
		c = &Corpus{SMILES: c.SMILES[:s.Corpus], IDs: c.IDs[:s.Corpus], SHA256: c.SHA256}
	} else {
		s.Corpus = 0
	}
	version, err := OBabelVersion(ctx, s.OBabel)
	if err != nil {
		return nil, err
	}
	obabel, _ := exec.LookPath(cmp(s.OBabel, "obabel"))
	cacheDir := cmp(s.CacheDir, filepath.Join(opts.Dir, ".cache"))
	g := &sdfGen{seed: s.Seed, molecules: s.Molecules, span: cidSpan(float64(s.Molecules))}
	params := Params{Files: s.Files, Molecules: s.Molecules, Seed: s.Seed, Corpus: c.SHA256, CorpusMolecules: s.Corpus, OBabel: version, GzipLevel: sdfGzipLevel}
	j := &job{
		generator: "sdf",
		params:    params,
		unit:      "molecules",
		prepare: func(ctx context.Context, r *Result) error {
			recs, sum, built, err := loadOrBuildCache(ctx, c, obabel, version, cacheDir, opts)
			r.CacheBuild = built
			g.recs = recs
			if err == nil && r.Manifest.MolfileCache != "" && r.Manifest.MolfileCache != sum && opts.Log != nil {
				opts.Log(fmt.Sprintf("the molfile cache (sha256 %s) is not the one the existing files were made from (%s): regenerated files may differ slightly from the others; --replace after changing a parameter, or a fresh --out, gives a consistent set", short(sum), short(r.Manifest.MolfileCache)))
			}
			r.Manifest.MolfileCache = sum
			return err
		},
		// File i depends on the seed, the molecules per file and i only.
		grows: func(old Params) string {
			if old.Files = params.Files; old != params {
				return "noop"
			}
			return ""
		},
	}
	for i := range s.Files {
		j.files = append(j.files, plannedFile{
			name:  SDFFileName(i, s.Files),
			units: int64(s.Molecules),
			write: func(ctx context.Context, w *fileWriter) (FileInfo, error) { return g.write(ctx, w, i) },
		})
	}
	return generate(ctx, opts, j)
}

func cmp(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// sdfRecord is a cached molecule: its molfile from the header's second
// line to M  END, and every data field after the CID.
type sdfRecord struct {
	idx          int // corpus index
	body, fields []byte
}

type sdfGen struct {
	seed      uint64
	molecules int
	span      uint64
	recs      []sdfRecord
}

func (g *sdfGen) write(ctx context.Context, w *fileWriter, i int) (FileInfo, error) {
	r := rand.New(rand.NewPCG(g.seed, sdfStream+uint64(i)))
	lo, hi := cidRange(i, g.span)
	bw := bufio.NewWriterSize(w, flushAt)
	zw, err := gzip.NewWriterLevel(bw, sdfGzipLevel)
	if err != nil {
		return FileInfo{}, err
	}
	// The header has no name and a zero time: equal input, equal bytes.
	zw.Header = gzip.Header{OS: 255}
	var (
		fi       FileInfo
		cid      = lo - 1
		buf      = make([]byte, 0, 256<<10)
		reported int
	)
	for k := range g.molecules {
		next := cid + nextGap(r)
		if next >= hi {
			next = cid + 1
			if next >= hi {
				return fi, fmt.Errorf("internal error: CID range %d-%d exhausted", lo, hi)
			}
		}
		cid = next
		rec := &g.recs[r.IntN(len(g.recs))]
		buf = strconv.AppendUint(buf, cid, 10)
		buf = append(buf, '\n')
		buf = append(buf, rec.body...)
		buf = append(buf, "> <PUBCHEM_COMPOUND_CID>\n"...)
		buf = strconv.AppendUint(buf, cid, 10)
		buf = append(buf, "\n\n"...)
		buf = append(buf, rec.fields...)
		if k == 0 {
			fi.FirstCID = cid
		}
		if len(buf) >= 256<<10 || k == g.molecules-1 {
			if err := ctx.Err(); err != nil {
				return fi, err
			}
			if _, err := zw.Write(buf); err != nil {
				return fi, err
			}
			buf = buf[:0]
			w.progress(int64(k + 1 - reported))
			reported = k + 1
		}
	}
	if err := zw.Close(); err != nil {
		return fi, err
	}
	if err := bw.Flush(); err != nil {
		return fi, err
	}
	fi.Molecules, fi.LastCID = int64(g.molecules), cid
	return fi, nil
}

// loadOrBuildCache returns the cached records for this corpus and Open
// Babel version, making them first if needed (the only slow step: Open
// Babel lays out ~15k molecules in about a minute per core).
func loadOrBuildCache(ctx context.Context, c *Corpus, obabel, version, dir string, opts Options) ([]sdfRecord, string, time.Duration, error) {
	key := sha256.Sum256(fmt.Appendf(nil, "%s\n%d\n%s\n%d\n%q", c.SHA256, len(c.SMILES), version, cacheFormat, obabelArgs))
	path := filepath.Join(dir, "sdf-molfiles-"+hex.EncodeToString(key[:8])+".sdf.gz")
	if recs, sum, err := readCache(path, c); err == nil {
		return recs, sum, 0, nil
	} else if !errors.Is(err, os.ErrNotExist) && opts.Log != nil {
		opts.Log(fmt.Sprintf("molfile cache %s unusable (%v); rebuilding", path, err))
	}
	if opts.Log != nil {
		opts.Log(fmt.Sprintf("making 2D molfiles of %d corpus molecules with %s, once (cache: %s)", len(c.SMILES), version, path))
	}
	start := time.Now()
	var report func(done int)
	if opts.Progress != nil {
		total := int64(len(c.SMILES))
		report = func(done int) {
			opts.Progress(Progress{Phase: PhaseMolfiles, Done: int64(done), Total: total, Unit: "molecules"})
		}
	}
	if err := buildCache(ctx, c, obabel, dir, path, opts.Workers, report); err != nil {
		return nil, "", 0, err
	}
	recs, sum, err := readCache(path, c)
	return recs, sum, time.Since(start), err
}

// buildCache runs Open Babel over the corpus, dealt round-robin into one
// part per worker (a few molecules take far longer to lay out than the
// rest, and they cluster), and stores its output with the molfile header's
// time stamp zeroed. The molfiles do not depend on the split: readCache
// puts the records back in corpus order. report, if set, is called (from
// one goroutine) with the number of molecules laid out so far, counted in
// Open Babel's output as it grows, and once more at the end.
func buildCache(ctx context.Context, c *Corpus, obabel, dir, path string, workers int, report func(done int)) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("molfile cache: %w", err)
	}
	tmpDir, err := os.MkdirTemp(dir, ".build-")
	if err != nil {
		return fmt.Errorf("molfile cache: %w", err)
	}
	defer os.RemoveAll(tmpDir)
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	n := len(c.SMILES)
	outs := make([]string, workers)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for p := range workers {
		var in bytes.Buffer
		for i := p; i < n; i += workers {
			fmt.Fprintf(&in, "%s\t%d\n", c.SMILES[i], i)
		}
		inPath := filepath.Join(tmpDir, fmt.Sprintf("part-%d.smi", p))
		outs[p] = filepath.Join(tmpDir, fmt.Sprintf("part-%d.sdf", p))
		if err := os.WriteFile(inPath, in.Bytes(), 0o644); err != nil {
			return fmt.Errorf("molfile cache: %w", err)
		}
		wg.Go(func() {
			args := append([]string{"-ismi", inPath}, obabelArgs...)
			cmd := exec.CommandContext(ctx, obabel, append(args, "-O", outs[p])...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Run(); err != nil {
				tail := stderr.String()
				if len(tail) > 2000 {
					tail = tail[len(tail)-2000:]
				}
				errs[p] = fmt.Errorf("obabel: %w: %s", err, tail)
			}
		})
	}
	if report != nil {
		stop := make(chan struct{})
		polled := make(chan struct{})
		go func() {
			defer close(polled)
			watchRecords(outs, stop, report)
		}()
		wg.Wait()
		close(stop)
		<-polled
	} else {
		wg.Wait()
	}
	if err := ctx.Err(); err != nil {
		return &benchrig.Error{Code: benchrig.ECancelled, Msg: "cancelled while making the molfile cache", Err: err}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("molfile cache: %w", err)
	}
	err = atomicfile.Write(path, 0o644, false, func(f *os.File) error {
		bw := bufio.NewWriterSize(f, flushAt)
		zw, _ := gzip.NewWriterLevel(bw, gzip.BestSpeed)
		for _, o := range outs {
			b, err := os.ReadFile(o)
			if err != nil {
				return err
			}
			zw.Write(zeroHeaderTime(b))
		}
		if err := zw.Close(); err != nil {
			return err
		}
		return bw.Flush()
	})
	if err != nil {
		return fmt.Errorf("molfile cache: %w", err)
	}
	return nil
}

// molfilePoll is how often watchRecords counts Open Babel's output: often
// enough for a bar that moves, rarely enough that rereading the tail of a
// few files costs nothing beside Open Babel's minute of work.
const molfilePoll = 250 * time.Millisecond

// watchRecords reports how many SDF records ("$$$$" lines) the files at
// paths hold: 0 at once, then every molfilePoll while they grow and once
// after stop is closed, when they are complete. Each file is read from where the last
// count stopped (a whole line), so the cost is the output's size once.
func watchRecords(paths []string, stop <-chan struct{}, report func(int)) {
	offs := make([]int64, len(paths))
	counts := make([]int, len(paths))
	count := func() {
		total := 0
		for i, p := range paths {
			n, off := countRecords(p, offs[i])
			counts[i] += n
			offs[i] = off
			total += counts[i]
		}
		report(total)
	}
	report(0) // the phase starts now: its pace is measured from here
	t := time.NewTicker(molfilePoll)
	defer t.Stop()
	for {
		select {
		case <-stop:
			count()
			return
		case <-t.C:
			count()
		}
	}
}

// countRecords counts "$$$$" lines in the file at path from offset off up
// to its last complete line, and returns the offset after that line. A
// file not yet created counts nothing.
func countRecords(path string, off int64) (int, int64) {
	f, err := os.Open(path)
	if err != nil {
		return 0, off
	}
	defer f.Close()
	b, err := io.ReadAll(io.NewSectionReader(f, off, 1<<62))
	if err != nil {
		return 0, off
	}
	end := bytes.LastIndexByte(b, '\n')
	if end < 0 {
		return 0, off
	}
	b = b[:end+1]
	n := bytes.Count(b, []byte("\n$$$$\n"))
	if bytes.HasPrefix(b, []byte("$$$$\n")) {
		n++
	}
	return n, off + int64(len(b))
}

// zeroHeaderTime replaces the MMDDYYHHmm time stamp Open Babel writes in
// each molfile's second line (" OpenBabel1123262341" + "2D") with zeros, the
// only part of its output that depends on the clock.
func zeroHeaderTime(b []byte) []byte {
	lines := bytes.SplitAfter(b, []byte("\n"))
	for i := 0; i+1 < len(lines); i++ {
		if i == 0 || bytes.Equal(lines[i-1], []byte("$$$$\n")) {
			l := lines[i+1]
			const prog = " OpenBabel"
			if bytes.HasPrefix(l, []byte(prog)) && len(l) >= len(prog)+10 {
				l = bytes.Clone(l)
				copy(l[len(prog):], "0000000000")
				lines[i+1] = l
			}
		}
	}
	return bytes.Join(lines, nil)
}

// readCache reads the cache and turns each record into PubChem's layout;
// it also returns the cache file's SHA-256.
func readCache(path string, c *Corpus) ([]sdfRecord, string, error) {
	gz, err := os.ReadFile(path)
	if err != nil {
		return nil, "", err
	}
	sum := sha256.Sum256(gz)
	recs, err := parseCache(gz, c)
	return recs, hex.EncodeToString(sum[:]), err
}

func parseCache(gz []byte, c *Corpus) ([]sdfRecord, error) {
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, err
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		return nil, err
	}
	var recs []sdfRecord
	for len(raw) > 0 {
		end := bytes.Index(raw, []byte("$$$$\n"))
		if end < 0 {
			return nil, fmt.Errorf("record %d has no $$$$", len(recs)+1)
		}
		rec, err := pubchemRecord(string(raw[:end]), c)
		if err != nil {
			return nil, fmt.Errorf("record %d: %w", len(recs)+1, err)
		}
		recs = append(recs, rec)
		raw = raw[end+5:]
	}
	slices.SortFunc(recs, func(a, b sdfRecord) int { return a.idx - b.idx })
	if len(recs) < len(c.SMILES)/2 {
		return nil, fmt.Errorf("only %d records for %d molecules", len(recs), len(c.SMILES))
	}
	return recs, nil
}

// pubchemRecord turns one Open Babel record (title = corpus index) into the
// molfile body and the fields of a PubChem record, in PubChem's order.
// Values come from Open Babel, or are counted from the molfile, under
// PubChem's field names; PubChem's own values come from CACTVS and may
// differ slightly (e.g. in hydrogen-bond acceptor rules).
func pubchemRecord(text string, c *Corpus) (sdfRecord, error) {
	title, rest, _ := strings.Cut(text, "\n")
	idx, err := strconv.Atoi(strings.TrimSpace(title))
	if err != nil || idx < 0 || idx >= len(c.SMILES) {
		return sdfRecord{}, fmt.Errorf("title %q is not a corpus index", title)
	}
	end := strings.Index(rest, "M  END\n")
	if end < 0 {
		return sdfRecord{}, fmt.Errorf("no M  END")
	}
	body, tail := rest[:end+len("M  END\n")], rest[end+len("M  END\n"):]
	props := map[string]string{}
	for _, block := range strings.Split(tail, "\n\n") {
		head, value, _ := strings.Cut(strings.TrimLeft(block, "\n"), "\n")
		if i, j := strings.Index(head, "<"), strings.LastIndex(head, ">"); strings.HasPrefix(head, ">") && i > 0 && j > i {
			props[head[i+1:j]] = strings.TrimSpace(value)
		}
	}
	heavy, charge, isotopes := countAtoms(body)
	smiles := c.SMILES[idx]
	var f strings.Builder
	field := func(name, value string) {
		if value != "" {
			fmt.Fprintf(&f, "> <%s>\n%s\n\n", name, value)
		}
	}
	field("PUBCHEM_COMPOUND_CANONICALIZED", "1")
	field("PUBCHEM_CACTVS_HBOND_ACCEPTOR", props["HBA2"])
	field("PUBCHEM_CACTVS_HBOND_DONOR", props["HBD"])
	field("PUBCHEM_CACTVS_ROTATABLE_BOND", props["rotors"])
	field("PUBCHEM_IUPAC_INCHI", props["InChI"])
	field("PUBCHEM_IUPAC_INCHIKEY", props["InChIKey"])
	field("PUBCHEM_MOLECULAR_FORMULA", props["formula"])
	field("PUBCHEM_MOLECULAR_WEIGHT", props["MW"])
	field("PUBCHEM_SMILES", smiles)
	field("PUBCHEM_CACTVS_TPSA", props["TPSA"])
	field("PUBCHEM_TOTAL_CHARGE", strconv.Itoa(charge))
	field("PUBCHEM_HEAVY_ATOM_COUNT", strconv.Itoa(heavy))
	field("PUBCHEM_ISOTOPIC_ATOM_COUNT", strconv.Itoa(isotopes))
	field("PUBCHEM_COMPONENT_COUNT", strconv.Itoa(strings.Count(smiles, ".")+1))
	// 2D (1), computed (5), units unknown (255): PubChem's 2D records.
	field("PUBCHEM_COORDINATE_TYPE", "1\n5\n255")
	f.WriteString("$$$$\n")
	return sdfRecord{idx: idx, body: []byte(body), fields: []byte(f.String())}, nil
}

// countAtoms reads a V2000 molfile body (from its second header line):
// heavy atoms, total formal charge (M  CHG) and isotopic atoms (M  ISO).
func countAtoms(body string) (heavy, charge, isotopes int) {
	lines := strings.Split(body, "\n")
	if len(lines) < 3 || len(lines[2]) < 3 {
		return
	}
	natoms, _ := strconv.Atoi(strings.TrimSpace(lines[2][:3]))
	for i := 3; i < 3+natoms && i < len(lines); i++ {
		if l := lines[i]; len(l) >= 34 && strings.TrimSpace(l[31:34]) != "H" {
			heavy++
		}
	}
	for _, l := range lines[3+natoms:] {
		fs := strings.Fields(l)
		if len(fs) < 3 || fs[0] != "M" {
			continue
		}
		switch fs[1] {
		case "CHG":
			for k := 4; k < len(fs); k += 2 {
				v, _ := strconv.Atoi(fs[k])
				charge += v
			}
		case "ISO":
			n, _ := strconv.Atoi(fs[2])
			isotopes += n
		}
	}
	return
}
