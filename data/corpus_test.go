package data

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/benchrig/benchrig/internal/testenv"
)

var update = flag.Bool("update", false, "regenerate corpus.smi.gz from /usr/share/RDKit (needs rdkit-data and openbabel)")

// rdkitData is where Debian's rdkit-data package puts RDKit's data files.
const rdkitData = "/usr/share/RDKit/Data"

// corpusSources are the rdkit-data files the corpus is built from, with the
// prefix given to their identifiers. NCI's first_5K.smi is
// "SMILES<TAB>NSC-number"; the WEHI file is CSV "SMILES","id".
var corpusSources = []struct{ file, prefix string }{
	{"NCI/first_5K.smi", "nci-"},
	{"Pains/test_data/wehi_mols.csv", ""},
}

// buildCorpus regenerates the corpus text from rdkit-data: it reads the
// sources in order, converts every SMILES to Kekulé form with Open Babel
// (PubChem's SMILES have no lower-case aromatic atoms), and drops molecules
// Open Babel rejects and exact duplicates (first kept).
func buildCorpus(ctx context.Context, obabel string) ([]byte, error) {
	var in bytes.Buffer
	for _, s := range corpusSources {
		f, err := os.Open(filepath.Join(rdkitData, s.file))
		if err != nil {
			return nil, err
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			var smi, id string
			if strings.HasPrefix(line, `"`) {
				parts := strings.Split(line, `","`)
				if len(parts) != 2 {
					continue
				}
				smi, id = strings.Trim(parts[0], `"`), strings.Trim(parts[1], `"`)
			} else {
				smi, id, _ = strings.Cut(line, "\t")
			}
			if smi == "" || id == "" {
				continue
			}
			fmt.Fprintf(&in, "%s\t%s%s\n", smi, s.prefix, id)
		}
		f.Close()
		if err := sc.Err(); err != nil {
			return nil, err
		}
	}
	cmd := exec.CommandContext(ctx, obabel, "-ismi", "-osmi", "-xk")
	cmd.Stdin = &in
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("obabel: %w: %s", err, stderr.String())
	}
	var res bytes.Buffer
	seen := map[string]bool{}
	for _, line := range strings.Split(out.String(), "\n") {
		smi, id, ok := strings.Cut(line, "\t")
		if !ok || smi == "" || seen[smi] {
			continue
		}
		seen[smi] = true
		fmt.Fprintf(&res, "%s\t%s\n", smi, strings.TrimSpace(id))
	}
	return res.Bytes(), nil
}

// TestCorpusProvenance checks that the embedded corpus is what buildCorpus
// makes from rdkit-data, and rewrites it with -update.
func TestCorpusProvenance(t *testing.T) {
	obabel, err := exec.LookPath("obabel")
	if err != nil {
		testenv.Skip(t, "obabel not installed (apt-get install openbabel): cannot rebuild the corpus")
	}
	if _, err := os.Stat(rdkitData); err != nil {
		testenv.Skip(t, "rdkit-data not installed (apt-get install rdkit-data): cannot rebuild the corpus")
	}
	got, err := buildCorpus(context.Background(), obabel)
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		var gz bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
		zw.Write(got)
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile("corpus.smi.gz", gz.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote corpus.smi.gz: %d molecules, %d bytes (%d compressed)", bytes.Count(got, []byte("\n")), len(got), gz.Len())
		return
	}
	c, err := LoadCorpus()
	if err != nil {
		t.Fatal(err)
	}
	want, err := parseCorpus(got)
	if err != nil {
		t.Fatal(err)
	}
	if c.SHA256 != want.SHA256 {
		t.Errorf("embedded corpus (%d molecules) differs from the one rebuilt from rdkit-data (%d); run with -update if that is intended", len(c.SMILES), len(want.SMILES))
	}
}

func TestCorpus(t *testing.T) {
	c, err := LoadCorpus()
	if err != nil {
		t.Fatal(err)
	}
	if len(c.SMILES) < 10000 {
		t.Errorf("corpus has %d molecules, want the ~15k of rdkit-data's NCI and WEHI sets", len(c.SMILES))
	}
	seen := map[string]bool{}
	for i, s := range c.SMILES {
		if seen[s] {
			t.Fatalf("duplicate SMILES %q at %d", s, i)
		}
		seen[s] = true
		if j := aromaticAt(s); j >= 0 {
			t.Fatalf("SMILES %q (%s) has an aromatic (lower-case) atom at %d; the corpus is Kekulé", s, c.IDs[i], j)
		}
	}
}

// aromaticAt returns the index of the first aromatic atom outside brackets,
// or -1. Outside brackets the only lower-case letters of a Kekulé SMILES
// are the l of Cl and the r of Br.
func aromaticAt(s string) int {
	depth := 0
	for j := 0; j < len(s); j++ {
		switch ch := s[j]; {
		case ch == '[':
			depth++
		case ch == ']':
			depth--
		case depth == 0 && ch >= 'a' && ch <= 'z':
			if (ch == 'l' && j > 0 && s[j-1] == 'C') || (ch == 'r' && j > 0 && s[j-1] == 'B') {
				continue
			}
			return j
		}
	}
	return -1
}
