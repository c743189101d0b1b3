package client

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/benchrig/benchrig"
)

// The server's error answers come back as benchrig errors with their
// codes and, for bad input, every field error with its file and line.
func TestClientErrors(t *testing.T) {
	answers := map[string]struct {
		status int
		body   string
	}{
		"/api/v1/schedules/bad":     {400, `{"error": {"code": "invalid", "message": "x", "errors": [{"file": "n", "line": 4, "field": "warmup", "message": "expected an integer", "text": "n:4: warmup: expected an integer"}, {"field": "cron", "message": "required", "text": "cron: required"}]}}`},
		"/api/v1/schedules/gone":    {404, `{"error": {"code": "not_found", "message": "schedule gone not found"}}`},
		"/api/v1/schedules/nobody":  {401, `{"error": {"code": "Unauthorized", "message": "this needs a bearer token"}}`},
		"/api/v1/schedules/broken":  {502, `<html>bad gateway</html>`},
		"/api/v1/schedules/s%2F1":   {200, `{"id": "s/1", "cron": "@daily"}`},
		"/api/v1/schedules/nothing": {204, ``},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" {
			t.Errorf("%s: Authorization %q", r.URL, r.Header.Get("Authorization"))
		}
		a := answers[r.URL.EscapedPath()]
		w.WriteHeader(a.status)
		w.Write([]byte(a.body))
	}))
	defer srv.Close()
	c, err := New(srv.URL+"/", "tok", "--server")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	_, err = c.Schedule(ctx, "bad")
	var es benchrig.Errors
	var se *StatusError
	if !errors.As(err, &es) || !errors.As(err, &se) || se.Status != 400 || benchrig.ErrorCode(err) != benchrig.EInvalid ||
		len(es) != 2 || es[0].Error() != "n:4: warmup: expected an integer" || es[1].Error() != "cron: required" {
		t.Errorf("400: %v (%T)", err, err)
	}
	if _, err := c.Schedule(ctx, "gone"); benchrig.ErrorCode(err) != benchrig.ENotFound || err.Error() != "schedule gone not found" {
		t.Errorf("404: %v", err)
	}
	if _, err := c.Schedule(ctx, "nobody"); !errors.As(err, &se) || se.Status != 401 || benchrig.ErrorCode(err) != benchrig.EInvalid {
		t.Errorf("401: %v", err)
	}
	if _, err := c.Schedule(ctx, "broken"); benchrig.ErrorCode(err) != benchrig.EInternal || err.Error() != "502 Bad Gateway" {
		t.Errorf("502 without a JSON body: %v", err)
	}
	if sc, err := c.Schedule(ctx, "s/1"); err != nil || sc.ID != "s/1" {
		t.Errorf("an ID with a slash, escaped: %+v, %v", sc, err)
	}
	if err := c.DeleteSchedule(ctx, "nothing"); err != nil {
		t.Errorf("204: %v", err)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := "http://" + ln.Addr().String()
	ln.Close()
	down, _ := New(addr, "", "--server")
	_, err = down.Schedules(ctx)
	if !IsUnreachable(err) || benchrig.ErrorCode(err) != benchrig.EUnavailable {
		t.Errorf("nobody listening: %v", err)
	}
	for _, u := range []string{"", "127.0.0.1:8080", "ftp://host", "http://"} {
		if _, err := New(u, "", "--server"); benchrig.ErrorCode(err) != benchrig.EInvalid {
			t.Errorf("New(%q) = %v, want EInvalid", u, err)
		}
	}
}
