package elastic

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/benchrig/benchrig"
)

// samplesPage is how many samples one search returns: Elasticsearch's
// default max_result_window, so a page never needs a setting changed; the
// next page continues after the last hit's sort values (search_after).
const samplesPage = 10000

// samplesTimeout bounds one page's search.
const samplesTimeout = 30 * time.Second

// Samples reads back the samples shipped for run runID, of the given kinds
// (all when none), in time order: what the dashboards chart when the
// server ships to Elasticsearch. A run without samples has none: no error.
// A sample's Epoch is not shipped, so it comes back 0.
func (c *Client) Samples(ctx context.Context, runID string, kinds ...benchrig.SampleKind) ([]benchrig.Sample, error) {
	filter := []any{map[string]any{"term": map[string]any{"benchrig.run.id": runID}}}
	if len(kinds) > 0 {
		names := make([]string, len(kinds))
		for i, k := range kinds {
			names[i] = k.String()
		}
		filter = append(filter, map[string]any{"terms": map[string]any{"benchrig.doc": names}})
	}
	q := map[string]any{
		"size":             samplesPage,
		"track_total_hits": false,
		"query":            map[string]any{"bool": map[string]any{"filter": filter}},
		"sort": []any{
			map[string]any{"@timestamp": "asc"},
			map[string]any{"benchrig.node": map[string]any{"order": "asc", "missing": "_first"}},
			map[string]any{"benchrig.trial.ref": map[string]any{"order": "asc", "missing": "_first"}},
			map[string]any{"benchrig.doc": "asc"},
			map[string]any{"benchrig.seq": map[string]any{"order": "asc", "missing": "_first"}},
		},
	}
	var out []benchrig.Sample
	for {
		body, err := json.Marshal(q)
		if err != nil {
			return nil, fmt.Errorf("samples of run %s: %w", runID, err)
		}
		var res struct {
			Hits struct {
				Hits []struct {
					Source doc   `json:"_source"`
					Sort   []any `json:"sort"`
				} `json:"hits"`
			} `json:"hits"`
		}
		if err := c.search(ctx, "/"+MetricsPrefix+"-*/_search?ignore_unavailable=true&allow_no_indices=true", body, &res); err != nil {
			return nil, fmt.Errorf("samples of run %s: %w", runID, err)
		}
		hits := res.Hits.Hits
		for i := range hits {
			out = append(out, sampleOf(&hits[i].Source))
		}
		if len(hits) < samplesPage {
			return out, nil
		}
		q["search_after"] = hits[len(hits)-1].Sort
	}
}

// search POSTs a query and decodes the answer into out.
func (c *Client) search(ctx context.Context, path string, body []byte, out any) error {
	ctx, cancel := context.WithTimeout(ctx, samplesTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := c.es.Perform(req)
	if err != nil {
		return unavailable("POST "+path, err)
	}
	defer res.Body.Close()
	b, err := readAll(res.Body, 1<<30)
	if err != nil {
		return unavailable("POST "+path, err)
	}
	if res.StatusCode >= 300 {
		return errStatus("POST "+path, res.StatusCode, b)
	}
	return json.Unmarshal(b, out)
}

// sampleOf is the sample a document was made of (sampleDoc's inverse,
// without the rates the shipper derived).
func sampleOf(d *doc) benchrig.Sample {
	b := &d.Benchrig
	s := benchrig.Sample{Time: d.Timestamp, Run: b.Run.ID, Node: b.Node, Seq: b.Seq, Final: b.Final,
		Params: b.Params, Cgroup: b.Cgroup, Error: b.Error}
	_ = s.Kind.UnmarshalText([]byte(b.Doc)) // a kind this version does not know stays 0
	if d.Host != nil {
		s.Arch = d.Host.Architecture
	}
	if b.Trial != nil {
		s.Trial = &benchrig.TrialRef{Run: b.Run.ID, Case: b.Case, Rep: b.Trial.Rep, Attempt: b.Trial.Attempt}
	}
	if d.Container != nil {
		s.ContainerID, s.ContainerName = d.Container.ID, d.Container.Name
	}
	if b.HostM != nil {
		h := b.HostM.HostSample
		s.Host, s.GPUs = &h, b.HostM.GPUs
	}
	if b.Collector != nil {
		s.Collector = &benchrig.CollectorSample{CollectorCost: *b.Collector}
	}
	return s
}
