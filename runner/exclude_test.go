package runner

import (
	"reflect"
	"testing"

	"github.com/benchrig/benchrig"
)

// TestPlacedExclude checks how exclude entries naming node or arch become
// entries on the params, where the placement does not make them params.
func TestPlacedExclude(t *testing.T) {
	lab1 := &Node{Name: "lab1", Facts: benchrig.NodeFacts{Arch: "amd64"}}
	lab3 := &Node{Name: "lab3", Facts: benchrig.NodeFacts{Arch: "arm64"}}
	byNode := map[string]*Node{"lab1": lab1, "lab3": lab3}
	byArch := map[string]*Node{"amd64": lab1, "arm64": lab3}
	local := Config{Node: "local", Fingerprint: benchrig.Fingerprint{Arch: "amd64"}}
	for _, tc := range []struct {
		name       string
		exclude    []map[string]string
		homes      map[string]*Node
		placeParam string
		want       []map[string]string
		all        bool
	}{
		{"params only: as they are", []map[string]string{{"impl": "cat"}}, nil, "", []map[string]string{{"impl": "cat"}}, false},
		{"local arch matches", []map[string]string{{"impl": "cat", "arch": "amd64"}}, nil, "", []map[string]string{{"impl": "cat"}}, false},
		{"local arch differs", []map[string]string{{"impl": "cat", "arch": "arm64"}}, nil, "", nil, false},
		{"the whole host", []map[string]string{{"node": "local"}}, nil, "", nil, true},
		{"per node, by arch", []map[string]string{{"impl": "cat", "arch": "arm64"}}, byNode, benchrig.PerNode, []map[string]string{{"impl": "cat", "node": "lab3"}}, false},
		{"per node, by node: a param", []map[string]string{{"node": "lab1"}}, byNode, benchrig.PerNode, []map[string]string{{"node": "lab1"}}, false},
		{"per arch, by node", []map[string]string{{"impl": "cat", "node": "lab1"}}, byArch, benchrig.PerArch, []map[string]string{{"impl": "cat", "arch": "amd64"}}, false},
		{"per arch, node and arch disagree", []map[string]string{{"node": "lab1", "arch": "arm64"}}, byArch, benchrig.PerArch, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, all := placedExclude(tc.exclude, tc.homes, tc.placeParam, local)
			if !reflect.DeepEqual(got, tc.want) || all != tc.all {
				t.Errorf("got %v, all %v; want %v, all %v", got, all, tc.want, tc.all)
			}
		})
	}
}

// TestBaselineGroupsAfterExclude: where exclude: removed one pattern's
// baseline, that pattern's cases get no comparison, never one against
// another pattern's baseline; a ceiling left once serves every pattern.
func TestBaselineGroupsAfterExclude(t *testing.T) {
	mk := func(impl, pat string) benchrig.Case {
		ps := []benchrig.KV{{Name: "impl", Value: impl}, {Name: "pat", Value: pat}}
		return benchrig.Case{ID: benchrig.CaseID(ps), Params: ps}
	}
	// impl=1,pat=b is excluded.
	cases := []benchrig.Case{mk("1", "a"), mk("2", "a"), mk("2", "b"), mk("cat", "a")}
	spec := &benchrig.Spec{File: "g.yaml"}
	_, per, err := selectCases(spec, "baseline", map[string]string{"impl": "1"}, cases)
	if err != nil {
		t.Fatal(err)
	}
	if got := per["impl=2,pat=a"]; got != "impl=1,pat=a" {
		t.Errorf("impl=2,pat=a baseline %q, want impl=1,pat=a", got)
	}
	if got, ok := per["impl=2,pat=b"]; ok {
		t.Errorf("impl=2,pat=b baseline %q, want none (its pattern's baseline is excluded)", got)
	}
	_, ceil, err := selectCases(spec, "ceiling", map[string]string{"impl": "cat"}, cases)
	if err != nil {
		t.Fatal(err)
	}
	if got := ceil["impl=2,pat=b"]; got != "impl=cat,pat=a" {
		t.Errorf("impl=2,pat=b ceiling %q, want impl=cat,pat=a", got)
	}
}
