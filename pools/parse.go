package pools

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/internal/yamlnode"
	"gopkg.in/yaml.v3"
)

// The decoder walks yaml.Node trees rather than unmarshalling into structs
// (as package spec does, sharing internal/yamlnode with it), so that every
// problem is reported at once with its line.

var (
	topFields    = []string{"pools"}
	poolFields   = []string{"policy", "nodes", "swarm"}
	swarmFields  = []string{"manager", "tls", "max_trials", "collector"}
	collFields   = []string{"image", "docker_socket"}
	policyFields = []string{"privileged", "host_mounts", "host_mounts_rw", "devices", "host_network", "profiler"}
	nodeFields   = []string{"name", "host", "arch", "labels", "max_trials", "tls", "gpus"}
	tlsFields    = []string{"ca", "cert", "key"}
)

// Parse decodes and validates a pools file read from file. An empty
// document is a file without pools. On failure it returns benchrig.Errors
// holding every problem, sorted by line.
func Parse(file string, data []byte) (*File, error) {
	p := &parser{Problems: yamlnode.Problems{File: file}, nodeAt: map[string]*yaml.Node{}}
	f := &File{Pools: map[string]*Pool{}}
	if doc := p.document(data); doc != nil {
		p.file_(doc, f)
	}
	if len(p.Errs) > 0 {
		sort.SliceStable(p.Errs, func(i, j int) bool { return p.Errs[i].Line < p.Errs[j].Line })
		return nil, p.Errs
	}
	return f, nil
}

type parser struct {
	yamlnode.Problems
	// nodeAt maps each node name to its name's node, to report
	// duplicates with the first one's line.
	nodeAt map[string]*yaml.Node
}

// document returns the content of the single YAML document in data, or
// nil when it is empty or after recording why it is unusable.
func (p *parser) document(data []byte) *yaml.Node {
	doc, ok := p.Document(data, "a pools file")
	if !ok {
		return nil
	}
	return yamlnode.Content(doc)
}

func (p *parser) file_(n *yaml.Node, f *File) {
	n = yamlnode.Deref(n)
	if n.Kind != yaml.MappingNode {
		p.Errorf(n, "", "expected a mapping with a pools field, got %s", yamlnode.Describe(n))
		return
	}
	for _, kv := range p.mapping(n, "") {
		switch kv.key {
		case "pools":
			if yamlnode.IsNull(kv.v) {
				continue
			}
			if kv.v.Kind != yaml.MappingNode {
				p.Errorf(kv.v, "pools", "expected a mapping of pool name to pool, got %s", yamlnode.Describe(kv.v))
				continue
			}
			for _, pk := range p.mapping(kv.v, "pools") {
				field := "pools." + pk.key
				if msg := checkName(pk.key); msg != "" {
					p.Errorf(pk.k, field, "%s", msg)
					continue
				}
				if pool := p.pool(pk, field); pool != nil {
					f.Pools[pool.Name] = pool
				}
			}
		default:
			p.UnknownField(kv.k, kv.key, "", topFields)
		}
	}
}

func (p *parser) pool(kv pair, field string) *Pool {
	pool := &Pool{Name: kv.key}
	n := kv.v
	if yamlnode.IsNull(n) {
		p.Errorf(kv.k, field, "pool has no nodes; add one with benchrig pool add %s NODE HOST", kv.key)
		return nil
	}
	if n.Kind != yaml.MappingNode {
		p.Errorf(n, field, "expected a mapping with policy and nodes, got %s", yamlnode.Describe(n))
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
			if yamlnode.IsNull(f.v) || (f.v.Kind == yaml.SequenceNode && len(f.v.Content) == 0) {
				p.Errorf(f.k, fld, "pool has no nodes; add one with benchrig pool add %s NODE HOST", kv.key)
				continue
			}
			if f.v.Kind != yaml.SequenceNode {
				p.Errorf(f.v, fld, "expected a list of nodes, got %s", yamlnode.Describe(f.v))
				continue
			}
			for i, item := range f.v.Content {
				if node, ok := p.node(yamlnode.Deref(item), fmt.Sprintf("%s[%d]", fld, i)); ok {
					pool.Nodes = append(pool.Nodes, node)
				}
			}
		case "swarm":
			pool.Swarm = p.swarm(f.v, fld)
			if pool.Swarm == nil {
				sawNodes = true // reported
			}
		default:
			p.UnknownField(f.k, f.key, field, poolFields)
		}
	}
	switch {
	case pool.Swarm != nil && sawNodes:
		p.Errorf(kv.k, field, "a pool has nodes or swarm, not both: a Swarm pool's nodes are the cluster's")
	case !sawNodes && pool.Swarm == nil:
		p.Errorf(kv.k, field, "pool has no nodes; add one with benchrig pool add %s NODE HOST", kv.key)
	}
	return pool
}

// swarm reads a pool's swarm block: the manager to reach the cluster by.
func (p *parser) swarm(n *yaml.Node, field string) *Swarm {
	n = yamlnode.Deref(n)
	if n == nil || n.Kind != yaml.MappingNode {
		p.Errorf(n, field, "expected a mapping with manager (and tls, max_trials), got %s", yamlnode.Describe(n))
		return nil
	}
	before := len(p.Errs)
	sw := &Swarm{MaxTrials: DefaultMaxTrials}
	var tlsNode *yaml.Node
	for _, kv := range p.mapping(n, field) {
		fld := field + "." + kv.key
		switch kv.key {
		case "manager":
			if s, ok := p.host(kv.v, fld, "a manager's engine address like tcp://host:2376"); ok {
				sw.Manager = s
			}
		case "tls":
			tlsNode = kv.k
			sw.TLS = p.tls(kv.v, fld)
		case "max_trials":
			if v, ok := p.atLeast(kv.v, fld, 1); ok {
				sw.MaxTrials = v
			}
		case "collector":
			c := yamlnode.Deref(kv.v)
			if c == nil || c.Kind != yaml.MappingNode {
				p.Errorf(kv.v, fld, "expected a mapping with image (and docker_socket), got %s", yamlnode.Describe(kv.v))
				continue
			}
			for _, ckv := range p.mapping(c, fld) {
				cf := fld + "." + ckv.key
				switch ckv.key {
				case "image":
					if v, ok := p.Scalar(ckv.v, cf, "an image reference such as benchrig/benchrig:latest"); ok {
						sw.CollectorImage = v
					}
				case "docker_socket":
					v, ok := p.Scalar(ckv.v, cf, "the absolute path of each node's engine socket")
					if !ok {
						continue
					}
					if !strings.HasPrefix(v, "/") {
						p.Errorf(ckv.v, cf, "%q is not an absolute path", v)
						continue
					}
					sw.DockerSocket = v
				default:
					p.UnknownField(ckv.k, ckv.key, fld, collFields)
				}
			}
			if sw.CollectorImage == "" {
				p.Errorf(kv.v, fld+".image", "collector has no image (benchrig's image, loaded on every node)")
			}
		default:
			p.UnknownField(kv.k, kv.key, field, swarmFields)
		}
	}
	if sw.Manager == "" && len(p.Errs) == before {
		p.Errorf(n, field+".manager", "swarm has no manager (the address of a manager's engine, tcp://host:2376)")
	}
	if sw.TLS != nil && strings.HasPrefix(sw.Manager, "unix:") {
		p.Errorf(tlsNode, field+".tls", "tls is for tcp hosts; %s is a local unix socket", sw.Manager)
	}
	if len(p.Errs) != before {
		return nil
	}
	return sw
}

func (p *parser) policy(n *yaml.Node, field string) benchrig.PoolPolicy {
	var pol benchrig.PoolPolicy
	if yamlnode.IsNull(n) {
		return pol
	}
	if n.Kind != yaml.MappingNode {
		p.Errorf(n, field, "expected a mapping of %s, got %s", strings.Join(policyFields, ", "), yamlnode.Describe(n))
		return pol
	}
	for _, kv := range p.mapping(n, field) {
		var dst *bool
		switch kv.key {
		case "privileged":
			dst = &pol.Privileged
		case "host_mounts":
			pol.HostMounts = p.hostMounts(kv.v, field+"."+kv.key)
			continue
		case "host_mounts_rw":
			dst = &pol.HostMountsRW
		case "devices":
			dst = &pol.Devices
		case "host_network":
			dst = &pol.HostNetwork
		case "profiler":
			dst = &pol.Profiler
		default:
			p.UnknownField(kv.k, kv.key, field, policyFields)
			continue
		}
		if v, ok := p.Bool(kv.v, field+"."+kv.key); ok {
			*dst = v
		}
	}
	return pol
}

// hostMounts reads policy.host_mounts: the host paths specs may mount.
// It used to be a switch, and true let a spec mount any path, / included,
// read-write: true is refused with what to write instead; false is an
// empty list.
func (p *parser) hostMounts(n *yaml.Node, field string) []string {
	n = yamlnode.Deref(n)
	if yamlnode.IsNull(n) {
		return nil
	}
	if n.Kind == yaml.ScalarNode && (n.Value == "true" || n.Value == "false") && n.Tag == "!!bool" {
		if n.Value == "true" {
			p.Errorf(n, field, "host_mounts is a list of the host paths specs may mount (and what is under them), "+
				"no longer true, which allowed any path, / included, read-write: write host_mounts: [/srv/bench-data], "+
				"and host_mounts_rw: true only if specs may write there")
		}
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		p.Errorf(n, field, "expected a list of absolute host paths, got %s", yamlnode.Describe(n))
		return nil
	}
	var out []string
	for i, item := range n.Content {
		item = yamlnode.Deref(item)
		f := fmt.Sprintf("%s[%d]", field, i)
		if item.Kind != yaml.ScalarNode || item.Tag != "!!str" || item.Value == "" {
			p.Errorf(item, f, "expected an absolute host path, got %s", yamlnode.Describe(item))
			continue
		}
		v := item.Value
		switch {
		case !filepath.IsAbs(v):
			p.Errorf(item, f, "%q is not an absolute path: a host path is named from the root of the node's host", v)
		case slices.Contains(strings.Split(v, "/"), ".."):
			p.Errorf(item, f, "%q has a .. element: name the directory itself", v)
		default:
			out = append(out, filepath.Clean(v))
		}
	}
	return out
}

func (p *parser) node(n *yaml.Node, field string) (Node, bool) {
	node := Node{MaxTrials: DefaultMaxTrials}
	if n == nil || n.Kind != yaml.MappingNode {
		p.Errorf(n, field, "expected a node mapping with name and host, got %s", yamlnode.Describe(n))
		return node, false
	}
	before := len(p.Errs)
	var tlsNode *yaml.Node
	var sawName, sawHost bool
	for _, kv := range p.mapping(n, field) {
		fld := field + "." + kv.key
		switch kv.key {
		case "name":
			sawName = true
			s, ok := p.Scalar(kv.v, fld, "a node name")
			if !ok {
				continue
			}
			if msg := checkName(s); msg != "" {
				p.Errorf(kv.v, fld, "%s", msg)
				continue
			}
			if first, dup := p.nodeAt[s]; dup {
				p.Errorf(kv.v, fld, "duplicate node name %q (first at line %d); a node name identifies it across the whole file", s, first.Line)
				continue
			}
			p.nodeAt[s] = kv.v
			node.Name = s
		case "host":
			sawHost = true
			if s, ok := p.host(kv.v, fld, "an engine address like unix:///var/run/docker.sock or tcp://host:2376"); ok {
				node.Host = s
			}
		case "arch":
			s, ok := p.Scalar(kv.v, fld, "an architecture such as amd64 or arm64")
			if !ok {
				continue
			}
			a, msg := normalizeArch(s)
			if msg != "" {
				p.Errorf(kv.v, fld, "%s", msg)
				continue
			}
			node.Arch = a
		case "labels":
			node.Labels = p.labels(kv.v, fld)
		case "max_trials":
			if v, ok := p.atLeast(kv.v, fld, 1); ok {
				node.MaxTrials = v
			}
		case "tls":
			tlsNode = kv.k
			node.TLS = p.tls(kv.v, fld)
		case "gpus":
			if v, ok := p.atLeast(kv.v, fld, 0); ok {
				node.GPUs = v
			}
		default:
			// A misspelt name or host is reported once, as the typo.
			switch p.UnknownField(kv.k, kv.key, field, nodeFields) {
			case "name":
				sawName = true
			case "host":
				sawHost = true
			}
		}
	}
	if !sawName {
		p.Errorf(n, field+".name", "node has no name")
	}
	if !sawHost {
		p.Errorf(n, field+".host", "node has no host (unix:///var/run/docker.sock or tcp://host:2376)")
	}
	if node.TLS != nil && strings.HasPrefix(node.Host, "unix:") {
		p.Errorf(tlsNode, field+".tls", "tls is for tcp hosts; %s is a local unix socket", node.Host)
	}
	return node, len(p.Errs) == before
}

// host reads an engine address (a node's host, a swarm's manager); what
// describes it for a user in errors.
func (p *parser) host(n *yaml.Node, field, what string) (string, bool) {
	s, ok := p.Scalar(n, field, what)
	if !ok {
		return "", false
	}
	if msg := checkHost(s); msg != "" {
		p.Errorf(n, field, "%s", msg)
		return "", false
	}
	return s, true
}

// atLeast reads an integer of at least min (max_trials, gpus).
func (p *parser) atLeast(n *yaml.Node, field string, min int) (int, bool) {
	v, ok := p.Int(n, field)
	if !ok {
		return 0, false
	}
	if v < min {
		if min == 0 {
			p.Errorf(n, field, "must be 0 or more, got %d", v)
		} else {
			p.Errorf(n, field, "must be at least %d, got %d", min, v)
		}
		return 0, false
	}
	return v, true
}

func (p *parser) labels(n *yaml.Node, field string) map[string]string {
	if yamlnode.IsNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		p.Errorf(n, field, "expected a mapping of label to value, got %s", yamlnode.Describe(n))
		return nil
	}
	out := map[string]string{}
	for _, kv := range p.mapping(n, field) {
		if strings.TrimSpace(kv.key) == "" {
			p.Errorf(kv.k, field, "label name is empty")
			continue
		}
		// Scalars of any type are kept as written: gpu: false is "false".
		v, ok := p.Scalar(kv.v, field+"."+kv.key, "a label value (quote it if in doubt)")
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
		p.Errorf(n, field, "expected a mapping with ca, cert and key, got %s", yamlnode.Describe(n))
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
			p.UnknownField(kv.k, kv.key, field, tlsFields)
			continue
		}
		if s, ok := p.Scalar(kv.v, field+"."+kv.key, "a file path"); ok {
			*dst = s
		}
	}
	if msg := checkTLSFiles(*t); msg != "" {
		p.Errorf(n, field, "%s", msg)
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

// pair is one key and value of a mapping.
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
		k, v := yamlnode.Deref(n.Content[i]), yamlnode.Deref(n.Content[i+1])
		if k == nil || k.Kind != yaml.ScalarNode {
			p.Errorf(k, path, "expected a string key, got %s", yamlnode.Describe(k))
			continue
		}
		if k.ShortTag() == "!!merge" {
			p.Errorf(k, path, "merge keys (<<) are not supported in a pools file")
			continue
		}
		if first, dup := seen[k.Value]; dup {
			p.Errorf(k, yamlnode.Join(path, k.Value), "duplicate key %q (first at line %d)", k.Value, first.Line)
			continue
		}
		seen[k.Value] = k
		out = append(out, pair{key: k.Value, k: k, v: v})
	}
	return out
}
