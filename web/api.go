package web

// apiRoutes registers the runs, pools, health and metrics API.
func (s *Server) apiRoutes() {}
