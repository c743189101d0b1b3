package web

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/benchrig/benchrig"
)

func TestTokensLookup(t *testing.T) {
	ts := Tokens{NewToken("ci", RoleSubmit, "submit-secret-0123456789"), NewToken("dash", RoleRead, "read-secret-0123456789")}
	tests := []struct {
		name, presented string
		want            string
		ok              bool
	}{
		{"submit", "submit-secret-0123456789", "ci", true},
		{"read", "read-secret-0123456789", "dash", true},
		{"prefix of a token", "submit-secret", "", false},
		{"unknown", "nope", "", false},
		{"empty", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ts.Lookup(tt.presented)
			if ok != tt.ok || got.Name != tt.want {
				t.Fatalf("Lookup(%q) = %q, %v; want %q, %v", tt.presented, got.Name, ok, tt.want, tt.ok)
			}
		})
	}
	if _, ok := (Tokens{NewToken("empty", RoleSubmit, "")}).Lookup(""); ok {
		t.Fatal("an empty token must never authorize")
	}
}

func TestLoadTokens(t *testing.T) {
	sum := sha256.Sum256([]byte("hashed-secret-0123456789"))
	tests := []struct {
		name    string
		mode    os.FileMode
		body    string
		wantErr string // substring; "" for success
	}{
		{"clear and hashed", 0o600, "tokens:\n  - {name: ci, role: submit, token: clear-secret-0123456789}\n  - {name: dash, role: read, sha256: " + hex.EncodeToString(sum[:]) + "}\n", ""},
		{"hashed only may be world-readable", 0o644, "tokens:\n  - {name: dash, role: read, sha256: " + hex.EncodeToString(sum[:]) + "}\n", ""},
		{"clear secrets readable by others", 0o644, "tokens:\n  - {name: ci, role: submit, token: clear-secret-0123456789}\n", "readable by others"},
		{"bad role", 0o600, "tokens:\n  - {name: ci, role: admin, token: clear-secret-0123456789}\n", "tokens[0].role"},
		{"no name", 0o600, "tokens:\n  - {role: read, token: clear-secret-0123456789}\n", "tokens[0].name"},
		{"short", 0o600, "tokens:\n  - {name: ci, role: read, token: short}\n", "too short"},
		{"both", 0o600, "tokens:\n  - {name: ci, role: read, token: clear-secret-0123456789, sha256: abc}\n", "not both"},
		{"bad hash", 0o600, "tokens:\n  - {name: ci, role: read, sha256: xyz}\n", "tokens[0].sha256"},
		{"not yaml", 0o600, "tokens: [", "tokens.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "tokens.yaml")
			if err := os.WriteFile(p, []byte(tt.body), tt.mode); err != nil {
				t.Fatal(err)
			}
			ts, err := LoadTokens(p)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if _, ok := ts.Lookup("hashed-secret-0123456789"); strings.Contains(tt.body, "sha256") && !ok {
					t.Fatal("the hashed token is not accepted")
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
			}
			if benchrig.ErrorCode(err) != benchrig.EInvalid {
				t.Fatalf("code = %s, want invalid", benchrig.ErrorCode(err))
			}
		})
	}
}

// TestAccess checks every access level against every kind of caller,
// through the middleware a route gets.
func TestAccess(t *testing.T) {
	for _, public := range []bool{false, true} {
		s := New(Config{PublicRead: public, Tokens: Tokens{
			NewToken("ci", RoleSubmit, "submit-secret-0123456789"),
			NewToken("dash", RoleRead, "read-secret-0123456789")}}, Deps{})
		ok := func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(callerOf(r).Name)) }
		s.route("GET", "/t/public", Public, true, ok)
		s.route("GET", "/t/read", Read, true, ok)
		s.route("POST", "/t/submit", Submit, true, ok)
		s.route("GET", "/t/page", Read, false, ok)
		type req struct {
			method, path, auth, cookie string
			want                       int
		}
		readStatus := http.StatusUnauthorized
		pageStatus := http.StatusSeeOther
		if public {
			readStatus, pageStatus = http.StatusOK, http.StatusOK
		}
		for _, tt := range []req{
			{"GET", "/t/public", "", "", http.StatusOK},
			{"GET", "/t/public", "Bearer wrong", "", http.StatusOK},
			{"GET", "/t/read", "Bearer wrong", "", readStatus},
			{"GET", "/t/page", "", "wrong", pageStatus},
			{"GET", "/t/read", "", "", readStatus},
			{"GET", "/t/read", "Bearer read-secret-0123456789", "", http.StatusOK},
			{"GET", "/t/read", "", "read-secret-0123456789", http.StatusOK},
			{"GET", "/t/read", "Basic abc", "", readStatus},
			{"GET", "/t/page", "", "", pageStatus},
			{"POST", "/t/submit", "", "", http.StatusUnauthorized},
			{"POST", "/t/submit", "Bearer read-secret-0123456789", "", http.StatusForbidden},
			{"POST", "/t/submit", "", "submit-secret-0123456789", http.StatusUnauthorized}, // a cookie never changes state
			{"POST", "/t/submit", "Bearer submit-secret-0123456789", "", http.StatusOK},
		} {
			r := httptest.NewRequest(tt.method, tt.path, nil)
			if tt.auth != "" {
				r.Header.Set("Authorization", tt.auth)
			}
			if tt.cookie != "" {
				r.AddCookie(&http.Cookie{Name: tokenCookie, Value: tt.cookie})
			}
			w := httptest.NewRecorder()
			s.Handler().ServeHTTP(w, r)
			if w.Code != tt.want {
				t.Errorf("public=%v %s %s auth=%q cookie=%q: %d, want %d (%s)", public, tt.method, tt.path, tt.auth, tt.cookie, w.Code, tt.want, w.Body)
			}
			if w.Code == http.StatusUnauthorized && w.Header().Get("WWW-Authenticate") == "" {
				t.Errorf("%s %s: 401 without WWW-Authenticate", tt.method, tt.path)
			}
			if w.Header().Get("Content-Security-Policy") != contentSecurityPolicy {
				t.Errorf("%s %s: no CSP", tt.method, tt.path)
			}
		}
	}
}

func TestBodyLimit(t *testing.T) {
	s := New(Config{MaxBody: 1024, Tokens: Tokens{NewToken("ci", RoleSubmit, "submit-secret-0123456789")}}, Deps{})
	s.route("POST", "/t/body", Submit, true, func(w http.ResponseWriter, r *http.Request) {
		b, ok := s.readBody(w, r)
		if ok {
			w.Write(b)
		}
	})
	for _, tt := range []struct {
		name    string
		size    int
		chunked bool
		want    int
	}{
		{"fits", 1024, false, http.StatusOK},
		{"too large", 1025, false, http.StatusRequestEntityTooLarge},
		{"too large chunked", 4096, true, http.StatusRequestEntityTooLarge},
		{"fits chunked", 100, true, http.StatusOK},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/t/body", strings.NewReader(strings.Repeat("x", tt.size)))
			if tt.chunked {
				r.ContentLength = -1
			}
			r.Header.Set("Authorization", "Bearer submit-secret-0123456789")
			w := httptest.NewRecorder()
			s.Handler().ServeHTTP(w, r)
			if w.Code != tt.want {
				t.Fatalf("%d, want %d: %s", w.Code, tt.want, w.Body)
			}
			if tt.want == http.StatusOK && w.Body.Len() != tt.size {
				t.Fatalf("body %d bytes, want %d", w.Body.Len(), tt.size)
			}
		})
	}
}
