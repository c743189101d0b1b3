# extract.awk: print "CID SMILES" for every record of a PubChem SDF stream.
# Data fields follow their "> <NAME>" header line; "$$$$" ends a record.
/^> *<PUBCHEM_COMPOUND_CID>/ { getline cid; next }
/^> *<PUBCHEM_SMILES>/       { getline smiles; next }
/^\$\$\$\$/                  { print cid, smiles; cid = smiles = "" }
