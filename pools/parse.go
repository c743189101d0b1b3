package pools

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/benchrig/benchrig"
)

// The decoder walks yaml.Node trees rather than unmarshalling into structs
// (as package spec does), so that every problem is reported at once with
// its line.

var (
	topFields    = []string{"pools"}
	poolFields   = []string{"policy", "nodes"}
	policyFields = []string{"privileged", "host_mounts", "devices", "host_network"}
	nodeFields   = []string{"name", "host", "arch", "labels", "max_trials", "tls"}
	tlsFields    = []string{"ca", "cert", "key"}
)

// Parse decodes and validates a pools file read from file. An empty
// document is a file without pools. On failure it returns benchrig.Errors
// holding every problem, sorted by line.
func Parse(file string, data []byte) (*File, error) {
	p := &parser{file: file, nodeAt: map[string]*yaml.Node{}}
	f := &File{Pools: map[string]*Pool{}}
	if doc := p.document(data); doc != nil {
		p.file_(doc, f)
	}
	if len(p.errs) > 0 {
		sort.SliceStable(p.errs, func(i, j int) bool { return p.errs[i].Line < p.errs[j].Line })
		return nil, p.errs
	}
	return f, nil
}

type parser struct {
	file string
	errs benchrig.Errors
	// nodeAt maps each node name to its name's node, to report
	// duplicates with the first one's line.
	nodeAt map[string]*yaml.Node
}

func (p *parser) errorf(n *yaml.Node, field, format string, args ...any) {
	line := 0
	if n != nil && n.Line > 0 {
		line = n.Line
	}
	p.errs = append(p.errs, &benchrig.Error{
		Code: benchrig.EInvalid, File: p.file, Line: line, Field: field,
		Msg: fmt.Sprintf(format, args...),
	})
}

// document returns the content of the single YAML document in data, or
// nil when it is empty or after recording why it is unusable.
func (p *parser) document(data []byte) (content *yaml.Node) {
	defer func() {
		// yaml.v3 has panicked on malformed input in the past.
		if r := recover(); r != nil {
			p.errorf(nil, "", "malformed yaml: the yaml parser failed: %v", r)
			content = nil
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if !errors.Is(err, io.EOF) {
			p.yamlError(err)
		}
		return nil
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == nil:
		p.errorf(&next, "", "more than one yaml document; a pools file holds exactly one (remove this ---)")
	case !errors.Is(err, io.EOF):
		p.yamlError(err)
		return nil
	}
	if len(doc.Content) == 0 || isNull(doc.Content[0]) {
		return nil
	}
	return doc.Content[0]
}

// yamlError records a syntax error of the yaml package, moving its
// "line N:" prefix into the error's Line (as package spec does).
func (p *parser) yamlError(err error) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if num, after, ok := strings.Cut(rest, ": "); ok {
			if n, err := strconv.Atoi(num); err == nil && n > 0 {
				line, msg = n, after
			}
		}
	}
	if yamlParserProblems[msg] {
		// yaml.v3 (v3.0.1, parserc.go) reports the 0-based line for
		// errors of its parser, unlike those of its scanner.
		line++
	}
	p.errorf(&yaml.Node{Line: line}, "", "malformed yaml: %s", msg)
}

// yamlParserProblems are the problems yaml.v3's parser (not its scanner)
// reports, copied from spec/spec.go.
var yamlParserProblems = map[string]bool{
	"did not find expected ',' or ']'":       true,
	"did not find expected ',' or '}'":       true,
	"did not find expected '-' indicator":    true,
	"did not find expected <document start>": true,
	"did not find expected <stream-start>":   true,
	"did not find expected key":              true,
	"did not find expected node content":     true,
	"found duplicate %TAG directive":         true,
	"found duplicate %YAML directive":        true,
	"found incompatible YAML document":       true,
	"found undefined tag handle":             true,
}

func (p *parser) file_(n *yaml.Node, f *File) {
	n = deref(n)
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "", "expected a mapping with a pools field, got %s", describe(n))
		return
	}
	for _, kv := range p.mapping(n, "") {
		switch kv.key {
		case "pools":
			if isNull(kv.v) {
				continue
			}
			if kv.v.Kind != yaml.MappingNode {
				p.errorf(kv.v, "pools", "expected a mapping of pool name to pool, got %s", describe(kv.v))
				continue
			}
			for _, pk := range p.mapping(kv.v, "pools") {
				field := "pools." + pk.key
				if msg := checkName(pk.key); msg != "" {
					p.errorf(pk.k, field, "%s", msg)
					continue
				}
				if pool := p.pool(pk, field); pool != nil {
					f.Pools[pool.Name] = pool
				}
			}
		default:
			p.unknownField(kv, "", topFields)
		}
	}
}

func (p *parser) pool(kv pair, field string) *Pool {
	pool := &Pool{Name: kv.key}
	n := kv.v
	if isNull(n) {
		p.errorf(kv.k, field, "pool has no nodes; add one with benchrig pool add %s NODE HOST", kv.key)
		return nil
	}
	if n.Kind != yaml.MappingNode {
		p.errorf(n, field, "expected a mapping with policy and nodes, got %s", describe(n))
		return nil
	}
	sawNodes := false
	for _, f := range p.mapping(n, field) {
		fld := field + "." + f.key
		switch f.key {
		case "policy":
			pool.Policy = p.policy(f.v, fld)
		case "nodes":
			sawNodes = true
			if isNull(f.v) || (f.v.Kind == yaml.SequenceNode && len(f.v.Content) == 0) {
				p.errorf(f.k, fld, "pool has no nodes; add one with benchrig pool add %s NODE HOST", kv.key)
				continue
			}
			if f.v.Kind != yaml.SequenceNode {
				p.errorf(f.v, fld, "expected a list of nodes, got %s", describe(f.v))
				continue
			}
			for i, item := range f.v.Content {
				if node, ok := p.node(deref(item), fmt.Sprintf("%s[%d]", fld, i)); ok {
					pool.Nodes = append(pool.Nodes, node)
				}
			}
		default:
			p.unknownField(f, field, poolFields)
		}
	}
	if !sawNodes {
		p.errorf(kv.k, field, "pool has no nodes; add one with benchrig pool add %s NODE HOST", kv.key)
	}
	return pool
}

func (p *parser) policy(n *yaml.Node, field string) Policy {
	var pol Policy
	if isNull(n) {
		return pol
	}
	if n.Kind != yaml.MappingNode {
		p.errorf(n, field, "expected a mapping of %s to true or false, got %s", strings.Join(policyFields, ", "), describe(n))
		return pol
	}
	for _, kv := range p.mapping(n, field) {
		var dst *bool
		switch kv.key {
		case "privileged":
			dst = &pol.Privileged
		case "host_mounts":
			dst = &pol.HostMounts
		case "devices":
			dst = &pol.Devices
		case "host_network":
			dst = &pol.HostNetwork
		default:
			p.unknownField(kv, field, policyFields)
			continue
		}
		if kv.v.Kind == yaml.ScalarNode && kv.v.ShortTag() == "!!bool" {
			_ = kv.v.Decode(dst)
		} else {
			p.errorf(kv.v, field+"."+kv.key, "expected true or false, got %s", describe(kv.v))
		}
	}
	return pol
}

func (p *parser) node(n *yaml.Node, field string) (Node, bool) {
	node := Node{MaxTrials: DefaultMaxTrials}
	if n == nil || n.Kind != yaml.MappingNode {
		p.errorf(n, field, "expected a node mapping with name and host, got %s", describe(n))
		return node, false
	}
	before := len(p.errs)
	var tlsNode *yaml.Node
	var sawName, sawHost bool
	for _, kv := range p.mapping(n, field) {
		fld := field + "." + kv.key
		switch kv.key {
		case "name":
			sawName = true
			s, ok := p.scalar(kv.v, fld, "a node name")
			if !ok {
				continue
			}
			if msg := checkName(s); msg != "" {
				p.errorf(kv.v, fld, "%s", msg)
				continue
			}
			if first, dup := p.nodeAt[s]; dup {
				p.errorf(kv.v, fld, "duplicate node name %q (first at line %d); a node name identifies it across the whole file", s, first.Line)
				continue
			}
			p.nodeAt[s] = kv.v
			node.Name = s
		case "host":
			sawHost = true
			s, ok := p.scalar(kv.v, fld, "an engine address like unix:///var/run/docker.sock or tcp://host:2376")
			if !ok {
				continue
			}
			if msg := checkHost(s); msg != "" {
				p.errorf(kv.v, fld, "%s", msg)
				continue
			}
			node.Host = s
		case "arch":
			s, ok := p.scalar(kv.v, fld, "an architecture such as amd64 or arm64")
			if !ok {
				continue
			}
			a, msg := normalizeArch(s)
			if msg != "" {
				p.errorf(kv.v, fld, "%s", msg)
				continue
			}
			node.Arch = a
		case "labels":
			node.Labels = p.labels(kv.v, fld)
		case "max_trials":
			v, ok := p.int(kv.v, fld)
			if !ok {
				continue
			}
			if v < 1 {
				p.errorf(kv.v, fld, "must be at least 1, got %d", v)
				continue
			}
			node.MaxTrials = v
		case "tls":
			tlsNode = kv.k
			node.TLS = p.tls(kv.v, fld)
		default:
			// A misspelt name or host is reported once, as the typo.
			switch p.unknownField(kv, field, nodeFields) {
			case "name":
				sawName = true
			case "host":
				sawHost = true
			}
		}
	}
	if !sawName {
		p.errorf(n, field+".name", "node has no name")
	}
	if !sawHost {
		p.errorf(n, field+".host", "node has no host (unix:///var/run/docker.sock or tcp://host:2376)")
	}
	if node.TLS != nil && strings.HasPrefix(node.Host, "unix:") {
		p.errorf(tlsNode, field+".tls", "tls is for tcp hosts; %s is a local unix socket", node.Host)
	}
	return node, len(p.errs) == before
}

func (p *parser) labels(n *yaml.Node, field string) map[string]string {
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		p.errorf(n, field, "expected a mapping of label to value, got %s", describe(n))
		return nil
	}
	out := map[string]string{}
	for _, kv := range p.mapping(n, field) {
		if strings.TrimSpace(kv.key) == "" {
			p.errorf(kv.k, field, "label name is empty")
			continue
		}
		// Scalars of any type are kept as written: gpu: false is "false".
		v, ok := p.scalar(kv.v, field+"."+kv.key, "a label value (quote it if in doubt)")
		if ok {
			out[kv.key] = v
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func (p *parser) tls(n *yaml.Node, field string) *TLS {
	t := &TLS{}
	if n.Kind != yaml.MappingNode {
		p.errorf(n, field, "expected a mapping with ca, cert and key, got %s", describe(n))
		return t
	}
	for _, kv := range p.mapping(n, field) {
		var dst *string
		switch kv.key {
		case "ca":
			dst = &t.CA
		case "cert":
			dst = &t.Cert
		case "key":
			dst = &t.Key
		default:
			p.unknownField(kv, field, tlsFields)
			continue
		}
		if s, ok := p.scalar(kv.v, field+"."+kv.key, "a file path"); ok {
			*dst = s
		}
	}
	if msg := checkTLSFiles(*t); msg != "" {
		p.errorf(n, field, "%s", msg)
	}
	return t
}

// checkHost returns why host is not a usable engine address, "" if it is.
// Accepted: unix:///absolute/path and tcp://host:port. ssh:// is refused
// because the Docker client reaches ssh engines through the docker CLI's
// connection helper, which benchrig does not depend on; a tunnel to a tcp
// port does the same job.
func checkHost(host string) string {
	const want = "want unix:///var/run/docker.sock or tcp://host:port"
	if strings.TrimSpace(host) == "" {
		return "host is empty; " + want
	}
	if !strings.Contains(host, "://") {
		return fmt.Sprintf("host %q has no scheme; %s", host, want)
	}
	u, err := url.Parse(host)
	if err != nil {
		return fmt.Sprintf("host %q is not a url (%v); %s", host, errors.Unwrap(err), want)
	}
	switch u.Scheme {
	case "unix":
		if u.Host != "" || !strings.HasPrefix(u.Path, "/") {
			return fmt.Sprintf("host %q: a unix socket path must be absolute, as in unix:///var/run/docker.sock", host)
		}
	case "tcp":
		h, port, err := net.SplitHostPort(u.Host)
		if err != nil || h == "" || port == "" {
			return fmt.Sprintf("host %q: want tcp://host:port (2375 plain, 2376 with tls)", host)
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return fmt.Sprintf("host %q: port %q is not a number from 1 to 65535", host, port)
		}
		if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
			return fmt.Sprintf("host %q: a tcp address is only tcp://host:port, with no user, path or query", host)
		}
	case "ssh":
		return fmt.Sprintf("host %q: ssh engines are not supported (they need the docker CLI's connection helper); expose the engine on tcp with tls, or tunnel it (ssh -L 2375:/var/run/docker.sock) and use tcp://127.0.0.1:2375", host)
	case "http", "https":
		return fmt.Sprintf("host %q: use tcp://%s (and a tls section for https)", host, u.Host)
	case "":
		return fmt.Sprintf("host %q has no scheme; %s", host, want)
	default:
		return fmt.Sprintf("host %q: unsupported scheme %q; %s", host, u.Scheme, want)
	}
	return ""
}

// checkTLSFiles requires all three files: the Docker engine's TLS mode
// verifies the server with the CA and authenticates the client with the
// certificate and key.
func checkTLSFiles(t TLS) string {
	var missing []string
	for _, f := range []struct{ name, v string }{{"ca", t.CA}, {"cert", t.Cert}, {"key", t.Key}} {
		if strings.TrimSpace(f.v) == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return fmt.Sprintf("tls needs ca, cert and key; missing %s", strings.Join(missing, ", "))
	}
	return ""
}

// checkTLS checks t for a node at host.
func checkTLS(t TLS, host string) string {
	if strings.HasPrefix(host, "unix:") {
		return fmt.Sprintf("tls is for tcp hosts; %s is a local unix socket", host)
	}
	return checkTLSFiles(t)
}

// normalizeArch returns the GOARCH name of arch (x86_64 is amd64, aarch64
// is arm64) as benchrig.NormalizeArch does, so that pools and specs' images
// maps agree, or why arch is unknown.
func normalizeArch(arch string) (string, string) {
	a, ok := benchrig.NormalizeArch(strings.TrimSpace(arch))
	if !ok {
		return arch, fmt.Sprintf("unknown architecture %q (use a GOARCH name such as amd64, arm64, 386, arm, ppc64le, s390x or riscv64; x86_64 and aarch64 are accepted too)", arch)
	}
	return a, ""
}

// YAML helpers, after package spec's (spec/node.go).

func deref(n *yaml.Node) *yaml.Node {
	for i := 0; i < 8 && n != nil && n.Kind == yaml.AliasNode && n.Alias != nil; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n == nil || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null")
}

func describe(n *yaml.Node) string {
	n = deref(n)
	if n == nil {
		return "nothing"
	}
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
	default:
		return "an unexpected yaml node"
	}
	v := n.Value
	if len(v) > 40 {
		v = v[:37] + "..."
	}
	switch n.ShortTag() {
	case "!!null":
		return "null"
	case "!!str":
		return "a string " + strconv.Quote(v)
	case "!!int":
		return "an integer " + v
	case "!!float":
		return "a number " + v
	case "!!bool":
		return "a boolean " + v
	default:
		return fmt.Sprintf("a %s value %q", n.ShortTag(), v)
	}
}

func (p *parser) scalar(n *yaml.Node, field, what string) (string, bool) {
	n = deref(n)
	if n == nil || n.Kind != yaml.ScalarNode || isNull(n) {
		p.errorf(n, field, "expected %s, got %s", what, describe(n))
		return "", false
	}
	return n.Value, true
}

func (p *parser) int(n *yaml.Node, field string) (int, bool) {
	n = deref(n)
	if n != nil && n.Kind == yaml.ScalarNode && n.ShortTag() == "!!int" {
		var v int
		if err := n.Decode(&v); err == nil {
			return v, true
		}
	}
	p.errorf(n, field, "expected an integer, got %s", describe(n))
	return 0, false
}

type pair struct {
	key  string
	k, v *yaml.Node
}

// mapping returns the pairs of mapping n in file order, values
// dereferenced, reporting duplicate and non-string keys. Merge keys (<<)
// are refused: a pools file is short, and merged nodes would blur which
// line a problem is on.
func (p *parser) mapping(n *yaml.Node, path string) []pair {
	var out []pair
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), deref(n.Content[i+1])
		if k == nil || k.Kind != yaml.ScalarNode {
			p.errorf(k, path, "expected a string key, got %s", describe(k))
			continue
		}
		if k.ShortTag() == "!!merge" {
			p.errorf(k, path, "merge keys (<<) are not supported in a pools file")
			continue
		}
		if first, dup := seen[k.Value]; dup {
			p.errorf(k, join(path, k.Value), "duplicate key %q (first at line %d)", k.Value, first.Line)
			continue
		}
		seen[k.Value] = k
		out = append(out, pair{key: k.Value, k: k, v: v})
	}
	return out
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// unknownField reports a key that is not one of known and returns the
// known field it is likely a typo of, "" if none.
func (p *parser) unknownField(kv pair, path string, known []string) string {
	hint := ""
	s := suggest(kv.key, known)
	if s != "" {
		hint = fmt.Sprintf("did you mean %q? ", s)
	}
	p.errorf(kv.k, join(path, kv.key), "unknown field %q (%sknown fields: %s)", kv.key, hint, strings.Join(known, ", "))
	return s
}

// suggest returns the known name closest to s when it is a likely typo.
func suggest(s string, known []string) string {
	best, bestD := "", 3
	for _, k := range known {
		if d := editDistance(strings.ToLower(s), k); d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 64
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
