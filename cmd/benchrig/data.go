package main

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/data"
)

type dataOptions struct {
	out     string
	seed    uint64
	verify  bool
	replace bool
	quiet   bool
	// smiles
	size, chunk string
	// sdf
	files, molecules, corpus int
	cache                    string
}

func newDataCommand(d *deps) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "data {smiles|sdf}",
		Short: "Generate deterministic PubChem-like test data (SMILES chunks, gzipped SDF)",
		Long: `Generate the test data of the seed experiments from real molecules (a corpus of ~15k
SMILES from RDKit's data, embedded in benchrig): 'CID<TAB>SMILES' chunk files for grep-style
substructure search, and gzipped PubChem-like SDF files for extraction benchmarks.

Output is a pure function of the parameters and the seed: the same command writes the same
bytes anywhere. Each directory gets a manifest (` + data.ManifestName + `) listing every file with
its size and sha256. Running the command again checks the files and rewrites only missing
or damaged ones ("up to date" when none). A file benchrig did not write is never overwritten.
More files with otherwise the same parameters (--files, or a --size in whole --chunks) are
added beside the existing ones, which keep their bytes; other parameters in a directory that
holds data need --replace.`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageError{fmt.Errorf("unknown data set %q: want smiles or sdf", args[0])}
			}
			return cmd.Help()
		},
	}
	cmd.AddCommand(newDataSmilesCommand(d), newDataSDFCommand(d))
	return cmd
}

func dataFlags(cmd *cobra.Command, opts *dataOptions, defOut string) {
	f := cmd.Flags()
	f.StringVar(&opts.out, "out", defOut, "output `DIR` (created if missing)")
	f.Uint64Var(&opts.seed, "seed", 1, "random seed: same seed, same bytes")
	f.BoolVar(&opts.verify, "verify", false, "check existing files' sha256 against the manifest, not only their sizes")
	f.BoolVar(&opts.replace, "replace", false, "if DIR holds data made with other parameters (not only fewer files), remove the files its manifest lists and generate anew")
	f.BoolVarP(&opts.quiet, "quiet", "q", false, "no progress output")
}

func newDataSmilesCommand(d *deps) *cobra.Command {
	var opts dataOptions
	cmd := &cobra.Command{
		Use:   "smiles",
		Short: "Write 'CID<TAB>SMILES' chunk files (smiles-0001.smi, ...)",
		Long: `Write PubChem-like 'CID<TAB>SMILES' lines in files smiles-0001.smi, smiles-0002.smi, ...
of about --chunk bytes each (ending at a line boundary; the last file holds the remainder),
about --size bytes in all. Every line is a real corpus molecule (Kekulé SMILES, like
PubChem's) with a rising CID; CIDs rise with PubChem-like gaps within and across files.

The seed experiments used two layouts: 12 chunks of 55 MB (the default: throughput), and
842 MB in 733 files of ~1.15 MB (process start-up cost dominates).

Sizes take SI units (55MB = 55,000,000 bytes) or IEC ones (64MiB).`,
		Example: `  benchrig data smiles
  benchrig data smiles --out .bench/data/smiles-small --chunk 1.15MB --size 842MB
  benchrig data smiles --size 1GB --seed 2 --out /tmp/smiles-1g
  benchrig data smiles --verify    # check every file's sha256, rewrite damaged ones`,
		Args: cobra.NoArgs,
		RunE: wrap(func(cmd *cobra.Command, args []string) error {
			size, err := benchrig.ParseBytes(opts.size)
			if err != nil {
				return usageError{fmt.Errorf("--size: %w", err)}
			}
			chunk, err := benchrig.ParseBytes(opts.chunk)
			if err != nil {
				return usageError{fmt.Errorf("--chunk: %w", err)}
			}
			spec := data.SMILESSpec{Size: size, Chunk: chunk, Seed: opts.seed}
			return runData(cmd.Context(), d, opts, func(ctx context.Context, o data.Options) (*data.Result, error) {
				return data.GenerateSMILES(ctx, o, spec)
			})
		}),
	}
	dataFlags(cmd, &opts, filepath.Join(".bench", "data", "smiles"))
	f := cmd.Flags()
	f.StringVar(&opts.size, "size", "660MB", "total `SIZE` of the data set")
	f.StringVar(&opts.chunk, "chunk", "55MB", "`SIZE` of each file")
	return cmd
}

func newDataSDFCommand(d *deps) *cobra.Command {
	var opts dataOptions
	cmd := &cobra.Command{
		Use:   "sdf",
		Short: "Write gzipped PubChem-like SDF files (compound-0001.sdf.gz, ...)",
		Long: `Write --files gzipped SDF files of --molecules records each. A record is a V2000 2D molfile
with explicit hydrogens, titled with its CID, followed by PubChem's data fields
(PUBCHEM_COMPOUND_CID, PUBCHEM_SMILES, formula, weight, InChI/InChIKey, H-bond counts, TPSA,
charge, atom and component counts, coordinate type) and $$$$: about 3-5 KB, like PubChem's
records. Values are computed by Open Babel (or counted from the molfile), not by PubChem's
CACTVS, so some differ slightly from PubChem's own.

Needs Open Babel (apt-get install openbabel). The first run lays out every corpus molecule
with obabel --gen2d once (about a minute on two cores) and keeps the result in --cache;
later runs only resample it. Output is deterministic given the seed and the Open Babel
version, which the manifest records. Files are gzip level 6 with no name or time in the
header.`,
		Example: `  benchrig data sdf
  benchrig data sdf --files 8 --molecules 20000 --out /tmp/sdf-big
  benchrig data sdf --corpus 500   # quick: lay out only the first 500 corpus molecules`,
		Args: cobra.NoArgs,
		RunE: wrap(func(cmd *cobra.Command, args []string) error {
			spec := data.SDFSpec{Files: opts.files, Molecules: opts.molecules, Seed: opts.seed, Corpus: opts.corpus, CacheDir: opts.cache}
			if spec.CacheDir == "" {
				spec.CacheDir = cacheDir(d)
			} else {
				spec.CacheDir = absPath(d, spec.CacheDir)
			}
			return runData(cmd.Context(), d, opts, func(ctx context.Context, o data.Options) (*data.Result, error) {
				return data.GenerateSDF(ctx, o, spec)
			})
		}),
	}
	dataFlags(cmd, &opts, filepath.Join(".bench", "data", "sdf"))
	f := cmd.Flags()
	f.IntVar(&opts.files, "files", data.DefaultSDFFiles, "number of files")
	f.IntVar(&opts.molecules, "molecules", data.DefaultSDFMolecules, "records per file")
	f.IntVar(&opts.corpus, "corpus", 0, "draw from only the first `N` corpus molecules (0: all ~15k)")
	f.StringVar(&opts.cache, "cache", "", "molfile cache `DIR` (default $XDG_CACHE_HOME/benchrig or ~/.cache/benchrig)")
	return cmd
}

// cacheDir is the per-user cache: XDG_CACHE_HOME, then ~/.cache, then "" (the
// data directory's .cache).
func cacheDir(d *deps) string {
	if x := d.getenv("XDG_CACHE_HOME"); x != "" {
		return filepath.Join(x, "benchrig")
	}
	if h := d.getenv("HOME"); h != "" {
		return filepath.Join(h, ".cache", "benchrig")
	}
	return ""
}

func absPath(d *deps, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(d.cwd, p)
}

func runData(ctx context.Context, d *deps, opts dataOptions, gen func(context.Context, data.Options) (*data.Result, error)) error {
	dir := absPath(d, opts.out)
	bar := &dataProgress{bar: bar{w: d.stderr, start: time.Now()}, tty: d.tty, quiet: opts.quiet}
	res, err := gen(ctx, data.Options{
		Dir:      dir,
		Verify:   opts.verify,
		Replace:  opts.replace,
		Progress: bar.observe,
		Log:      bar.note,
	})
	bar.finish()
	if res == nil || (err != nil && len(res.Written) == 0) {
		return err
	}
	m := res.Manifest
	if res.UpToDate() {
		how := "sizes checked; --verify also checks sha256"
		if opts.verify {
			how = "sizes and sha256 checked"
		}
		fmt.Fprintf(d.stdout, "up to date: %s holds %d files, %s, %d molecules (%s)\n", opts.out, len(m.Files), benchrig.FormatBytes(m.Bytes), m.Molecules, how)
		return err
	}
	var molecules int64
	for _, f := range res.Written {
		molecules += f.Molecules
	}
	secs := res.Elapsed.Seconds()
	cache := ""
	if res.CacheBuild > 0 {
		secs -= res.CacheBuild.Seconds()
		cache = fmt.Sprintf(" after %s making the molfile cache", benchrig.FormatDuration(res.CacheBuild))
	}
	fmt.Fprintf(d.stdout, "wrote %d of %d files, %s, %d molecules in %s (%s/s, %.0f molecules/s)%s\n",
		len(res.Written), len(m.Files), benchrig.FormatBytes(res.WrittenBytes), molecules, benchrig.FormatSeconds(secs),
		benchrig.FormatBytes(int64(float64(res.WrittenBytes)/secs)), float64(molecules)/secs, cache)
	fmt.Fprintf(d.stdout, "%s holds %d files, %s, %d molecules (manifest: %s)\n", opts.out, len(m.Files), benchrig.FormatBytes(m.Bytes), m.Molecules, filepath.Join(opts.out, data.ManifestName))
	return err
}

// dataProgress shows a generation on stderr: a redrawn bar on a terminal;
// otherwise one line per file written and, while the SDF molfile cache is
// made, a line at every tenth of it, each with an ETA. Each phase has its
// own pace, so the ETA of writing files does not count the cache.
type dataProgress struct {
	mu sync.Mutex
	bar
	tty   bool
	quiet bool
	phase data.Phase
	tenth int // molfiles: the last tenth reported in a plain line
}

func (p *dataProgress) observe(e data.Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.quiet {
		return
	}
	if e.Phase != p.phase {
		p.phase, p.start, p.tenth = e.Phase, time.Now(), 0
		p.clear()
	}
	frac := 0.0
	if e.Total > 0 {
		frac = min(1, float64(e.Done)/float64(e.Total))
	}
	cells, eta := p.gauge(frac)
	if e.Phase == data.PhaseMolfiles {
		if !p.tty {
			if t := int(frac * 10); t > p.tenth {
				p.tenth = t
				line := fmt.Sprintf("molfile cache: %d/%d molecules laid out (%.0f%%)", e.Done, e.Total, frac*100)
				if e.Done < e.Total {
					line += ", ETA " + eta
				}
				fmt.Fprintln(p.w, line)
			}
			return
		}
		if p.due(e.Done == e.Total) {
			p.line(fmt.Sprintf("[%s] %3.0f%% molfile cache: %d/%d molecules ETA %s", cells, frac*100, e.Done, e.Total, eta))
		}
		return
	}
	if !p.tty {
		if e.File != nil {
			line := fmt.Sprintf("[%d/%d] %s %s, %d molecules", e.FilesDone, e.Files, e.File.Name, benchrig.FormatBytes(e.File.Size), e.File.Molecules)
			if e.FilesDone < e.Files {
				line += ", ETA " + eta
			}
			fmt.Fprintln(p.w, line)
		}
		return
	}
	if !p.due(e.File != nil) {
		return
	}
	amount := fmt.Sprintf("%d/%d molecules", e.Done, e.Total)
	if e.Unit == "bytes" {
		amount = benchrig.FormatBytes(e.Done) + "/" + benchrig.FormatBytes(e.Total)
	}
	p.line(fmt.Sprintf("[%s] %3.0f%% %d/%d files %s ETA %s", cells, frac*100, e.FilesDone, e.Files, amount, eta))
}

func (p *dataProgress) note(s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clear()
	fmt.Fprintf(p.w, "note: %s\n", s)
}

func (p *dataProgress) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clear()
}
