package web

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/benchrig/benchrig"
)

// Role is what a token allows.
type Role int

const (
	// RoleRead reads runs, pools and schedules.
	RoleRead Role = iota + 1
	// RoleSubmit also submits and cancels runs and edits schedules.
	RoleSubmit
)

func (r Role) String() string {
	switch r {
	case RoleRead:
		return "read"
	case RoleSubmit:
		return "submit"
	}
	return "none"
}

// Token is one accepted bearer token, kept as its SHA-256 so that a
// comparison takes the same time whatever the guess.
type Token struct {
	Name string
	Role Role
	hash [sha256.Size]byte
}

// Tokens are the tokens a server accepts.
type Tokens []Token

// NewToken makes a token from its secret.
func NewToken(name string, role Role, secret string) Token {
	return Token{Name: name, Role: role, hash: sha256.Sum256([]byte(secret))}
}

// Lookup finds the token whose secret is presented. Every token is
// compared, in constant time, so the time taken says nothing about which
// one (or how much of one) matched.
func (ts Tokens) Lookup(presented string) (Token, bool) {
	h := sha256.Sum256([]byte(presented))
	var found Token
	ok := 0
	for _, t := range ts {
		if subtle.ConstantTimeCompare(h[:], t.hash[:]) == 1 {
			found = t
			ok = 1
		}
	}
	return found, ok == 1 && presented != ""
}

// tokensFile is the tokens file:
//
//	tokens:
//	  - name: jenkins
//	    role: submit
//	    token: s3cret             # or sha256: <hex of the secret's SHA-256>
//	  - name: dashboards
//	    role: read
//	    sha256: 9f86d08...
type tokensFile struct {
	Tokens []struct {
		Name   string `yaml:"name"`
		Role   string `yaml:"role"`
		Token  string `yaml:"token"`
		SHA256 string `yaml:"sha256"`
	} `yaml:"tokens"`
}

// LoadTokens reads a tokens file. It must not be readable by others when
// it holds secrets in clear (mode 0600), like an ssh key.
func LoadTokens(path string) (Tokens, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &benchrig.Error{Code: benchrig.EInvalid, File: path, Msg: "read tokens file", Err: err}
	}
	var f tokensFile
	if err := yaml.Unmarshal(data, &f); err != nil {
		return nil, &benchrig.Error{Code: benchrig.EInvalid, File: path, Msg: err.Error()}
	}
	var out Tokens
	clear := false
	for i, t := range f.Tokens {
		field := fmt.Sprintf("tokens[%d]", i)
		bad := func(sub, msg string) error {
			return &benchrig.Error{Code: benchrig.EInvalid, File: path, Field: field + sub, Msg: msg}
		}
		var role Role
		switch t.Role {
		case "read":
			role = RoleRead
		case "submit":
			role = RoleSubmit
		default:
			return nil, bad(".role", fmt.Sprintf("%q is not a role: read or submit", t.Role))
		}
		if t.Name == "" {
			return nil, bad(".name", "a token needs a name (it is logged instead of the secret)")
		}
		tok := Token{Name: t.Name, Role: role}
		switch {
		case t.Token != "" && t.SHA256 != "":
			return nil, bad("", "give token or sha256, not both")
		case t.Token != "":
			if len(t.Token) < 16 {
				return nil, bad(".token", "too short: use at least 16 characters (openssl rand -hex 32)")
			}
			tok.hash = sha256.Sum256([]byte(t.Token))
			clear = true
		case t.SHA256 != "":
			b, err := hex.DecodeString(t.SHA256)
			if err != nil || len(b) != sha256.Size {
				return nil, bad(".sha256", "not the hex of a SHA-256 (64 hex digits)")
			}
			copy(tok.hash[:], b)
		default:
			return nil, bad("", "a token needs token or sha256")
		}
		out = append(out, tok)
	}
	if clear {
		if st, err := os.Stat(path); err == nil && st.Mode().Perm()&0o077 != 0 {
			return nil, &benchrig.Error{Code: benchrig.EInvalid, File: path,
				Msg: fmt.Sprintf("holds secrets and is readable by others (mode %v): chmod 600 it, or keep sha256 hashes", st.Mode().Perm())}
		}
	}
	return out, nil
}

// caller is who made a request, once authorized.
type caller struct {
	Name string // the token's name; "" when no token was given
	Role Role   // 0 without a token
}

type callerKey struct{}

// callerOf is the authorized caller of a request served through route.
func callerOf(r *http.Request) caller {
	c, _ := r.Context().Value(callerKey{}).(caller)
	return c
}

// bearer is the request's token: the Authorization header's bearer token,
// or, for reads only, the benchrig_token cookie the login page sets
// (a browser cannot send a header when it follows a link). Cookies never
// authorize a change of state, so a cross-site form cannot submit.
func bearer(r *http.Request, access Access) string {
	if h := r.Header.Get("Authorization"); h != "" {
		if t, ok := strings.CutPrefix(h, "Bearer "); ok {
			return strings.TrimSpace(t)
		}
		return ""
	}
	if access == Read {
		if c, err := r.Cookie(tokenCookie); err == nil {
			return c.Value
		}
	}
	return ""
}

const tokenCookie = "benchrig_token"

// authorize checks a request against access: nil, or 401 (no or unknown
// token) / 403 (a read token where submit is needed).
func (s *Server) authorize(r *http.Request, access Access) (caller, int, string) {
	tok := bearer(r, access)
	var c caller
	if tok != "" {
		t, ok := s.cfg.Tokens.Lookup(tok)
		switch {
		case ok:
			c = caller{Name: t.Name, Role: t.Role}
		case access == Public || access == Read && s.cfg.PublicRead:
			// What anyone may see is served to anyone: a stale or
			// mistyped token makes its caller anonymous, not refused
			// (and the login page never sends its visitor to itself).
		default:
			return c, http.StatusUnauthorized, "unknown token"
		}
	}
	switch access {
	case Public:
		return c, 0, ""
	case Read:
		if s.cfg.PublicRead || c.Role >= RoleRead {
			return c, 0, ""
		}
	case Submit:
		if c.Role >= RoleSubmit {
			return c, 0, ""
		}
		if c.Role == RoleRead {
			return c, http.StatusForbidden, fmt.Sprintf("token %q is read-only: submitting needs a submit token", c.Name)
		}
	}
	return c, http.StatusUnauthorized, "this needs a bearer token (Authorization: Bearer TOKEN)"
}
