package web

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/benchrig/benchrig"
)

// sitePageRoutes registers the runs list, pools, schedules, submit, login
// and shared pages.
func (s *Server) sitePageRoutes() {
	s.route("GET", "/{$}", Public, false, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/runs", http.StatusSeeOther)
	})
	s.route("GET", "/runs", Read, false, s.runsPage)
	s.route("GET", "/pools", Read, false, s.poolsPage)
	s.route("GET", "/schedules", Read, false, s.schedulesPage)
	s.route("GET", "/submit", Read, false, s.submitPage)
	s.route("GET", "/login", Public, false, s.loginPage)
	s.route("POST", "/login", Public, false, s.login)
	s.route("POST", "/logout", Public, false, s.logout)
	s.shareRoutes()
	// Every other path: a 404 page that carries the security headers too.
	s.route("GET", "/", Public, false, func(w http.ResponseWriter, r *http.Request) {
		s.writePageError(w, r, benchrig.Errorf(benchrig.ENotFound, "no page at %s", r.URL.Path))
	})
}

// runsPollSeconds is how often the runs list asks for its rows again
// while a run on it is queued or running: often enough to follow a run's
// status, rarely enough that a page left open costs the server nothing.
const runsPollSeconds = 3

// runsData is the runs list page.
type runsData struct {
	Filter   runsFilter
	Statuses []string
	Rows     []runRow
	Next     string // the URL of the next (older) page; "" on the last
	First    string // the URL of the first page; "" on it
	Poll     string // the URL of the rows to poll while a run is active; "" when none is
	PollSecs int
}

// runsFilter is the filter form's values, as given.
type runsFilter struct {
	Spec, Status, Arch, Node, Label string
}

// runRow is one run of the list, ready to show.
type runRow struct {
	ID, URL      string
	Spec         string
	Status       string
	When         string // relative: "5 min ago"
	WhenFull     string // absolute, UTC
	Took         string // how long it ran; "" while it runs
	Nodes        string // "n1 (amd64), n2 (arm64)"
	Verdict      string
	VerdictClass string // good, bad, warn or ""
	Active       bool   // queued or running: the list follows it
	Gate         string // the regression gate's verdict; "" when the run was not gated
	GateClass    string // bad, warn, good or muted
	GateTitle    string // the gate's summary
	Confirms     string // the run whose suspected regression this run re-ran
}

// runsPage is GET /runs: the runs, newest first, filtered by the GET form
// and paged by cursor. ?part=rows answers only the table's rows, which
// app.js fetches again every few seconds while a run on the page is
// queued or running.
func (s *Server) runsPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	fv := runsFilter{Spec: q.Get("spec"), Status: q.Get("status"), Arch: q.Get("arch"), Node: q.Get("node"), Label: q.Get("label")}
	f := benchrig.RunFilter{Spec: fv.Spec, Arch: fv.Arch, Node: fv.Node, Cursor: q.Get("cursor"), Limit: 50}
	if fv.Status != "" {
		f.Status = []benchrig.RunStatus{benchrig.RunStatus(fv.Status)}
	}
	labels, err := parseLabels(fv.Label)
	if err != nil {
		s.writePageError(w, r, err)
		return
	}
	f.Labels = labels
	if s.deps.Store == nil {
		s.writePageError(w, r, benchrig.Errorf(benchrig.EUnavailable, "the server has no run store"))
		return
	}
	pg, err := s.deps.Store.ListRuns(r.Context(), f)
	if err != nil {
		s.writePageError(w, r, err)
		return
	}
	d := runsData{Filter: fv, Statuses: runStatusNames(), PollSecs: runsPollSeconds}
	now := s.deps.Now()
	for _, sum := range pg.Runs {
		d.Rows = append(d.Rows, runRowOf(sum, now))
	}
	base := url.Values{}
	for k, v := range map[string]string{"spec": fv.Spec, "status": fv.Status, "arch": fv.Arch, "node": fv.Node, "label": fv.Label} {
		if v != "" {
			base.Set(k, v)
		}
	}
	if pg.Next != "" {
		nq := cloneValues(base)
		nq.Set("cursor", pg.Next)
		d.Next = "/runs?" + nq.Encode()
	}
	if f.Cursor != "" {
		d.First = "/runs"
		if len(base) > 0 {
			d.First += "?" + base.Encode()
		}
	}
	if slices.ContainsFunc(d.Rows, func(r runRow) bool { return r.Active }) {
		pq := cloneValues(base)
		if f.Cursor != "" {
			pq.Set("cursor", f.Cursor)
		}
		pq.Set("part", "rows")
		d.Poll = "/runs?" + pq.Encode()
	}
	if q.Get("part") == "rows" {
		s.renderPart(w, r, "runs", "rows", page{Data: d, Caller: callerOf(r)})
		return
	}
	s.render(w, r, http.StatusOK, "runs", page{Title: "Runs", Nav: "runs", Data: d})
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// runStatusNames are the statuses the filter offers: queued (a server's
// runs waiting for a slot) and every status a run records.
func runStatusNames() []string {
	out := []string{string(benchrig.RunQueued)}
	for _, st := range benchrig.RunStatuses {
		if st != benchrig.RunQueued {
			out = append(out, string(st))
		}
	}
	return out
}

// parseLabels reads the label filter: "k=v", several separated by commas.
func parseLabels(s string) (map[string]string, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	out := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok || k == "" {
			return nil, &benchrig.Error{Code: benchrig.EInvalid, Field: "label",
				Msg: fmt.Sprintf("%q is not key=value (several: k1=v1,k2=v2)", strings.TrimSpace(kv))}
		}
		out[k] = v
	}
	return out, nil
}

// runRowOf shows one listed run at now.
func runRowOf(sum benchrig.RunSummary, now time.Time) runRow {
	r := sum.Run
	row := runRow{ID: r.ID, URL: "/runs/" + url.PathEscape(r.ID), Spec: r.SpecName, Status: string(r.Status),
		Nodes: runNodes(&r)}
	if !r.Started.IsZero() {
		row.When = ago(now.Sub(r.Started))
		row.WhenFull = r.Started.UTC().Format("2006-01-02 15:04:05 UTC")
		if !r.Finished.IsZero() {
			row.Took = benchrig.FormatDuration(r.Finished.Sub(r.Started).Round(time.Second))
		}
	}
	measured := sum.TrialCount - sum.WarmupCount
	trials := plural(measured, "trial")
	switch r.Status {
	case benchrig.RunQueued:
		row.Active = true
		row.Verdict = "waiting for a slot on its pool"
	case benchrig.RunRunning:
		row.Active = true
		row.Verdict = trials + " so far"
		if sum.FailedCount > 0 {
			row.Verdict += fmt.Sprintf(", %d failed", sum.FailedCount)
			row.VerdictClass = "bad"
		}
	case benchrig.RunFinished:
		row.Verdict = trials + ", none failed"
		row.VerdictClass = "good"
		if measured == 0 {
			row.Verdict = "no trials ran"
			row.VerdictClass = "warn"
		}
	case benchrig.RunFailed:
		row.Verdict = fmt.Sprintf("%d of %s failed", sum.FailedCount, trials)
		row.VerdictClass = "bad"
	case benchrig.RunCancelled:
		row.Verdict = "cancelled after " + trials
		row.VerdictClass = "warn"
	case benchrig.RunInterrupted:
		row.Verdict = "interrupted after " + trials + " (benchrig runs resume)"
		row.VerdictClass = "warn"
	default:
		row.Verdict = trials
	}
	if g := r.Gate; g != nil {
		row.Gate, row.GateClass, row.GateTitle = string(g.Verdict), gateClass(g.Verdict), g.Summary
	}
	row.Confirms = r.Labels[benchrig.LabelConfirms]
	if len(r.Warnings) > 0 {
		row.Verdict += "; " + plural(len(r.Warnings), "warning")
		if row.VerdictClass == "good" {
			row.VerdictClass = "warn"
		}
	}
	return row
}

// runNodes names where a run ran: its nodes with their architectures, or
// the host of a local run.
func runNodes(r *benchrig.Run) string {
	var parts []string
	seen := map[string]bool{}
	for _, n := range r.Nodes {
		if seen[n.Name] {
			continue
		}
		seen[n.Name] = true
		parts = append(parts, fmt.Sprintf("%s (%s)", n.Name, n.Arch))
	}
	if len(parts) == 0 {
		pn := placementNodes(r)
		for _, id := range benchrig.SortedKeys(pn) {
			parts = append(parts, fmt.Sprintf("%s (%s)", id, pn[id]))
		}
	}
	if len(parts) == 0 && r.Fingerprint.Hostname != "" {
		parts = append(parts, fmt.Sprintf("%s (%s)", r.Fingerprint.Hostname, r.Fingerprint.Arch))
	}
	return strings.Join(parts, ", ")
}

// placementNodes is the nodes a run's cases were planned on, with their
// architectures: a queued or starting run has placements before facts.
func placementNodes(r *benchrig.Run) map[string]string {
	out := map[string]string{}
	for _, p := range r.Placements {
		if p.Node != "" {
			out[p.Node] = p.Arch
		}
	}
	return out
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// ago says how long ago d was, roughly: what a list needs at a glance
// (the exact time is in the row's title).
func ago(d time.Duration) string {
	switch {
	case d < 0:
		return "just now"
	case d < time.Minute:
		return fmt.Sprintf("%d s ago", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h ago", int(d.Hours()))
	}
	return fmt.Sprintf("%d days ago", int(d.Hours()/24))
}

// poolsData is the pools page.
type poolsData struct {
	Configured bool
	Error      string
	Queue      *benchrig.QueueStats
	Pools      []poolView
}

type poolView struct {
	Name    string
	Limit   int
	Running []runLink
	Queued  int
	Policy  []string // what specs may ask of its nodes, in words
	Nodes   []nodeView
	Swarm   string // the manager of a pool backed by a Swarm cluster
}

type runLink struct{ ID, URL string }

type nodeView struct {
	Name, Host, Arch, Platform string
	CPUs, Memory               string
	Accelerators               string // "" when not looked for
	Healthy                    bool
	Error                      string
	Checked                    string
	Running                    []string // trial refs
	// Availability is a Swarm node's when it takes no trials (pause,
	// drain); "" otherwise.
	Availability string
}

// poolsPage is GET /pools: every pool's nodes with their facts and
// health, what runs where, the limits and the queue. ?refresh=1 contacts
// the nodes first.
func (s *Server) poolsPage(w http.ResponseWriter, r *http.Request) {
	d := poolsData{Configured: s.deps.Pools != nil}
	if s.deps.Runs != nil {
		st := s.deps.Runs.Stats()
		d.Queue = &st
	}
	if d.Configured {
		pools, err := s.deps.Pools.Pools(r.Context(), r.URL.Query().Get("refresh") != "")
		if err != nil {
			// The page still shows the queue; the error says why no pools.
			d.Error = err.Error()
			if httpStatus(err) == http.StatusInternalServerError {
				s.log.Error("pools page", "err", err)
				d.Error = "the pools could not be read (see the server's log)"
			}
		}
		for _, p := range pools {
			d.Pools = append(d.Pools, poolViewOf(p, s.deps.Now()))
		}
	}
	s.render(w, r, http.StatusOK, "pools", page{Title: "Pools", Nav: "pools", Data: d})
}

func poolViewOf(p benchrig.PoolStatus, now time.Time) poolView {
	v := poolView{Name: p.Name, Limit: p.Limit, Queued: p.Queued, Swarm: p.Swarm}
	for _, id := range p.Running {
		v.Running = append(v.Running, runLink{ID: id, URL: "/runs/" + url.PathEscape(id)})
	}
	pol := p.Policy
	if pol.Privileged {
		v.Policy = append(v.Policy, "privileged containers")
	}
	if len(pol.HostMounts) > 0 {
		how := "read-only"
		if pol.HostMountsRW {
			how = "read-write"
		}
		v.Policy = append(v.Policy, fmt.Sprintf("host mounts (%s) under %s", how, strings.Join(pol.HostMounts, ", ")))
	}
	if pol.Devices {
		v.Policy = append(v.Policy, "devices")
	}
	if pol.HostNetwork {
		v.Policy = append(v.Policy, "the host's network")
	}
	for _, n := range p.Nodes {
		nv := nodeView{Name: n.Name, Host: n.Host, Healthy: n.Healthy, Error: n.Error, Running: n.Running}
		if n.Availability != "" && n.Availability != "active" {
			nv.Availability = n.Availability
		}
		if f := n.Facts; f != nil && f.SwarmNodeID != "" {
			nv.Host = "swarm node " + f.SwarmNodeID
		}
		if !n.Checked.IsZero() {
			nv.Checked = ago(now.Sub(n.Checked))
		}
		if f := n.Facts; f != nil {
			nv.Arch = f.Arch
			if f.EngineArch != "" && f.EngineArch != f.Arch {
				nv.Arch += " (emulated on " + f.EngineArch + ")"
			}
			nv.Platform = strings.TrimSpace(f.OS + " " + f.Kernel)
			if f.CPUs > 0 {
				nv.CPUs = fmt.Sprint(f.CPUs)
			}
			if f.MemoryBytes > 0 {
				nv.Memory = benchrig.FormatBytes(f.MemoryBytes)
			}
			if f.Accelerators != nil {
				nv.Accelerators = f.Accelerators.String()
			}
		}
		v.Nodes = append(v.Nodes, nv)
	}
	return v
}

// schedulesData is the schedules page.
type schedulesData struct {
	Configured bool
	Schedules  []scheduleView
}

type scheduleView struct {
	ID, Name, Cron, TimeZone string
	Enabled                  bool
	Overlap                  string
	LastRun                  *runLink
	LastTime                 string
	Next                     string
	Skips                    []skipView // the latest skipped times, newest first
}

type skipView struct{ Time, Reason string }

// scheduleSkipsShown is how many of a schedule's latest skipped times the
// page lists: enough to see a pattern, few enough to keep the table short.
const scheduleSkipsShown = 3

// schedulesPage is GET /schedules: each schedule's cron and time zone,
// whether it is on, its last run and next time, and why it skipped times.
func (s *Server) schedulesPage(w http.ResponseWriter, r *http.Request) {
	d := schedulesData{Configured: s.deps.Schedules != nil}
	if d.Configured {
		list, err := s.deps.Schedules.List(r.Context())
		if err != nil {
			s.writePageError(w, r, err)
			return
		}
		for _, sc := range list {
			d.Schedules = append(d.Schedules, scheduleViewOf(sc))
		}
	}
	s.render(w, r, http.StatusOK, "schedules", page{Title: "Schedules", Nav: "schedules", Data: d})
}

func scheduleViewOf(sc benchrig.Schedule) scheduleView {
	tz := sc.TimeZone
	if tz == "" {
		tz = "UTC"
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		loc = time.UTC
	}
	at := func(t time.Time) string { return t.In(loc).Format("2006-01-02 15:04 MST") }
	v := scheduleView{ID: sc.ID, Name: sc.Name, Cron: sc.Cron, TimeZone: tz, Enabled: sc.Enabled, Overlap: string(sc.Overlap)}
	if v.Overlap == "" {
		v.Overlap = string(benchrig.OverlapSkip)
	}
	if sc.LastRun != "" {
		v.LastRun = &runLink{ID: sc.LastRun, URL: "/runs/" + url.PathEscape(sc.LastRun)}
	}
	if !sc.LastTime.IsZero() {
		v.LastTime = at(sc.LastTime)
	}
	if !sc.Next.IsZero() {
		v.Next = at(sc.Next)
	}
	for _, f := range sc.History {
		if f.Skipped == "" {
			continue
		}
		v.Skips = append(v.Skips, skipView{Time: at(f.Time), Reason: f.Skipped})
		if len(v.Skips) == scheduleSkipsShown {
			break
		}
	}
	return v
}
