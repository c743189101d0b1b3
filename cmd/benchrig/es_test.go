package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// esFake answers what es check asks: the version, and no templates.
func esFake() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Elastic-Product", "Elasticsearch")
		switch {
		case strings.HasPrefix(r.URL.Path, "/_nodes"):
			fmt.Fprint(w, `{"nodes":{"n1":{"version":"8.19.7"}}}`)
		default:
			w.WriteHeader(404)
			fmt.Fprint(w, `{}`)
		}
	}))
}

func TestESCheck(t *testing.T) {
	srv := esFake()
	defer srv.Close()
	for _, tc := range []struct {
		name     string
		args     []string
		env      string
		code     int
		out, err string
	}{
		{"no url", []string{"es", "check"}, "", 2, "", "no Elasticsearch URL"},
		{"templates missing", []string{"es", "check", "--es", srv.URL}, "", 1, "Elasticsearch 8.19.7\n  template benchrig-metrics: not installed", "not all installed"},
		{"url from env", []string{"es", "check", "--json"}, srv.URL, 1, `"version": "8.19.7"`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCLI(t)
			c.env = map[string]string{"BENCHRIG_ES_URL": tc.env}
			code, out, errs := c.run(context.Background(), tc.args...)
			if code != tc.code || !strings.Contains(out, tc.out) || !strings.Contains(errs, tc.err) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit %d, stdout with %q, stderr with %q", code, out, errs, tc.code, tc.out, tc.err)
			}
		})
	}
}
