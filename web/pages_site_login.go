package web

import (
	"net/http"
	"net/url"
	"strings"
)

// submitData is the submit page.
type submitData struct {
	CanSubmit bool // the server queues runs (Deps.Runs is set)
}

// submitPage is GET /submit: a form that app.js sends to POST
// /api/v1/runs with the token the user types (kept in sessionStorage,
// never in a cookie: a cookie never authorizes a change of state), and
// that shows the spec's errors at their lines.
func (s *Server) submitPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "submit", page{Title: "Submit a run", Nav: "submit",
		Data: submitData{CanSubmit: s.deps.Runs != nil}})
}

// loginData is the login page.
type loginData struct {
	Next       string // where to go once logged in: a local path
	Error      string
	PublicRead bool
	LoggedIn   string // the token's name when the request carries one
}

// loginPage is GET /login: a token field. Needed when the dashboards are
// not public (Config.PublicRead false); the token is kept in the
// benchrig_token cookie, which only ever authorizes reads.
func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	s.renderLogin(w, r, http.StatusOK, "")
}

func (s *Server) renderLogin(w http.ResponseWriter, r *http.Request, status int, msg string) {
	d := loginData{Next: localPath(r.FormValue("next")), Error: msg, PublicRead: s.cfg.PublicRead}
	if c, err := r.Cookie(tokenCookie); err == nil {
		if t, ok := s.cfg.Tokens.Lookup(c.Value); ok {
			d.LoggedIn = t.Name
		}
	}
	s.render(w, r, status, "login", page{Title: "Log in", Data: d})
}

// login is POST /login: a valid token is set as the benchrig_token cookie
// (HttpOnly: no script reads it; SameSite=Strict: no other site's page
// sends it; Secure over TLS) and the browser goes to next, a local path
// only, so that a link to /login cannot send a user elsewhere.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.renderLogin(w, r, http.StatusBadRequest, "could not read the form: "+err.Error())
		return
	}
	tok := strings.TrimSpace(r.PostFormValue("token"))
	if _, ok := s.cfg.Tokens.Lookup(tok); !ok {
		s.renderLogin(w, r, http.StatusUnauthorized, "unknown token")
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: tokenCookie, Value: tok, Path: "/",
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil,
	})
	http.Redirect(w, r, localPath(r.PostFormValue("next")), http.StatusSeeOther)
}

// logout is POST /logout: the cookie is dropped.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{
		Name: tokenCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil,
	})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// localPath is next when it is a path on this server, "/runs" otherwise:
// no scheme, no host, and none of the spellings a browser reads as
// another host ("//evil", "/\evil", a tab or newline inside).
func localPath(next string) string {
	const home = "/runs"
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") ||
		strings.ContainsAny(next, "\\\t\r\n") {
		return home
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return home
	}
	return next
}
