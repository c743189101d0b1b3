package web

import (
	"net/http"

	"github.com/benchrig/benchrig"
)

// runPageRoutes registers the run, compare and history pages.
func (s *Server) runPageRoutes() {}

// runPage renders run's page: the full page, or with ?part=live only its
// live part (what changes while the run goes). public is a shared page,
// served without a token (the site helper's share route calls this).
func (s *Server) runPage(w http.ResponseWriter, r *http.Request, run *benchrig.Run, public bool) {
	http.Error(w, "not implemented yet", http.StatusNotImplemented)
}

// comparePage renders the comparison of run b against run a (a is the
// baseline). public is a shared comparison, served without a token.
func (s *Server) comparePage(w http.ResponseWriter, r *http.Request, a, b *benchrig.Run, public bool) {
	http.Error(w, "not implemented yet", http.StatusNotImplemented)
}
