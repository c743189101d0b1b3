package web

import (
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

type openAPIDoc struct {
	OpenAPI  string                `yaml:"openapi"`
	Security []map[string][]string `yaml:"security"`
	Paths    map[string]map[string]struct {
		OperationID string                 `yaml:"operationId"`
		Access      string                 `yaml:"x-benchrig-access"`
		Security    *[]map[string][]string `yaml:"security"`
		Responses   map[string]any         `yaml:"responses"`
	} `yaml:"paths"`
	Components struct {
		SecuritySchemes map[string]struct {
			Type   string `yaml:"type"`
			Scheme string `yaml:"scheme"`
		} `yaml:"securitySchemes"`
	} `yaml:"components"`
}

// TestOpenAPIMatchesRoutes checks that openapi.yaml documents exactly the
// API routes, each with the security its Access needs.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	var doc openAPIDoc
	if err := yaml.Unmarshal(openAPI, &doc); err != nil {
		t.Fatalf("openapi.yaml: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Errorf("openapi %q, want 3.x", doc.OpenAPI)
	}
	if b := doc.Components.SecuritySchemes["bearerAuth"]; b.Type != "http" || b.Scheme != "bearer" {
		t.Errorf("bearerAuth scheme %+v", b)
	}
	s := New(Config{}, Deps{})
	routes := map[string]Route{}
	for _, rt := range s.Routes() {
		if rt.API {
			routes[rt.Method+" "+rt.Pattern] = rt
		}
	}
	documented := map[string]bool{}
	accessName := map[Access]string{Public: "public", Read: "read", Submit: "submit"}
	for path, ops := range doc.Paths {
		for method, op := range ops {
			if method == "parameters" {
				continue
			}
			key := strings.ToUpper(method) + " " + path
			documented[key] = true
			rt, ok := routes[key]
			if !ok {
				t.Errorf("%s is documented but not a route", key)
				continue
			}
			if op.OperationID == "" {
				t.Errorf("%s: no operationId", key)
			}
			if len(op.Responses) == 0 {
				t.Errorf("%s: no responses", key)
			}
			if op.Access != accessName[rt.Access] {
				t.Errorf("%s: x-benchrig-access %q, the route needs %q", key, op.Access, accessName[rt.Access])
			}
			if op.Security == nil {
				t.Errorf("%s: no security (say [] for a public route)", key)
				continue
			}
			bearer := slices.ContainsFunc(*op.Security, func(m map[string][]string) bool { _, ok := m["bearerAuth"]; return ok })
			if (rt.Access == Public) == bearer || (rt.Access == Public && len(*op.Security) != 0) {
				t.Errorf("%s: security %v does not match access %s", key, *op.Security, accessName[rt.Access])
			}
			_, says401 := op.Responses["401"]
			if rt.Access != Public && !says401 {
				t.Errorf("%s: needs a token but documents no 401", key)
			}
			if rt.Access == Submit {
				if _, ok := op.Responses["403"]; !ok {
					t.Errorf("%s: needs a submit token but documents no 403", key)
				}
			}
		}
	}
	for key := range routes {
		if !documented[key] {
			t.Errorf("route %s is not in openapi.yaml", key)
		}
	}
}

func TestOpenAPIServed(t *testing.T) {
	_, ts, _ := testServer(t, Config{}, Deps{})
	resp, err := http.Get(ts.URL + "/api/v1/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(b) != string(openAPI) {
		t.Errorf("status %d, %d bytes", resp.StatusCode, len(b))
	}
}

// TestOpenAPIRefsResolve checks that every $ref names a component the
// document defines.
func TestOpenAPIRefsResolve(t *testing.T) {
	var doc map[string]any
	if err := yaml.Unmarshal(openAPI, &doc); err != nil {
		t.Fatal(err)
	}
	n := 0
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if k != "$ref" {
					walk(x)
					continue
				}
				ref, _ := x.(string)
				n++
				var cur any = doc
				for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
					m, ok := cur.(map[string]any)
					if !ok || m[part] == nil {
						t.Errorf("$ref %q does not resolve", ref)
						return
					}
					cur = m[part]
				}
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(doc)
	if n == 0 {
		t.Error("no $ref found: the walk is broken")
	}
}
