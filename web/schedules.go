package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/benchrig/benchrig"
)

// scheduleRoutes registers the schedules API.
func (s *Server) scheduleRoutes() {
	s.route("GET", "/api/v1/schedules", Read, true, s.listSchedules)
	s.route("POST", "/api/v1/schedules", Submit, true, s.createSchedule)
	s.route("GET", "/api/v1/schedules/{id}", Read, true, s.getSchedule)
	s.route("PATCH", "/api/v1/schedules/{id}", Submit, true, s.patchSchedule)
	s.route("DELETE", "/api/v1/schedules/{id}", Submit, true, s.deleteSchedule)
}

// ScheduleList is the body of GET /api/v1/schedules.
type ScheduleList struct {
	Schedules []benchrig.Schedule `json:"schedules"`
}

// ScheduleRequest is the body of POST /api/v1/schedules: a schedule as
// its author gives it. Enabled is true unless given.
type ScheduleRequest struct {
	Name     string                   `json:"name,omitempty"` // the spec's name unless given
	Cron     string                   `json:"cron"`
	Spec     string                   `json:"spec"`
	TimeZone string                   `json:"time_zone,omitempty"`
	Sets     []string                 `json:"set,omitempty"`
	Labels   map[string]string        `json:"labels,omitempty"`
	Enabled  *bool                    `json:"enabled,omitempty"`
	Overlap  benchrig.ScheduleOverlap `json:"overlap,omitempty"` // skip (the default) or queue
}

// schedules answers 501 when the server has no scheduler, and returns it
// otherwise.
func (s *Server) schedules(w http.ResponseWriter) (Schedules, bool) {
	if s.deps.Schedules == nil {
		writeStatus(w, http.StatusNotImplemented, "not_implemented", "this server runs no schedules")
		return nil, false
	}
	return s.deps.Schedules, true
}

func (s *Server) listSchedules(w http.ResponseWriter, r *http.Request) {
	sch, ok := s.schedules(w)
	if !ok {
		return
	}
	list, err := sch.List(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if list == nil {
		list = []benchrig.Schedule{} // [] rather than null
	}
	writeJSON(w, http.StatusOK, ScheduleList{Schedules: list})
}

func (s *Server) createSchedule(w http.ResponseWriter, r *http.Request) {
	sch, ok := s.schedules(w)
	if !ok {
		return
	}
	var req ScheduleRequest
	if !s.readScheduleJSON(w, r, &req) {
		return
	}
	in := benchrig.Schedule{
		Name: req.Name, Cron: req.Cron, Spec: req.Spec, TimeZone: req.TimeZone, Sets: req.Sets,
		Labels: req.Labels, Enabled: req.Enabled == nil || *req.Enabled, Overlap: req.Overlap,
		By: callerOf(r).Name,
	}
	out, err := sch.Create(r.Context(), in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", s.cfg.BaseURL+"/api/v1/schedules/"+url.PathEscape(out.ID))
	writeJSON(w, http.StatusCreated, out)
}

func (s *Server) getSchedule(w http.ResponseWriter, r *http.Request) {
	sch, ok := s.schedules(w)
	if !ok {
		return
	}
	out, err := sch.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) patchSchedule(w http.ResponseWriter, r *http.Request) {
	sch, ok := s.schedules(w)
	if !ok {
		return
	}
	var p benchrig.SchedulePatch
	if !s.readScheduleJSON(w, r, &p) {
		return
	}
	out, err := sch.Update(r.Context(), r.PathValue("id"), p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) deleteSchedule(w http.ResponseWriter, r *http.Request) {
	sch, ok := s.schedules(w)
	if !ok {
		return
	}
	if err := sch.Delete(r.Context(), r.PathValue("id")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// readScheduleJSON decodes a schedule body into v: 413 when too large,
// 400 naming the field when it is not JSON of v's shape (an unknown field
// is refused, so that a misspelt "timezone" is not silently ignored).
func (s *Server) readScheduleJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	body, ok := s.readBody(w, r)
	if !ok {
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.More() {
		err = errors.New("more than one JSON value")
	}
	if err == nil {
		return true
	}
	bad := &benchrig.Error{Code: benchrig.EInvalid, Field: "body", Msg: "not a schedule as JSON: " + err.Error()}
	var te *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.EOF):
		bad.Msg = `empty: send the schedule as JSON, {"cron": "@every 10m", "spec": "<yaml>"}`
	case errors.As(err, &te) && te.Field != "":
		bad.Field, bad.Msg = te.Field, fmt.Sprintf("%s, not %s", scheduleJSONKind(te.Type.Kind().String()), te.Value)
	}
	s.writeError(w, r, bad)
	return false
}

// scheduleJSONKind names a Go kind as JSON calls it.
func scheduleJSONKind(k string) string {
	switch k {
	case "string":
		return "a string"
	case "slice":
		return "a list"
	case "map", "struct":
		return "an object"
	case "bool":
		return "true or false"
	case "ptr":
		return "a value"
	}
	return "a " + k
}
