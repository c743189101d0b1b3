package data

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"sync"

	"github.com/benchrig/benchrig"
)

// SMILESSpec are the parameters of a 'CID<TAB>SMILES' data set.
type SMILESSpec struct {
	Size  int64  // total bytes wanted; the last file holds the remainder
	Chunk int64  // bytes per file; each file ends at the last whole line that fits
	Seed  uint64 // seed of every file's random stream
}

// Defaults of the two layouts of the seed experiments: 12 chunks of 55 MB
// (throughput), and 733 files of 1.15 MB (process start-up cost).
const (
	DefaultSMILESSize  = 660_000_000
	DefaultSMILESChunk = 55_000_000
	// MaxFiles bounds the number of files of one data set, so that a typo
	// in a size does not fill a directory with millions of files.
	MaxFiles = 100_000
	// minChunk keeps every file at least a few lines long.
	minChunk = 1000
)

// Random stream identifiers: a file's PCG is seeded (seed, stream+index),
// so SMILES and SDF files of the same seed do not share streams.
const (
	smilesStream = 0x5a11e5 << 32
	sdfStream    = 0x5df << 32
)

// SMILESFileName is the name of the i-th (0-based) of n SMILES files.
func SMILESFileName(i, n int) string { return fileName("smiles-", ".smi", i, n) }

func fileName(prefix, ext string, i, n int) string {
	w := max(4, len(strconv.Itoa(n)))
	return fmt.Sprintf("%s%0*d%s", prefix, w, i+1, ext)
}

func (s SMILESSpec) validate() error {
	switch {
	case s.Size < minChunk:
		return &benchrig.Error{Code: benchrig.EInvalid, Field: "size", Msg: fmt.Sprintf("must be at least %d bytes, got %d", minChunk, s.Size)}
	case s.Chunk < minChunk:
		return &benchrig.Error{Code: benchrig.EInvalid, Field: "chunk", Msg: fmt.Sprintf("must be at least %d bytes, got %d", minChunk, s.Chunk)}
	case (s.Size+s.Chunk-1)/s.Chunk > MaxFiles:
		return &benchrig.Error{Code: benchrig.EInvalid, Field: "chunk", Msg: fmt.Sprintf("size %d in chunks of %d would make %d files, more than %d", s.Size, s.Chunk, (s.Size+s.Chunk-1)/s.Chunk, MaxFiles)}
	}
	return nil
}

// GenerateSMILES writes (or checks and completes) a SMILES data set in
// opts.Dir: files smiles-0001.smi, ... of 'CID<TAB>SMILES' lines.
func GenerateSMILES(ctx context.Context, opts Options, s SMILESSpec) (*Result, error) {
	if err := s.validate(); err != nil {
		return nil, err
	}
	c, err := LoadCorpus()
	if err != nil {
		return nil, err
	}
	g := newSMILESGen(c, s)
	n := int((s.Size + s.Chunk - 1) / s.Chunk)
	params := Params{Size: s.Size, Chunk: s.Chunk, Seed: s.Seed, Corpus: c.SHA256}
	j := &job{
		generator: "smiles",
		params:    params,
		unit:      "bytes",
		// File i depends on the seed, the chunk size and i, and on its
		// target: every file but the last is a whole chunk.
		grows: func(old Params) string {
			size := old.Size
			if old.Size = params.Size; old != params || size >= params.Size {
				return "noop"
			}
			if size%old.Chunk != 0 {
				k := int((size + old.Chunk - 1) / old.Chunk)
				return fmt.Sprintf("its last file, %s, is a partial chunk (%s) and would change; data whose size is a multiple of --chunk can grow", SMILESFileName(k-1, k), benchrig.FormatBytes(size-int64(k-1)*old.Chunk))
			}
			return ""
		},
	}
	for i := range n {
		target := s.Chunk
		if i == n-1 {
			target = s.Size - int64(n-1)*s.Chunk
		}
		j.files = append(j.files, plannedFile{
			name:  SMILESFileName(i, n),
			units: target,
			write: func(ctx context.Context, w *fileWriter) (FileInfo, error) {
				return g.write(ctx, w, i, target)
			},
		})
	}
	return generate(ctx, opts, j)
}

// smilesGen holds the corpus as one block of "\tSMILES\n" entries, so that a
// line is a CID and one copy.
type smilesGen struct {
	seed uint64
	text []byte
	off  []uint32 // entry i is text[off[i]:off[i+1]]
	span uint64   // CIDs per file
}

func newSMILESGen(c *Corpus, s SMILESSpec) *smilesGen {
	g := &smilesGen{seed: s.Seed, off: make([]uint32, 0, len(c.SMILES)+1)}
	for _, smi := range c.SMILES {
		g.off = append(g.off, uint32(len(g.text)))
		g.text = append(g.text, '\t')
		g.text = append(g.text, smi...)
		g.text = append(g.text, '\n')
	}
	g.off = append(g.off, uint32(len(g.text)))
	// Lines per file are over-estimated (as if CIDs had one digit).
	meanEntry := float64(len(g.text)) / float64(len(c.SMILES))
	g.span = cidSpan(float64(s.Chunk) / (meanEntry + 1))
	return g
}

// cidSpan is the CID range of a file expected to hold lines molecules: 25%
// more than the mean need, about 3 standard deviations of the sum of 5000
// steps, so that the writers' fallback to steps of 1 near the end of a
// range (which keeps CIDs rising across files) is a safeguard, not a habit.
func cidSpan(lines float64) uint64 {
	return uint64(math.Ceil(lines*meanGap*1.25)) + 1024
}

// meanGap is the mean of nextGap's distribution:
// 0.92*1 + 0.078*3 + 0.002*990/ln(100).
var meanGap = 0.92 + 0.078*3 + 0.002*990/math.Log(100)

// nextGap draws the step to the next CID: mostly +1, sometimes a short gap,
// rarely a long one (see the package comment).
func nextGap(r *rand.Rand) uint64 {
	x := r.Uint64()
	switch p := x % 10000; {
	case p < 9200:
		return 1
	case p < 9980:
		return 2 + (x>>32)%3
	default:
		return uint64(10 * math.Exp(r.Float64()*math.Log(100)))
	}
}

// cidRange is the range [lo, hi) of file i's CIDs.
func cidRange(i int, span uint64) (lo, hi uint64) {
	lo = 1 + uint64(i)*span
	return lo, lo + span
}

// flushAt is the size of a write: big enough that system calls cost
// nothing next to making the bytes, small enough to stay in L2/L3 cache.
const flushAt = 1 << 20

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, flushAt+4096); return &b }}

func (g *smilesGen) write(ctx context.Context, w *fileWriter, i int, target int64) (FileInfo, error) {
	r := rand.New(rand.NewPCG(g.seed, smilesStream+uint64(i)))
	lo, hi := cidRange(i, g.span)
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := (*bp)[:0]
	var (
		fi      FileInfo
		written int64
		cid     = lo - 1
		entries = len(g.off) - 1
	)
	for {
		next := cid + nextGap(r)
		if next >= hi {
			next = cid + 1
			if next >= hi {
				return fi, fmt.Errorf("internal error: CID range %d-%d exhausted", lo, hi)
			}
		}
		e := r.IntN(entries)
		mark := len(buf)
		buf = strconv.AppendUint(buf, next, 10)
		buf = append(buf, g.text[g.off[e]:g.off[e+1]]...)
		if written+int64(len(buf)) > target {
			buf = buf[:mark]
			break
		}
		cid = next
		if fi.Molecules == 0 {
			fi.FirstCID = cid
		}
		fi.Molecules++
		if len(buf) >= flushAt {
			if err := ctx.Err(); err != nil {
				return fi, err
			}
			if _, err := w.Write(buf); err != nil {
				return fi, err
			}
			written += int64(len(buf))
			w.progress(int64(len(buf)))
			buf = buf[:0]
		}
	}
	if _, err := w.Write(buf); err != nil {
		return fi, err
	}
	w.progress(target - written)
	fi.LastCID = cid
	return fi, nil
}
