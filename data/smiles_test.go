package data

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/benchrig/benchrig"
)

// small is a data set of 5 files, the last one short, written in a second.
var small = SMILESSpec{Size: 1_150_000, Chunk: 250_000, Seed: 1}

func genSMILES(t testing.TB, dir string, s SMILESSpec, opts Options) *Result {
	t.Helper()
	opts.Dir = dir
	res, err := GenerateSMILES(context.Background(), opts, s)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func readAll(t testing.TB, dir string, names []string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		out[n] = b
	}
	return out
}

func names(m *Manifest) []string {
	var out []string
	for _, f := range m.Files {
		out = append(out, f.Name)
	}
	return out
}

func TestSMILESLayoutAndContent(t *testing.T) {
	dir := t.TempDir()
	res := genSMILES(t, dir, small, Options{})
	wantNames := []string{"smiles-0001.smi", "smiles-0002.smi", "smiles-0003.smi", "smiles-0004.smi", "smiles-0005.smi"}
	if got := names(res.Manifest); strings.Join(got, " ") != strings.Join(wantNames, " ") {
		t.Fatalf("files = %v, want %v", got, wantNames)
	}
	c, _ := LoadCorpus()
	inCorpus := map[string]bool{}
	maxLine := 0
	for _, s := range c.SMILES {
		inCorpus[s] = true
		maxLine = max(maxLine, len(s)+2+10)
	}
	var lastCID uint64
	var total, molecules int64
	for i, fi := range res.Manifest.Files {
		b, err := os.ReadFile(filepath.Join(dir, fi.Name))
		if err != nil {
			t.Fatal(err)
		}
		target := small.Chunk
		if i == 4 {
			target = small.Size - 4*small.Chunk
		}
		if int64(len(b)) > target || int64(len(b)) <= target-int64(maxLine) {
			t.Errorf("%s: %d bytes, want within one line (%d) below %d", fi.Name, len(b), maxLine, target)
		}
		if int64(len(b)) != fi.Size {
			t.Errorf("%s: size %d, manifest %d", fi.Name, len(b), fi.Size)
		}
		if sum := sha256.Sum256(b); fi.SHA256 != hexs(sum[:]) {
			t.Errorf("%s: manifest sha256 wrong", fi.Name)
		}
		if len(b) == 0 || b[len(b)-1] != '\n' {
			t.Fatalf("%s does not end with a newline", fi.Name)
		}
		var n int64
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			cidText, smi, ok := strings.Cut(sc.Text(), "\t")
			cid, err := strconv.ParseUint(cidText, 10, 64)
			if !ok || err != nil || !inCorpus[smi] {
				t.Fatalf("%s: line %q is not CID<TAB>corpus SMILES", fi.Name, sc.Text())
			}
			if cid <= lastCID {
				t.Fatalf("%s: CID %d after %d: not strictly rising", fi.Name, cid, lastCID)
			}
			if n == 0 && cid != fi.FirstCID {
				t.Errorf("%s: first CID %d, manifest %d", fi.Name, cid, fi.FirstCID)
			}
			lastCID = cid
			n++
		}
		if lastCID != fi.LastCID || n != fi.Molecules {
			t.Errorf("%s: last CID %d, %d lines; manifest %d, %d", fi.Name, lastCID, n, fi.LastCID, fi.Molecules)
		}
		total += int64(len(b))
		molecules += n
	}
	if res.Manifest.Bytes != total || res.Manifest.Molecules != molecules {
		t.Errorf("manifest totals %d bytes %d molecules, files have %d, %d", res.Manifest.Bytes, res.Manifest.Molecules, total, molecules)
	}
	// Mean CID step within files: the gap distribution's mean, about 1.58.
	var span, steps float64
	for _, fi := range res.Manifest.Files {
		span += float64(fi.LastCID - fi.FirstCID)
		steps += float64(fi.Molecules - 1)
	}
	step := span / steps
	if step < 1.3 || step > 2.2 {
		t.Errorf("mean CID step %.2f, want about %.2f", step, meanGap)
	}
}

func hexs(b []byte) string { return hex.EncodeToString(b) }

func TestSMILESDeterminism(t *testing.T) {
	a, b, c := t.TempDir(), t.TempDir(), t.TempDir()
	ra := genSMILES(t, a, small, Options{})
	genSMILES(t, b, small, Options{Workers: 1})
	other := small
	other.Seed = 2
	rc := genSMILES(t, c, other, Options{})
	fa, fb := readAll(t, a, names(ra.Manifest)), readAll(t, b, names(ra.Manifest))
	fc := readAll(t, c, names(rc.Manifest))
	for n := range fa {
		if !bytes.Equal(fa[n], fb[n]) {
			t.Errorf("%s differs between two runs with seed 1", n)
		}
		if bytes.Equal(fa[n], fc[n]) {
			t.Errorf("%s is the same with seeds 1 and 2", n)
		}
	}
}

func TestSMILESRegeneratesOnlyDamagedFiles(t *testing.T) {
	dir := t.TempDir()
	res := genSMILES(t, dir, small, Options{})
	orig := readAll(t, dir, names(res.Manifest))

	// Nothing to do: up to date, nothing written.
	again := genSMILES(t, dir, small, Options{Verify: true})
	if !again.UpToDate() || again.Kept != 5 {
		t.Fatalf("second run wrote %d files, kept %d; want up to date", len(again.Written), again.Kept)
	}

	// One file missing, one truncated, one altered in place (same size:
	// only --verify sees it).
	os.Remove(filepath.Join(dir, "smiles-0002.smi"))
	os.WriteFile(filepath.Join(dir, "smiles-0004.smi"), orig["smiles-0004.smi"][:100], 0o644)
	altered := bytes.Clone(orig["smiles-0005.smi"])
	altered[10] ^= 1
	os.WriteFile(filepath.Join(dir, "smiles-0005.smi"), altered, 0o644)

	var logs []string
	res = genSMILES(t, dir, small, Options{Log: func(s string) { logs = append(logs, s) }})
	if got := names(&Manifest{Files: res.Written}); strings.Join(got, " ") != "smiles-0002.smi smiles-0004.smi" {
		t.Errorf("without --verify rewrote %v, want the missing and the truncated file", got)
	}
	res = genSMILES(t, dir, small, Options{Verify: true, Log: func(s string) { logs = append(logs, s) }})
	if got := names(&Manifest{Files: res.Written}); strings.Join(got, " ") != "smiles-0005.smi" {
		t.Errorf("with --verify rewrote %v, want the altered file", got)
	}
	for n, want := range orig {
		if got, _ := os.ReadFile(filepath.Join(dir, n)); !bytes.Equal(got, want) {
			t.Errorf("%s regenerated differently", n)
		}
	}
	if !strings.Contains(strings.Join(logs, "\n"), "smiles-0005.smi: sha256 differs") {
		t.Errorf("logs do not name the altered file:\n%s", strings.Join(logs, "\n"))
	}
}

func TestSMILESRefusesForeignFiles(t *testing.T) {
	for _, tc := range []struct {
		name     string
		manifest bool // a benchrig manifest exists, not listing the file
		replace  bool
	}{
		{"no manifest", false, false},
		{"not in manifest", true, false},
		{"not in manifest, --replace", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			spec := small
			if tc.manifest {
				// An earlier data set of one file only.
				genSMILES(t, dir, SMILESSpec{Size: 200_000, Chunk: 250_000, Seed: 1}, Options{})
			}
			user := filepath.Join(dir, "smiles-0003.smi")
			os.WriteFile(user, []byte("mine\n"), 0o644)
			_, err := GenerateSMILES(context.Background(), Options{Dir: dir, Replace: tc.replace}, spec)
			if benchrig.ErrorCode(err) != benchrig.EInvalid || !strings.Contains(err.Error(), user) {
				t.Fatalf("err = %v, want an invalid-input error naming %s", err, user)
			}
			if b, _ := os.ReadFile(user); string(b) != "mine\n" {
				t.Errorf("the user's file was changed")
			}
		})
	}
}

func TestSMILESParamsChangeAndReplace(t *testing.T) {
	dir := t.TempDir()
	genSMILES(t, dir, small, Options{})
	other := SMILESSpec{Size: 300_000, Chunk: 200_000, Seed: 7}
	_, err := GenerateSMILES(context.Background(), Options{Dir: dir}, other)
	if benchrig.ErrorCode(err) != benchrig.EInvalid || !strings.Contains(err.Error(), "--replace") || !strings.Contains(err.Error(), "seed 1, now 7") {
		t.Fatalf("err = %v, want a refusal naming the changed seed and --replace", err)
	}
	// A file of the user's next to the data survives --replace.
	user := filepath.Join(dir, "notes.txt")
	os.WriteFile(user, []byte("keep"), 0o644)
	res, err := GenerateSMILES(context.Background(), Options{Dir: dir, Replace: true}, other)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Removed) != 5 || len(res.Written) != 2 {
		t.Errorf("removed %v, wrote %d; want the 5 old files removed and 2 written", res.Removed, len(res.Written))
	}
	entries, _ := os.ReadDir(dir)
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if want := ".benchrig-data.json notes.txt smiles-0001.smi smiles-0002.smi"; strings.Join(got, " ") != want {
		t.Errorf("directory holds %v, want %s", got, want)
	}
}

func TestManifestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	res := genSMILES(t, dir, small, Options{})
	m, err := ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	if m.Generator != "smiles" || m.Format != FormatVersion || m.Params != res.Manifest.Params || len(m.Files) != 5 {
		t.Fatalf("read back %+v", m)
	}
	for i := range m.Files {
		if m.Files[i] != res.Manifest.Files[i] {
			t.Errorf("file %d: read back %+v, wrote %+v", i, m.Files[i], res.Manifest.Files[i])
		}
	}
	if m.Params.Size != small.Size || m.Params.Chunk != small.Chunk || m.Params.Seed != 1 || len(m.Params.Corpus) != 64 {
		t.Errorf("params %+v", m.Params)
	}
	if m.Bytes != res.Manifest.Bytes || m.Bytes < small.Size-5*400 || m.Bytes > small.Size {
		t.Errorf("total bytes %d (result %d), want just under %d", m.Bytes, res.Manifest.Bytes, small.Size)
	}
	os.WriteFile(filepath.Join(dir, ManifestName), []byte("{not json"), 0o644)
	if _, err := ReadManifest(dir); benchrig.ErrorCode(err) != benchrig.EInvalid {
		t.Errorf("corrupt manifest: err = %v, want invalid", err)
	}
	if m, err := ReadManifest(t.TempDir()); m != nil || err != nil {
		t.Errorf("no manifest: %v, %v", m, err)
	}
}

func TestSMILESCancelled(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := GenerateSMILES(ctx, Options{Dir: dir}, small)
	if benchrig.ErrorCode(err) != benchrig.ECancelled {
		t.Fatalf("err = %v, want cancelled", err)
	}
	// The manifest lists the planned files, so a re-run finishes the job
	// instead of calling them foreign; no temporary file is left.
	res := genSMILES(t, dir, small, Options{})
	if res.Kept+len(res.Written) != 5 {
		t.Errorf("re-run kept %d, wrote %d", res.Kept, len(res.Written))
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), tempMark) {
			t.Errorf("temporary file %s left", e.Name())
		}
	}
}

func TestSMILESBadSpec(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec SMILESSpec
		want string
	}{
		{"tiny chunk", SMILESSpec{Size: 1e6, Chunk: 10}, "chunk: must be at least"},
		{"zero size", SMILESSpec{Size: 0, Chunk: 1e6}, "size: must be at least"},
		{"too many files", SMILESSpec{Size: 1e12, Chunk: 1e6}, "more than 100000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := GenerateSMILES(context.Background(), Options{Dir: t.TempDir()}, tc.spec)
			if benchrig.ErrorCode(err) != benchrig.EInvalid || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestFileNames(t *testing.T) {
	for _, tc := range []struct {
		i, n int
		want string
	}{{0, 12, "smiles-0001.smi"}, {732, 733, "smiles-0733.smi"}, {0, 20000, "smiles-00001.smi"}} {
		if got := SMILESFileName(tc.i, tc.n); got != tc.want {
			t.Errorf("SMILESFileName(%d, %d) = %s, want %s", tc.i, tc.n, got, tc.want)
		}
	}
	if n, ok := tempOwner(".smiles-0001.smi.tmp-123"); !ok || n != "smiles-0001.smi" {
		t.Errorf("tempOwner = %q, %v", n, ok)
	}
	if _, ok := tempOwner("smiles-0001.smi"); ok {
		t.Error("a data file taken for a temporary one")
	}
}

// BenchmarkSmiles measures generation speed in MB/s (-benchtime=1x with
// BENCHRIG_BENCH_SIZE=660MB for the default layout).
func BenchmarkSmiles(b *testing.B) {
	size := int64(110_000_000)
	if s := os.Getenv("BENCHRIG_BENCH_SIZE"); s != "" {
		n, err := benchrig.ParseBytes(s)
		if err != nil {
			b.Fatal(err)
		}
		size = n
	}
	spec := SMILESSpec{Size: size, Chunk: DefaultSMILESChunk, Seed: 1}
	dir := b.TempDir()
	b.SetBytes(size)
	for b.Loop() {
		os.RemoveAll(dir)
		if _, err := GenerateSMILES(context.Background(), Options{Dir: dir}, spec); err != nil {
			b.Fatal(err)
		}
	}
}

func TestRegeneratedBytesDifferNote(t *testing.T) {
	dir := t.TempDir()
	genSMILES(t, dir, small, Options{})
	// Pretend the manifest recorded other bytes for a file now missing.
	m, _ := ReadManifest(dir)
	m.Files[1].SHA256 = strings.Repeat("0", 64)
	if err := writeManifest(dir, m); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(dir, m.Files[1].Name))
	var logs []string
	genSMILES(t, dir, small, Options{Log: func(s string) { logs = append(logs, s) }})
	if got := strings.Join(logs, "\n"); !strings.Contains(got, "smiles-0002.smi was regenerated with other bytes than the manifest recorded") {
		t.Errorf("logs:\n%s", got)
	}
}

// TestSMILESGrow: more data with otherwise the same parameters adds files
// and keeps the others, when they would not change; otherwise it is
// refused, saying why.
func TestSMILESGrow(t *testing.T) {
	whole := SMILESSpec{Size: 500_000, Chunk: 250_000, Seed: 1} // two whole chunks
	tests := []struct {
		name    string
		from    SMILESSpec
		to      SMILESSpec
		replace bool
		want    string // "" when it grows; else the refusal says this
	}{
		{"whole chunks grow", whole, SMILESSpec{Size: 1_150_000, Chunk: 250_000, Seed: 1}, false, ""},
		{"whole chunks grow, --replace keeps them", whole, SMILESSpec{Size: 1_000_000, Chunk: 250_000, Seed: 1}, true, ""},
		{"a partial last chunk would change", small, SMILESSpec{Size: 2_000_000, Chunk: 250_000, Seed: 1}, false,
			"its last file, smiles-0005.smi, is a partial chunk (150 kB) and would change"},
		{"fewer files", small, whole, false, "size 1150000, now 500000); use --replace"},
		{"another seed", whole, SMILESSpec{Size: 1_000_000, Chunk: 250_000, Seed: 2}, false, "seed 1, now 2); use --replace"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			first := genSMILES(t, dir, tc.from, Options{})
			before := readAll(t, dir, names(first.Manifest))
			var notes []string
			res, err := GenerateSMILES(context.Background(), Options{Dir: dir, Replace: tc.replace, Log: func(s string) { notes = append(notes, s) }}, tc.to)
			if tc.want != "" {
				if benchrig.ErrorCode(err) != benchrig.EInvalid || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("err = %v, want a refusal saying %q", err, tc.want)
				}
				if after := readAll(t, dir, names(first.Manifest)); !maps.EqualFunc(before, after, bytes.Equal) {
					t.Error("a refused generation changed the files")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.Kept != len(first.Manifest.Files) || len(res.Removed) != 0 || len(res.Written) != len(res.Manifest.Files)-res.Kept {
				t.Errorf("kept %d, removed %v, wrote %d; want the %d files kept and only new ones written", res.Kept, res.Removed, len(res.Written), len(first.Manifest.Files))
			}
			if len(notes) != 1 || !strings.Contains(notes[0], "adding") {
				t.Errorf("notes %q, want one saying files are added", notes)
			}
			// The grown set is the set the new parameters make from scratch.
			fresh := genSMILES(t, t.TempDir(), tc.to, Options{})
			m, _ := ReadManifest(dir)
			if m.Params != fresh.Manifest.Params || !slices.Equal(m.Files, fresh.Manifest.Files) {
				t.Errorf("grown manifest %+v\ndiffers from a fresh one %+v", m, fresh.Manifest)
			}
			if res, err := GenerateSMILES(context.Background(), Options{Dir: dir, Verify: true}, tc.to); err != nil || !res.UpToDate() {
				t.Errorf("after growing, a verify run: %v, up to date %v", err, res != nil && res.UpToDate())
			}
		})
	}
}
