package data

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/internal/testenv"
)

// needOBabel skips SDF tests where Open Babel is absent; CI installs it
// (apt-get install openbabel), so a skip there is a failure to fix.
func needOBabel(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("obabel"); err != nil {
		testenv.Skip(t, "obabel not installed (apt-get install openbabel): skipping SDF generation tests")
	}
}

// sdfCache is shared by the package's SDF tests, so Open Babel lays out
// the 300 test molecules once.
var sdfCache string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "benchrig-data-cache-")
	if err != nil {
		panic(err)
	}
	sdfCache = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

var smallSDF = SDFSpec{Files: 3, Molecules: 200, Seed: 1, Corpus: 300}

func genSDF(t *testing.T, dir string, s SDFSpec, opts Options) *Result {
	t.Helper()
	if s.CacheDir == "" {
		s.CacheDir = sdfCache
	}
	opts.Dir = dir
	res, err := GenerateSDF(context.Background(), opts, s)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

type sdfRec struct {
	title  string
	fields map[string]string
	size   int
}

func readSDF(t *testing.T, path string) (raw []byte, recs []sdfRec) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	if zr.Name != "" || !zr.ModTime.IsZero() {
		t.Errorf("%s: gzip header has name %q, time %v; want neither", path, zr.Name, zr.ModTime)
	}
	raw, err = io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	for _, text := range strings.SplitAfter(string(raw), "$$$$\n") {
		if text == "" {
			continue
		}
		if !strings.HasSuffix(text, "$$$$\n") {
			t.Fatalf("%s: trailing text without $$$$: %.100q", path, text)
		}
		r := sdfRec{fields: map[string]string{}, size: len(text)}
		r.title, _, _ = strings.Cut(text, "\n")
		lines := strings.Split(text, "\n")
		if len(lines) < 4 || !strings.HasSuffix(lines[3], "V2000") || !strings.Contains(text, "\nM  END\n") {
			t.Fatalf("%s: record %d is not a V2000 molfile: %.300q", path, len(recs)+1, text)
		}
		sc := bufio.NewScanner(strings.NewReader(text[strings.Index(text, "M  END\n")+7:]))
		var name string
		for sc.Scan() {
			l := sc.Text()
			switch {
			case strings.HasPrefix(l, "> <"):
				name = strings.TrimSuffix(strings.TrimPrefix(l, "> <"), ">")
			case l == "" || l == "$$$$":
				name = ""
			case name != "":
				if r.fields[name] != "" {
					r.fields[name] += "\n"
				}
				r.fields[name] += l
			}
		}
		recs = append(recs, r)
	}
	return raw, recs
}

func TestSDF(t *testing.T) {
	needOBabel(t)
	dir := t.TempDir()
	res := genSDF(t, dir, smallSDF, Options{})
	c, _ := LoadCorpus()
	inCorpus := map[string]bool{}
	for _, s := range c.SMILES[:smallSDF.Corpus] {
		inCorpus[s] = true
	}
	if len(res.Manifest.Files) != 3 || res.Manifest.Files[2].Name != "compound-0003.sdf.gz" {
		t.Fatalf("files %v", names(res.Manifest))
	}
	if !strings.HasPrefix(res.Manifest.Params.OBabel, "Open Babel ") || res.Manifest.Params.GzipLevel != 6 || len(res.Manifest.MolfileCache) != 64 {
		t.Errorf("params %+v lack the Open Babel version or gzip level", res.Manifest.Params)
	}
	var lastCID uint64
	var total int
	for _, fi := range res.Manifest.Files {
		raw, recs := readSDF(t, filepath.Join(dir, fi.Name))
		total += len(raw)
		if len(recs) != smallSDF.Molecules || fi.Molecules != int64(len(recs)) {
			t.Fatalf("%s: %d records, manifest %d, want %d", fi.Name, len(recs), fi.Molecules, smallSDF.Molecules)
		}
		for _, r := range recs {
			cid, err := strconv.ParseUint(r.fields["PUBCHEM_COMPOUND_CID"], 10, 64)
			if err != nil || r.title != r.fields["PUBCHEM_COMPOUND_CID"] {
				t.Fatalf("%s: title %q, CID field %q", fi.Name, r.title, r.fields["PUBCHEM_COMPOUND_CID"])
			}
			if cid <= lastCID {
				t.Fatalf("%s: CID %d after %d", fi.Name, cid, lastCID)
			}
			lastCID = cid
			if !inCorpus[r.fields["PUBCHEM_SMILES"]] {
				t.Fatalf("%s: PUBCHEM_SMILES %q not from the corpus", fi.Name, r.fields["PUBCHEM_SMILES"])
			}
			for _, f := range []string{"PUBCHEM_MOLECULAR_FORMULA", "PUBCHEM_MOLECULAR_WEIGHT", "PUBCHEM_HEAVY_ATOM_COUNT", "PUBCHEM_COORDINATE_TYPE"} {
				if r.fields[f] == "" {
					t.Fatalf("%s: CID %d lacks %s", fi.Name, cid, f)
				}
			}
		}
		if recs[0].fields["PUBCHEM_COMPOUND_CID"] != strconv.FormatUint(fi.FirstCID, 10) || lastCID != fi.LastCID {
			t.Errorf("%s: CIDs %s..%d, manifest %d..%d", fi.Name, recs[0].title, lastCID, fi.FirstCID, fi.LastCID)
		}
	}
	// Real PubChem 2D records are ~3-5 KB; the test corpus's first
	// molecules (NCI's) are on the small side of that.
	if mean := total / (3 * smallSDF.Molecules); mean < 2000 || mean > 6000 {
		t.Errorf("mean record size %d bytes, want PubChem-like 2-6 KB", mean)
	}
}

func TestSDFAspirinFields(t *testing.T) {
	needOBabel(t)
	c := &Corpus{SMILES: []string{"CC(=O)OC1=CC=CC=C1C(=O)O.[Na+].[Cl-]"}, SHA256: "test"}
	dir := t.TempDir()
	path := filepath.Join(dir, "c.sdf.gz")
	obabel, _ := exec.LookPath("obabel")
	if err := buildCache(context.Background(), c, obabel, dir, path, 1, nil); err != nil {
		t.Fatal(err)
	}
	f, _ := os.Open(path)
	zr, _ := gzip.NewReader(f)
	raw, _ := io.ReadAll(zr)
	f.Close()
	if !bytes.Contains(raw, []byte("\n OpenBabel00000000002D\n")) {
		t.Errorf("molfile header time not zeroed:\n%.200s", raw)
	}
	recs, _, err := readCache(path, c)
	if err != nil {
		t.Fatal(err)
	}
	got := string(recs[0].fields)
	for _, want := range []string{
		"> <PUBCHEM_MOLECULAR_FORMULA>\nC9H8ClNaO4\n",
		"> <PUBCHEM_IUPAC_INCHIKEY>\n",
		"> <PUBCHEM_HEAVY_ATOM_COUNT>\n15\n", // 13 of aspirin, Na, Cl
		"> <PUBCHEM_TOTAL_CHARGE>\n0\n",
		"> <PUBCHEM_COMPONENT_COUNT>\n3\n",
		"> <PUBCHEM_SMILES>\nCC(=O)OC1=CC=CC=C1C(=O)O.[Na+].[Cl-]\n",
		"> <PUBCHEM_COORDINATE_TYPE>\n1\n5\n255\n\n$$$$\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("fields lack %q:\n%s", want, got)
		}
	}
}

func TestSDFDeterminismAndRegeneration(t *testing.T) {
	needOBabel(t)
	a, b, c := t.TempDir(), t.TempDir(), t.TempDir()
	ra := genSDF(t, a, smallSDF, Options{})
	genSDF(t, b, smallSDF, Options{Workers: 1})
	other := smallSDF
	other.Seed = 9
	genSDF(t, c, other, Options{})
	fa, fb, fc := readAll(t, a, names(ra.Manifest)), readAll(t, b, names(ra.Manifest)), readAll(t, c, names(ra.Manifest))
	for n := range fa {
		if !bytes.Equal(fa[n], fb[n]) {
			t.Errorf("%s differs between two runs with seed 1", n)
		}
		if bytes.Equal(fa[n], fc[n]) {
			t.Errorf("%s is the same with seeds 1 and 9", n)
		}
	}
	os.Remove(filepath.Join(a, "compound-0002.sdf.gz"))
	res := genSDF(t, a, smallSDF, Options{})
	if len(res.Written) != 1 || res.Written[0].Name != "compound-0002.sdf.gz" || res.CacheBuild != 0 {
		t.Errorf("rewrote %v (cache build %v), want only compound-0002.sdf.gz from the cache", names(&Manifest{Files: res.Written}), res.CacheBuild)
	}
	if got, _ := os.ReadFile(filepath.Join(a, "compound-0002.sdf.gz")); !bytes.Equal(got, fa["compound-0002.sdf.gz"]) {
		t.Error("compound-0002.sdf.gz regenerated differently")
	}
	if res := genSDF(t, a, smallSDF, Options{Verify: true}); !res.UpToDate() {
		t.Errorf("third run wrote %d files", len(res.Written))
	}
}

func TestSDFWithoutOBabel(t *testing.T) {
	s := smallSDF
	s.OBabel = filepath.Join(t.TempDir(), "no-obabel")
	_, err := GenerateSDF(context.Background(), Options{Dir: t.TempDir()}, s)
	if benchrig.ErrorCode(err) != benchrig.EInvalid || !strings.Contains(err.Error(), "apt-get install openbabel") {
		t.Errorf("err = %v, want an invalid-input error with the install hint", err)
	}
}

// Making the molfile cache (a silent minute on a first run) reports its
// progress, counted in Open Babel's output, ending with every molecule;
// writing the files then reports as its own phase.
func TestSDFCacheProgress(t *testing.T) {
	needOBabel(t)
	s := SDFSpec{Files: 2, Molecules: 20, Seed: 1, Corpus: 120, CacheDir: t.TempDir()}
	var got []Progress
	genSDF(t, t.TempDir(), s, Options{Progress: func(p Progress) { got = append(got, p) }})
	var mol []Progress
	files := 0
	for i, p := range got {
		switch p.Phase {
		case PhaseMolfiles:
			if files > 0 {
				t.Fatalf("report %d: molfile progress after file progress", i)
			}
			if len(mol) > 0 && p.Done < mol[len(mol)-1].Done {
				t.Errorf("molfile progress went back: %d after %d", p.Done, mol[len(mol)-1].Done)
			}
			mol = append(mol, p)
		case PhaseFiles:
			files++
		}
	}
	if len(mol) == 0 {
		t.Fatal("no progress while making the molfile cache")
	}
	if last := mol[len(mol)-1]; last.Done != 120 || last.Total != 120 || last.Unit != "molecules" {
		t.Errorf("last molfile progress = %+v, want 120/120 molecules", last)
	}
	if files == 0 {
		t.Error("no progress while writing files")
	}
	// The cache is there now: a second data set reports no molfile phase.
	got = nil
	genSDF(t, t.TempDir(), s, Options{Progress: func(p Progress) { got = append(got, p) }})
	for _, p := range got {
		if p.Phase == PhaseMolfiles {
			t.Fatalf("molfile progress with the cache made: %+v", p)
		}
	}
}

func TestCountRecords(t *testing.T) {
	rec := "1\n OpenBabel\n\n  0  0  0  0  0  0  0  0  0  0999 V2000\nM  END\n$$$$\n"
	for _, tc := range []struct {
		name    string
		content string
		off     int64
		n       int
		newOff  int64
	}{
		{"no file yet", "", 0, 0, 0},
		{"two records", rec + rec, 0, 2, int64(2 * len(rec))},
		{"a partial last line is left for later", rec + "2\n Open", 0, 1, int64(len(rec) + 2)},
		{"from an offset at a record's end", rec + rec, int64(len(rec)), 1, int64(2 * len(rec))},
		{"a $$$$ line first in the chunk", rec + "$$$$\n", int64(len(rec)), 1, int64(len(rec) + 5)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "part.sdf")
			if tc.content != "" {
				if err := os.WriteFile(path, []byte(tc.content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			n, off := countRecords(path, tc.off)
			if n != tc.n || off != tc.newOff {
				t.Errorf("countRecords = %d, %d; want %d, %d", n, off, tc.n, tc.newOff)
			}
		})
	}
}

// TestSDFGrow: more files of the same seed and molecules are added
// without --replace, the others kept; other molecules per file are not.
func TestSDFGrow(t *testing.T) {
	needOBabel(t)
	dir := t.TempDir()
	first := genSDF(t, dir, smallSDF, Options{})
	before := readAll(t, dir, names(first.Manifest))
	more := smallSDF
	more.Files = 5
	more.CacheDir = sdfCache
	res, err := GenerateSDF(context.Background(), Options{Dir: dir}, more)
	if err != nil {
		t.Fatal(err)
	}
	if res.Kept != 3 || len(res.Written) != 2 || res.Written[0].Name != "compound-0004.sdf.gz" {
		t.Errorf("kept %d, wrote %v; want 3 kept and compound-0004, -0005 written", res.Kept, names(&Manifest{Files: res.Written}))
	}
	if after := readAll(t, dir, names(first.Manifest)); !maps.EqualFunc(before, after, bytes.Equal) {
		t.Error("growing changed the existing files")
	}
	fresh := genSDF(t, t.TempDir(), more, Options{})
	if !slices.Equal(res.Manifest.Files, fresh.Manifest.Files) {
		t.Errorf("grown files %v differ from a fresh set %v", res.Manifest.Files, fresh.Manifest.Files)
	}
	other := more
	other.Files, other.Molecules = 6, 100
	if _, err := GenerateSDF(context.Background(), Options{Dir: dir}, other); benchrig.ErrorCode(err) != benchrig.EInvalid || !strings.Contains(err.Error(), "molecules 200, now 100") {
		t.Errorf("other molecules per file: err = %v, want a refusal naming them", err)
	}
}
