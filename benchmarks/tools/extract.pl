#!/usr/bin/perl
# extract.pl: print "CID SMILES" for every record of a PubChem SDF stream,
# reading whole records as NCI's Perl SDF toolkit does: each record is split
# into its molfile and its data fields, and the fields looked up by name.
use strict;
use warnings;

local $/ = "\$\$\$\$\n";
while (my $record = <STDIN>) {
    my ($molfile, $fields) = split /^(?=> )/m, $record, 2;
    next unless defined $fields;
    my %data;
    while ($fields =~ /^> *<([^>]+)>[^\n]*\n(.*?)\n\n/msg) {
        $data{$1} = $2;
    }
    my ($cid, $smiles) = @data{qw(PUBCHEM_COMPOUND_CID PUBCHEM_SMILES)};
    print "$cid $smiles\n" if defined $cid && defined $smiles;
}
