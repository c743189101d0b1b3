package web

// pageRoutes registers the dashboards, the shared pages and static files.
func (s *Server) pageRoutes() {}
