package elastic

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/benchrig/benchrig"
)

// Template is one of the index templates benchrig installs.
type Template struct {
	Name    string // e.g. benchrig-metrics
	Pattern string // e.g. benchrig-metrics-*
}

// Templates are benchrig's index templates, one per index family.
var Templates = []Template{
	{MetricsPrefix, MetricsPrefix + "-*"},
	{ResultsPrefix, ResultsPrefix + "-*"},
	{EventsPrefix, EventsPrefix + "-*"},
}

// templatePriority is above the built-in templates' (100 and below), so
// ours win for our patterns.
const templatePriority = 200

var (
	mappingJSON  = mustJSON(mapping())
	templateHash = func() string {
		h := sha256.Sum256(mappingJSON)
		return hex.EncodeToString(h[:8])
	}()
)

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// mapping is the explicit mapping of doc: dynamic strict at the root, so
// a field that is not mapped is refused (and lands in the rejects file)
// instead of being guessed; only benchrig.params.* (keywords) and
// benchrig.metrics.* (doubles) take new names, through dynamic templates
// restricted to those paths. The templates' _meta.benchrig_mapping is a
// hash of it, so Check can tell an outdated template.
func mapping() map[string]any {
	m := objectMapping(reflect.TypeOf(doc{}), "")
	m["dynamic"] = "strict"
	m["dynamic_templates"] = []any{
		map[string]any{"params": map[string]any{
			"path_match": "benchrig.params.*",
			"mapping":    map[string]any{"type": "keyword", "ignore_above": 1024},
		}},
		map[string]any{"metrics": map[string]any{
			"path_match": "benchrig.metrics.*",
			"mapping":    map[string]any{"type": "double"},
		}},
	}
	return m
}

var timeType = reflect.TypeOf(time.Time{})
var durationType = reflect.TypeOf(time.Duration(0))

func objectMapping(t reflect.Type, path string) map[string]any {
	props := map[string]any{}
	addFields(t, path, props)
	return map[string]any{"properties": props}
}

func addFields(t reflect.Type, path string, props map[string]any) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			addFields(ft, path, props)
			continue
		}
		if name == "" {
			name = f.Name
		}
		props[name] = fieldMapping(f.Type, f.Tag.Get("es"), path+name)
	}
}

func fieldMapping(t reflect.Type, es, path string) map[string]any {
	switch es {
	case "text":
		return map[string]any{"type": "text"}
	case "params", "metrics":
		// New names allowed here only, typed by the dynamic templates.
		return map[string]any{"type": "object", "dynamic": true}
	}
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	switch {
	case t == timeType:
		return map[string]any{"type": "date"}
	case t == durationType:
		return map[string]any{"type": "long"}
	}
	switch t.Kind() {
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "long"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "double"}
	case reflect.String:
		return map[string]any{"type": "keyword", "ignore_above": 1024}
	case reflect.Struct:
		return objectMapping(t, path+".")
	}
	panic(fmt.Sprintf("elastic: no mapping for %s (%s)", path, t))
}

func templateBody(t Template) []byte {
	return mustJSON(map[string]any{
		"index_patterns": []string{t.Pattern},
		"priority":       templatePriority,
		"_meta":          map[string]any{"managed_by": "benchrig", "benchrig_mapping": templateHash},
		"template": map[string]any{
			"settings": map[string]any{
				"number_of_shards": 1,
				// Green on one node, one replica on a cluster.
				"auto_expand_replicas": "0-1",
				// Searchable within 5 s instead of 1 s: fewer, larger
				// segments while samples stream in (Elastic's advice for
				// ingest-heavy indices); a dashboard refreshes no faster.
				"refresh_interval": "5s",
			},
			"mappings": json.RawMessage(mappingJSON),
		},
	})
}

// EnsureTemplates installs (or updates) benchrig's index templates, and
// adds the fields a newer benchrig maps to the indices that exist already
// (today's among them): with dynamic: strict, a document with a field its
// index lacks would be refused. A field whose type changed cannot be
// updated in place; that is an error naming the indices.
func (c *Client) EnsureTemplates(ctx context.Context) error {
	for _, t := range Templates {
		if err := c.put(ctx, "/_index_template/"+t.Name, templateBody(t), "install template "+t.Name, 0); err != nil {
			return err
		}
		// No such index yet (a fresh server) is nothing to update.
		err := c.put(ctx, "/"+t.Pattern+"/_mapping", []byte(mappingJSON), "update the mapping of the existing "+t.Pattern+" indices", http.StatusNotFound)
		if err != nil {
			return err
		}
	}
	return nil
}

// put sends body with PUT to path; what failed says what for. An answer
// with status ok (besides 2xx) is no error.
func (c *Client) put(ctx context.Context, path string, body []byte, what string, ok int) error {
	{
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		req, err := http.NewRequestWithContext(ctx, http.MethodPut, path, bytes.NewReader(body))
		if err != nil {
			cancel()
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		res, err := c.es.Perform(req)
		if err != nil {
			cancel()
			return unavailable(what, err)
		}
		answer, _ := readAll(res.Body, 1<<20)
		res.Body.Close()
		cancel()
		if res.StatusCode >= 300 && res.StatusCode != ok {
			return errStatus(what, res.StatusCode, answer)
		}
	}
	return nil
}

// Status is what Check found.
type Status struct {
	URLs      []string         `json:"urls"`
	Reachable bool             `json:"reachable"`
	Version   string           `json:"version,omitempty"`
	Error     string           `json:"error,omitempty"`
	Templates []TemplateStatus `json:"templates"`
}

// TemplateStatus says whether one template is installed and current
// (its mapping is the one this benchrig sends).
type TemplateStatus struct {
	Name      string `json:"name"`
	Installed bool   `json:"installed"`
	Current   bool   `json:"current"`
}

// Ready reports whether the server answered and every template is
// installed and current.
func (s Status) Ready() bool {
	if !s.Reachable {
		return false
	}
	for _, t := range s.Templates {
		if !t.Current {
			return false
		}
	}
	return true
}

// Check asks the server for its version and benchrig's templates. An
// unreachable server is a Status with Reachable false and an error with
// code EUnavailable.
func (c *Client) Check(ctx context.Context) (Status, error) {
	st := Status{URLs: c.cfg.URLs}
	for _, t := range Templates {
		st.Templates = append(st.Templates, TemplateStatus{Name: t.Name})
	}
	// GET / is not in every distribution (the integ-test zip lacks it);
	// the nodes API is.
	code, body, err := c.get(ctx, "/_nodes/_local?filter_path=nodes.*.version")
	if err != nil {
		st.Error = err.Error()
		return st, err
	}
	if code >= 300 {
		err := errStatus("version", code, body)
		st.Error = err.Error()
		return st, &benchrig.Error{Code: benchrig.EUnavailable, Err: err}
	}
	st.Reachable = true
	var nodes struct {
		Nodes map[string]struct {
			Version string `json:"version"`
		} `json:"nodes"`
	}
	if err := json.Unmarshal(body, &nodes); err == nil {
		var vs []string
		for _, n := range nodes.Nodes {
			vs = append(vs, n.Version)
		}
		sort.Strings(vs)
		st.Version = strings.Join(vs, ",")
	}
	code, body, err = c.get(ctx, "/_index_template/benchrig-*")
	if err != nil {
		st.Error = err.Error()
		return st, err
	}
	if code == http.StatusNotFound {
		return st, nil
	}
	if code >= 300 {
		err := errStatus("templates", code, body)
		st.Error = err.Error()
		return st, err
	}
	var got struct {
		IndexTemplates []struct {
			Name          string `json:"name"`
			IndexTemplate struct {
				Meta map[string]any `json:"_meta"`
			} `json:"index_template"`
		} `json:"index_templates"`
	}
	if err := json.Unmarshal(body, &got); err != nil {
		return st, fmt.Errorf("elasticsearch: templates: %w", err)
	}
	for _, g := range got.IndexTemplates {
		for i := range st.Templates {
			if st.Templates[i].Name == g.Name {
				st.Templates[i].Installed = true
				st.Templates[i].Current = g.IndexTemplate.Meta["benchrig_mapping"] == templateHash
			}
		}
	}
	return st, nil
}

func readAll(r io.Reader, limit int64) ([]byte, error) {
	return io.ReadAll(io.LimitReader(r, limit))
}
