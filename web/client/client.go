// Package client talks to a benchrig server's API (package web) for the
// front ends that are not the server: benchrig schedule and benchrig
// submit (the CI client: submit, follow the events, read the reports). It turns the server's answers back into benchrig errors: a 400's
// field errors become benchrig.Errors with their file, line and field, as
// benchrig validate prints them, so a front end prints them unchanged.
package client

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/web"
)

// DefaultTimeout bounds one request: the API answers from its store in
// milliseconds; a server that takes this long is stuck.
const DefaultTimeout = 30 * time.Second

// maxAnswer bounds what is read of an answer: a list of schedules with
// their specs and histories is well under this.
const maxAnswer = 64 << 20

// Client is a benchrig server's API. Safe for concurrent use.
type Client struct {
	base  *url.URL
	token string
	http  *http.Client
}

// New makes a client of the server at baseURL ("http://127.0.0.1:8080")
// sending token as its bearer token ("" sends none). A URL that is not
// http or https is EInvalid naming field.
func New(baseURL, token, field string) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, &benchrig.Error{Code: benchrig.EInvalid, Field: field,
			Msg: fmt.Sprintf("%q is not a server URL (http://HOST:PORT)", baseURL)}
	}
	return &Client{base: u, token: token, http: &http.Client{Timeout: DefaultTimeout}}, nil
}

// URL is the server's base URL.
func (c *Client) URL() string { return c.base.String() }

// UnreachableError is a request that got no answer: the server is down,
// the address is wrong, or the connection broke. It is wrapped in a
// benchrig.Error with code EUnavailable (retryable).
type UnreachableError struct {
	URL string
	Err error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("cannot reach the benchrig server at %s (is benchrig serve running there?): %v", e.URL, e.Err)
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// StatusError is an answer with an error status. Err is its benchrig
// error: benchrig.Errors for a 400 with field errors, a *benchrig.Error
// otherwise (400, 401, 403 and 413 are EInvalid; 404 ENotFound; 503
// EUnavailable; others EInternal).
type StatusError struct {
	Status int // the HTTP status
	Code   string
	Err    error
}

func (e *StatusError) Error() string { return e.Err.Error() }
func (e *StatusError) Unwrap() error { return e.Err }

// errorBody is the body of every API error (web.apiError).
type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Errors  []struct {
			File    string `json:"file"`
			Line    int    `json:"line"`
			Field   string `json:"field"`
			Message string `json:"message"`
		} `json:"errors"`
	} `json:"error"`
}

// do sends a request with in as its JSON body (nil: none) and decodes a
// 2xx answer into out (nil: ignored).
func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base.String()+path, body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.send(ctx, req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return c.unreachable(fmt.Errorf("read answer: %w", err))
	}
	if resp.StatusCode >= 300 {
		return statusError(resp, raw)
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
	}
	return nil
}

func statusError(resp *http.Response, raw []byte) error {
	var b errorBody
	msg := resp.Status
	if json.Unmarshal(raw, &b) == nil && b.Error.Message != "" {
		msg = b.Error.Message
	}
	code := benchrig.EInternal
	switch resp.StatusCode {
	case http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusRequestEntityTooLarge:
		code = benchrig.EInvalid
	case http.StatusNotFound:
		code = benchrig.ENotFound
	case http.StatusServiceUnavailable:
		code = benchrig.EUnavailable
	}
	se := &StatusError{Status: resp.StatusCode, Code: b.Error.Code, Err: &benchrig.Error{Code: code, Msg: msg}}
	if len(b.Error.Errors) > 0 {
		es := make(benchrig.Errors, len(b.Error.Errors))
		for i, f := range b.Error.Errors {
			es[i] = &benchrig.Error{Code: code, File: f.File, Line: f.Line, Field: f.Field, Msg: f.Message}
		}
		se.Err = es
	}
	return se
}

func schedulePath(id string) string { return "/api/v1/schedules/" + url.PathEscape(id) }

// Schedules lists the server's schedules.
func (c *Client) Schedules(ctx context.Context) ([]benchrig.Schedule, error) {
	var out web.ScheduleList
	if err := c.do(ctx, "GET", "/api/v1/schedules", nil, &out); err != nil {
		return nil, err
	}
	return out.Schedules, nil
}

// Schedule reads one schedule.
func (c *Client) Schedule(ctx context.Context, id string) (*benchrig.Schedule, error) {
	var out benchrig.Schedule
	if err := c.do(ctx, "GET", schedulePath(id), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// CreateSchedule creates a schedule; the server validates it.
func (c *Client) CreateSchedule(ctx context.Context, req web.ScheduleRequest) (*benchrig.Schedule, error) {
	var out benchrig.Schedule
	if err := c.do(ctx, "POST", "/api/v1/schedules", req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// UpdateSchedule changes the fields p sets.
func (c *Client) UpdateSchedule(ctx context.Context, id string, p benchrig.SchedulePatch) (*benchrig.Schedule, error) {
	var out benchrig.Schedule
	if err := c.do(ctx, "PATCH", schedulePath(id), p, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteSchedule removes a schedule; its runs stay.
func (c *Client) DeleteSchedule(ctx context.Context, id string) error {
	return c.do(ctx, "DELETE", schedulePath(id), nil, nil)
}

// IsUnreachable reports whether err is a request that got no answer.
func IsUnreachable(err error) bool {
	var u *UnreachableError
	return errors.As(err, &u)
}

func runPath(id string) string { return "/api/v1/runs/" + url.PathEscape(id) }

// SubmitRun validates and queues a spec on the server; the answer says
// where to follow the run.
func (c *Client) SubmitRun(ctx context.Context, req web.SubmitRequest) (*web.Submitted, error) {
	var out web.Submitted
	if err := c.do(ctx, "POST", "/api/v1/runs", req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Run is what a client reads of a run's JSON (GET /api/v1/runs/ID,
// reports/SCHEMA.md) to say how it ended.
type Run struct {
	ID     string             `json:"run_id"`
	Status benchrig.RunStatus `json:"status"`
	Spec   struct {
		Name string `json:"name"`
	} `json:"spec"`
	Cases []struct {
		ID      string `json:"id"`
		Skipped string `json:"skipped"`
		Trials  []struct {
			Warmup bool `json:"warmup"`
			Failed bool `json:"failed"`
		} `json:"trials"`
	} `json:"cases"`
	RunWarnings []string             `json:"run_warnings"`
	Gate        *benchrig.GateResult `json:"gate"`
}

// GetRun reads a run's JSON.
func (c *Client) GetRun(ctx context.Context, id string) (*Run, error) {
	var out Run
	if err := c.do(ctx, "GET", runPath(id), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// The reports the server renders of a run, as RunReport's kind.
const (
	ReportText     = "report"     // the text report and the gate's verdict
	ReportJUnit    = "junit"      // JUnit XML
	ReportMarkdown = "summary.md" // the --md summary
)

// RunReport reads one of a run's rendered reports.
func (c *Client) RunReport(ctx context.Context, id, kind string) ([]byte, error) {
	return c.raw(ctx, runPath(id)+"/"+kind)
}

// RunJSON reads a run's JSON as the server wrote it (reports/SCHEMA.md).
func (c *Client) RunJSON(ctx context.Context, id string) ([]byte, error) {
	return c.raw(ctx, runPath(id))
}

// CancelRun cancels a queued or running run.
func (c *Client) CancelRun(ctx context.Context, id string) error {
	return c.do(ctx, "POST", runPath(id)+"/cancel", nil, nil)
}

// raw GETs path and returns a 2xx answer's body as it is.
func (c *Client) raw(ctx context.Context, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", c.base.String()+path, nil)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", path, err)
	}
	resp, err := c.send(ctx, req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return nil, c.unreachable(fmt.Errorf("read answer: %w", err))
	}
	if resp.StatusCode >= 300 {
		return nil, statusError(resp, raw)
	}
	return raw, nil
}

// send sends req with the token through hc (c.http when nil), turning a
// request that got no answer into EUnavailable (or ECancelled when ctx
// ended).
func (c *Client) send(ctx context.Context, req *http.Request, hc ...*http.Client) (*http.Response, error) {
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	h := c.http
	if len(hc) > 0 {
		h = hc[0]
	}
	resp, err := h.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, &benchrig.Error{Code: benchrig.ECancelled, Msg: req.Method + " " + req.URL.Path, Err: ctx.Err()}
		}
		var ue *url.Error // "Get URL: ..." repeats the URL
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, c.unreachable(err)
	}
	return resp, nil
}

func (c *Client) unreachable(err error) error {
	return &benchrig.Error{Code: benchrig.EUnavailable, Retryable: true, Err: &UnreachableError{URL: c.base.String(), Err: err}}
}

// streamIdle is how long an event stream may be silent before it is taken
// as broken and opened again: the server sends a comment every 15 s.
var streamIdle = 45 * time.Second

// streamRetries is how many times in a row Events opens a stream again
// that broke without a new event; a stream that delivers resets it.
const streamRetries = 5

// Events follows a run's events (GET /api/v1/runs/ID/events, server-sent
// events) from after, calling on with each, in order, until the server
// says the run ended (for a run that asked for a gate: after the gate's
// verdict), ctx ends, or the stream cannot be opened again. A stream that
// breaks is opened again from the last event seen (Last-Event-ID), so
// none is missed or repeated.
func (c *Client) Events(ctx context.Context, id string, after int64, on func(benchrig.Event)) error {
	stream := &http.Client{Transport: c.http.Transport} // no overall timeout: a run takes what it takes
	var lastErr error
	for tries := 0; tries <= streamRetries; tries++ {
		if tries > 0 {
			select {
			case <-time.After(time.Duration(tries) * 500 * time.Millisecond):
			case <-ctx.Done():
				return &benchrig.Error{Code: benchrig.ECancelled, Msg: "follow run " + id, Err: ctx.Err()}
			}
		}
		ended, got, err := c.followOnce(ctx, stream, id, &after, on)
		switch {
		case ended:
			return nil
		case ctx.Err() != nil:
			return &benchrig.Error{Code: benchrig.ECancelled, Msg: "follow run " + id, Err: ctx.Err()}
		case err != nil && !IsUnreachable(err) && benchrig.ErrorCode(err) != benchrig.EUnavailable:
			return err // an answer: 401, 404
		}
		if got {
			tries = 0
		}
		lastErr = err
	}
	if lastErr == nil {
		lastErr = c.unreachable(fmt.Errorf("the event stream of run %s kept closing before the run ended", id))
	}
	return lastErr
}

// followOnce reads one event stream: ended when the server said end, got
// when at least one event came.
func (c *Client) followOnce(ctx context.Context, hc *http.Client, id string, after *int64, on func(benchrig.Event)) (ended, got bool, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	path := runPath(id) + "/events"
	req, err := http.NewRequestWithContext(ctx, "GET", c.base.String()+path, nil)
	if err != nil {
		return false, false, fmt.Errorf("GET %s: %w", path, err)
	}
	req.Header.Set("Accept", "text/event-stream")
	if *after > 0 {
		req.Header.Set("Last-Event-ID", strconv.FormatInt(*after, 10))
	}
	resp, err := c.send(ctx, req, hc)
	if err != nil {
		return false, false, err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
		return false, false, statusError(resp, raw)
	}
	// A silent stream is a broken one: the watchdog ends the request.
	idle := time.AfterFunc(streamIdle, cancel)
	defer idle.Stop()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	var kind string
	var data strings.Builder
	for sc.Scan() {
		idle.Reset(streamIdle)
		line := sc.Text()
		if line != "" {
			field, value, _ := strings.Cut(line, ":")
			value = strings.TrimPrefix(value, " ")
			switch field {
			case "event":
				kind = value
			case "data":
				if data.Len() > 0 {
					data.WriteByte('\n')
				}
				data.WriteString(value)
			}
			continue
		}
		// A blank line dispatches the event.
		k, d := kind, data.String()
		kind = ""
		data.Reset()
		switch {
		case k == "end":
			return true, got, nil
		case d == "":
			continue
		}
		var ev benchrig.Event
		if err := json.Unmarshal([]byte(d), &ev); err != nil {
			return false, got, fmt.Errorf("run %s: event %q: %w", id, k, err)
		}
		if ev.Seq <= *after {
			continue
		}
		*after = ev.Seq
		got = true
		on(ev)
	}
	err = sc.Err()
	if err == nil {
		err = io.ErrUnexpectedEOF
	}
	return false, got, c.unreachable(fmt.Errorf("event stream of run %s: %w", id, err))
}
