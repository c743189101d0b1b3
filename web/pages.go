package web

// pageRoutes registers the dashboards and the shared pages: the run,
// compare and history pages (pages_run.go) and the rest of the site
// (pages_site.go: runs list, pools, schedules, submit, login, shares).
func (s *Server) pageRoutes() {
	s.runPageRoutes()
	s.sitePageRoutes()
}
