package web

// sitePageRoutes registers the runs list, pools, schedules, submit, login
// and shared pages.
func (s *Server) sitePageRoutes() {}
