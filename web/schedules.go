package web

// scheduleRoutes registers the schedules API.
func (s *Server) scheduleRoutes() {}
