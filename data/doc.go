// Package data owns benchrig's test-data generators: PubChem-like
// 'CID<TAB>SMILES' chunk files and gzipped PubChem-like SDF files, made
// deterministically from a small corpus of real molecules embedded in the
// package (corpus.smi.gz, see README.md for its provenance and licence).
//
// What the generated data preserves: real molecules (every SMILES is a
// corpus molecule, in Kekulé form like PubChem's, so grep patterns meet the
// alphabet, ring-closure digits, charges, salts and stereo marks they would
// meet in PubChem), the corpus's SMILES length distribution, and rising CIDs
// with gaps. What it does not: PubChem's correlation between CID and
// structure (neighbouring CIDs in PubChem are often related deposits; here
// each line is an independent uniform draw from the corpus), PubChem's
// structure uniqueness (the ~15k corpus molecules repeat, about once per
// 15k lines), and the long-tail of very large molecules beyond the corpus.
//
// CID gaps: 92% of steps are +1, 7.8% are +2..+4 (uniform), 0.2% are
// log-uniform in +10..+1000, a mean step of about 1.58; PubChem's live
// compounds likewise fill well under the whole of its CID range, with many
// short gaps (deprecated or merged records) and rare long ones. Each output
// file owns a fixed CID range (as PubChem's own SDF downloads are split by
// CID range), so there is one larger gap at each file boundary.
//
// Every file is a pure function of (generator parameters, file index, the
// embedded corpus, and for SDF the molfile cache Open Babel made, whose
// SHA-256 the manifest records: its --gen2d is not perfectly reproducible
// from run to run, see README.md): its random stream is
// a PCG seeded from (seed, file index) and its CIDs come from its own range.
// That is what lets a re-run regenerate only a missing or damaged file,
// byte-identical, and what the manifest (.benchrig-data.json) records.
package data
