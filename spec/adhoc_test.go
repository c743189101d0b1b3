package spec

import (
	"strings"
	"testing"

	"github.com/benchrig/benchrig"
)

func TestAdHoc(t *testing.T) {
	tricky := `awk -F: '{print $1}' "a b" # c: d` + "\n" + `echo 'x'`
	comment := "true # it's a comment"
	for _, tc := range []struct {
		name          string
		commands      []string
		names         []string
		wantCases     []string
		wantCommands  []string // each case's command as it will run
		wantErrSubstr string
	}{
		{name: "one case per command, named by its text", commands: []string{"true", tricky},
			wantCases: []string{"command=true", "command=" + tricky}, wantCommands: []string{"true", tricky}},
		{name: "named", commands: []string{"sleep 0.1", tricky}, names: []string{"short", "awk"},
			wantCases: []string{"command=short", "command=awk"}, wantCommands: []string{"sleep 0.1", tricky}},
		{name: "named, ending in a comment", commands: []string{comment, "echo $(x"}, names: []string{"c", "open"},
			wantCases: []string{"command=c", "command=open"}, wantCommands: []string{comment, "echo $(x"}},
		{name: "names must match", commands: []string{"a", "b"}, names: []string{"x"}, wantErrSubstr: "1 --name for 2 commands"},
		{name: "twice", commands: []string{"a", "a"}, wantErrSubstr: `"a" is given twice`},
		{name: "empty", commands: []string{"a", " "}, wantErrSubstr: "command 2 is empty"},
		{name: "template braces", commands: []string{"echo {{.x}}"}, wantErrSubstr: "contains {{"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := AdHoc(tc.commands, tc.names)
			if tc.wantErrSubstr != "" {
				if benchrig.ErrorCode(err) != benchrig.EInvalid || !strings.Contains(err.Error(), tc.wantErrSubstr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErrSubstr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			cases := benchrig.Matrix(s.Params)
			for i, c := range cases {
				if c.ID != tc.wantCases[i] {
					t.Errorf("case %d = %q, want %q", i, c.ID, tc.wantCases[i])
				}
				got, err := benchrig.ExpandShell(s.Command.Shell, c.Map())
				if err != nil || got != tc.wantCommands[i] {
					t.Errorf("case %s runs %q (%v), want %q", c.ID, got, err, tc.wantCommands[i])
				}
			}
			if len(cases) != len(tc.wantCases) {
				t.Errorf("%d cases, want %d", len(cases), len(tc.wantCases))
			}
		})
	}
}
