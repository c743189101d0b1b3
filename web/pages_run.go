package web

// runPageRoutes registers the run, compare and history pages.
func (s *Server) runPageRoutes() {}
