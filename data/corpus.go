package data

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"sync"
)

// corpusGz is the embedded corpus: one "SMILES<TAB>source-id" line per
// molecule. It is regenerated from Debian's rdkit-data by
// `go test ./data -run TestCorpusProvenance -update` (see README.md).
//
//go:embed corpus.smi.gz
var corpusGz []byte

// Corpus is the set of real molecules the generators draw from.
type Corpus struct {
	SMILES []string // Kekulé SMILES, in corpus order
	IDs    []string // source identifier of each molecule, e.g. "nci-12", "WEHI-0039854"
	// SHA256 is the hex SHA-256 of the uncompressed corpus text; it is part
	// of every manifest's parameters because the output depends on it.
	SHA256 string
}

var (
	corpusOnce sync.Once
	corpus     *Corpus
	corpusErr  error
)

// LoadCorpus returns the embedded corpus, parsed once.
func LoadCorpus() (*Corpus, error) {
	corpusOnce.Do(func() {
		zr, err := gzip.NewReader(bytes.NewReader(corpusGz))
		if err != nil {
			corpusErr = fmt.Errorf("read embedded corpus: %w", err)
			return
		}
		raw, err := io.ReadAll(zr)
		if err != nil {
			corpusErr = fmt.Errorf("read embedded corpus: %w", err)
			return
		}
		corpus, corpusErr = parseCorpus(raw)
	})
	return corpus, corpusErr
}

func parseCorpus(raw []byte) (*Corpus, error) {
	sum := sha256.Sum256(raw)
	c := &Corpus{SHA256: hex.EncodeToString(sum[:])}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for n := 1; sc.Scan(); n++ {
		smi, id, ok := strings.Cut(sc.Text(), "\t")
		if !ok || smi == "" || strings.ContainsAny(smi, " \t") {
			return nil, fmt.Errorf("corpus line %d: want SMILES<TAB>id, got %q", n, sc.Text())
		}
		c.SMILES = append(c.SMILES, smi)
		c.IDs = append(c.IDs, id)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read corpus: %w", err)
	}
	if len(c.SMILES) == 0 {
		return nil, fmt.Errorf("corpus is empty")
	}
	return c, nil
}
