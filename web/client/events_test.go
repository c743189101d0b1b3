package client

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"

	"github.com/benchrig/benchrig"
)

// Events reads the server-sent events in order, opens a stream that
// broke again from the last event it saw (Last-Event-ID), and stops at
// the server's end; 401 is an answer, not retried.
func TestEventsResumeAfterABrokenStream(t *testing.T) {
	var mu sync.Mutex
	var asked []string // the Last-Event-ID of each connection
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"error": {"code": "unauthorized", "message": "this needs a bearer token"}}`)
			return
		}
		if r.URL.Path != "/api/v1/runs/r1/events" {
			t.Errorf("path %s", r.URL.Path)
		}
		mu.Lock()
		asked = append(asked, r.Header.Get("Last-Event-ID"))
		first := len(asked) == 1
		mu.Unlock()
		after, _ := strconv.Atoi(r.Header.Get("Last-Event-ID"))
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "retry: 2000\n\n: keep-alive\n\n")
		ev := func(seq int, kind string) {
			fmt.Fprintf(w, "id: %d\nevent: %s\ndata: {\"run\": \"r1\", \"seq\": %d, \"kind\": %q, \"msg\": \"m%d\"}\n\n", seq, kind, seq, kind, seq)
		}
		if first {
			ev(1, "run-started")
			ev(2, "trial-finished")
			return // the connection breaks
		}
		for seq := after + 1; seq <= 4; seq++ {
			kind := "trial-finished"
			if seq == 3 {
				kind = "run-finished"
			}
			if seq == 4 {
				kind = "gate"
			}
			ev(seq, kind)
		}
		fmt.Fprint(w, "event: end\ndata: {}\n\n")
	}))
	defer srv.Close()
	c, _ := New(srv.URL, "tok", "--server")
	var got []string
	err := c.Events(context.Background(), "r1", 0, func(e benchrig.Event) {
		got = append(got, fmt.Sprintf("%d %s %s", e.Seq, e.Kind, e.Msg))
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"1 run-started m1", "2 trial-finished m2", "3 run-finished m3", "4 gate m4"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("events %q, want %q", got, want)
	}
	if fmt.Sprint(asked) != fmt.Sprint([]string{"", "2"}) {
		t.Errorf("connections asked after %q, want the second after event 2", asked)
	}

	nobody, _ := New(srv.URL, "", "--server")
	err = nobody.Events(context.Background(), "r1", 0, func(benchrig.Event) {})
	if benchrig.ErrorCode(err) != benchrig.EInvalid || len(asked) != 2 {
		t.Errorf("401: %v after %d connections, want EInvalid at once", err, len(asked))
	}
}
