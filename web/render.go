package web

import (
	"bytes"
	"embed"
	"html/template"
	"io/fs"
	"net/http"
	"sync"
)

// Templates and static files are embedded: the dashboards work offline,
// with nothing fetched from a CDN.
//
//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// page is what every page template gets: its title, the caller's role and
// the page's own data.
type page struct {
	Title  string
	Nav    string // the nav entry to highlight: runs, compare, pools, schedules, submit
	Caller caller
	Public bool // a shared page, served without a token
	Data   any
}

var (
	tmplOnce sync.Once
	tmpls    map[string]*template.Template
	tmplErr  error
)

// parseTemplates parses each page template (every file but layout.html)
// with the layout, once. html/template escapes every value by context.
func parseTemplates() (map[string]*template.Template, error) {
	tmplOnce.Do(func() {
		names, err := fs.Glob(templateFS, "templates/*.html")
		if err != nil {
			tmplErr = err
			return
		}
		tmpls = map[string]*template.Template{}
		for _, n := range names {
			if n == "templates/layout.html" {
				continue
			}
			t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", n)
			if err != nil {
				tmplErr = err
				return
			}
			tmpls[n[len("templates/"):len(n)-len(".html")]] = t
		}
	})
	return tmpls, tmplErr
}

// funcs are the helpers templates may call; each page's file adds none of
// its own, so that they are in one place.
var funcs = template.FuncMap{}

// render writes page name (templates/NAME.html inside the layout). It
// renders into a buffer first, so a template error is a 500, not half a
// page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) {
	ts, err := parseTemplates()
	if err != nil {
		s.writePageError(w, r, err)
		return
	}
	t := ts[name]
	if t == nil {
		s.writePageError(w, r, &templateMissing{name})
		return
	}
	p.Caller = callerOf(r)
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", p); err != nil {
		s.writePageError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

// renderPart writes one template (part) of page name's set alone, without
// the layout: the part of a page that it fetches again while a run goes
// (a run's live part, the runs list's rows).
func (s *Server) renderPart(w http.ResponseWriter, r *http.Request, name, part string, data any) {
	ts, err := parseTemplates()
	if err != nil {
		s.writePageError(w, r, err)
		return
	}
	t := ts[name]
	if t == nil || t.Lookup(part) == nil {
		s.writePageError(w, r, &templateMissing{name + "/" + part})
		return
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, part, data); err != nil {
		s.writePageError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = buf.WriteTo(w)
}

type templateMissing struct{ name string }

func (e *templateMissing) Error() string { return "no template " + e.name }

// writePageError answers a page's failure as a page: 404 and bad input
// say what went wrong; internal errors are logged and not shown.
func (s *Server) writePageError(w http.ResponseWriter, r *http.Request, err error) {
	status := httpStatus(err)
	msg := err.Error()
	if status == http.StatusInternalServerError {
		s.log.Error("page failed", "path", r.URL.Path, "err", err)
		msg = "internal error (see the server's log)"
	}
	ts, terr := parseTemplates()
	if terr == nil && ts["error"] != nil {
		var buf bytes.Buffer
		p := page{Title: http.StatusText(status), Caller: callerOf(r), Data: msg}
		if ts["error"].ExecuteTemplate(&buf, "layout.html", p) == nil {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.WriteHeader(status)
			_, _ = buf.WriteTo(w)
			return
		}
	}
	http.Error(w, msg, status)
}

// staticHandler serves the embedded static files (CSS, the small script
// that makes pages live), cached for an hour.
func staticHandler() http.HandlerFunc {
	sub, _ := fs.Sub(staticFS, "static")
	fsrv := http.StripPrefix("/static/", http.FileServerFS(sub))
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		fsrv.ServeHTTP(w, r)
	}
}
