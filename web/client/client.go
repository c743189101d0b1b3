// Package client talks to a benchrig server's API (package web) for the
// front ends that are not the server: benchrig schedule now, the CI client
// next. It turns the server's answers back into benchrig errors: a 400's
// field errors become benchrig.Errors with their file, line and field, as
// benchrig validate prints them, so a front end prints them unchanged.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
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
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return &benchrig.Error{Code: benchrig.ECancelled, Msg: method + " " + path, Err: ctx.Err()}
		}
		var ue *url.Error // "Get URL: ..." repeats the URL
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return &benchrig.Error{Code: benchrig.EUnavailable, Retryable: true, Err: &UnreachableError{URL: c.base.String(), Err: err}}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return &benchrig.Error{Code: benchrig.EUnavailable, Retryable: true,
			Err: &UnreachableError{URL: c.base.String(), Err: fmt.Errorf("read answer: %w", err)}}
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
