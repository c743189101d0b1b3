// Package pools owns the pools file: the named sets of Docker engines
// (nodes) benchmarks run on, each node's address, declared architecture,
// labels and trial concurrency, and each pool's container policy. It loads
// and validates the file (every problem located by line and field), and
// changes it safely while other processes read it: writes are atomic
// (temporary file and rename) and read-modify-write cycles hold an advisory
// lock, so two concurrent `benchrig pool add` calls never lose a node.
//
// It knows nothing of Docker itself: contacting engines and fingerprinting
// them belongs to the executor.
package pools

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/benchrig/benchrig"
)

// DefaultMaxTrials is a node's concurrency when the file says nothing: one
// trial at a time, so trials do not disturb each other's numbers.
const DefaultMaxTrials = 1

// File is a pools file.
type File struct {
	Pools map[string]*Pool
}

// Pool is a named set of nodes sharing a container policy: the nodes
// listed in the file, or the nodes of a Docker Swarm cluster.
type Pool struct {
	Name   string
	Policy benchrig.PoolPolicy // what specs may ask of the nodes' hosts
	Nodes  []Node              // in file order; none when Swarm is set
	// Swarm, when set, backs the pool with a Swarm cluster: its nodes are
	// the cluster's, as its manager lists them at each look.
	Swarm *Swarm
}

// Swarm is a pool backed by a Docker Swarm cluster, reached through one
// manager's engine. Trials run as replicated-job services placed on the
// nodes benchrig picks; every image must be loaded on every node.
type Swarm struct {
	// Manager is the address of a manager's engine: unix:///path or
	// tcp://host:port.
	Manager string
	TLS     *TLS
	// MaxTrials is each node's cap on trials at once, at least 1.
	MaxTrials int
	// CollectorImage, when set, is the image of benchrig (loaded on every
	// node) that a run starts as a global service, a collector on each
	// node for the run's duration; "" runs no collector on the pool.
	CollectorImage string
	// DockerSocket is the path of each node's engine socket, mounted into
	// the collector; it may hold Swarm's templates ({{.Node.Hostname}}).
	// "" means /var/run/docker.sock.
	DockerSocket string
}

// Node is one Docker engine. Its name identifies it across the whole file.
type Node struct {
	Name string
	// Host is the engine's address: unix:///path/to/docker.sock or
	// tcp://host:port.
	Host string
	// Arch is the declared architecture as a GOARCH name (amd64, arm64),
	// "" to take it from the engine. An emulated node must declare it.
	Arch      string
	Labels    map[string]string
	MaxTrials int  // trials at once on this node, at least 1
	TLS       *TLS // nil for plain tcp or a unix socket
	// GPUs is how many GPUs the node has, as declared (gpus: N), for
	// placement on nodes whose engine does not report them; 0 takes what
	// the engine reports.
	GPUs int
}

// TLS holds the client certificate files for a tcp engine. Relative paths
// are relative to the pools file's directory; see Resolve.
type TLS struct {
	CA, Cert, Key string
}

// Resolve returns t with relative paths made relative to dir, the
// directory of the pools file.
func (t TLS) Resolve(dir string) TLS {
	abs := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(dir, p)
	}
	return TLS{CA: abs(t.CA), Cert: abs(t.Cert), Key: abs(t.Key)}
}

// Path returns the pools file to use: the --pools flag, else
// $BENCHRIG_POOLS, else benchrig/pools.yaml under $XDG_CONFIG_HOME or
// ~/.config.
func Path(flag string, getenv func(string) string) string {
	if flag != "" {
		return flag
	}
	if p := getenv("BENCHRIG_POOLS"); p != "" {
		return p
	}
	dir := getenv("XDG_CONFIG_HOME")
	if dir == "" {
		dir = filepath.Join(getenv("HOME"), ".config")
	}
	return filepath.Join(dir, "benchrig", "pools.yaml")
}

// Load reads and validates the pools file at path. A missing file is
// ENotFound; an invalid one gives benchrig.Errors holding every problem,
// sorted by line.
func Load(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, &benchrig.Error{Code: benchrig.ENotFound, File: path,
				Msg: "pools file not found (create it with: benchrig pool add POOL NODE HOST)"}
		}
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, &benchrig.Error{Code: benchrig.EInvalid, File: path, Msg: "read pools file", Err: err}
	}
	return Parse(path, data)
}

// Pool returns the pool called name.
func (f *File) Pool(name string) (*Pool, error) {
	if p, ok := f.Pools[name]; ok {
		return p, nil
	}
	known := f.names()
	if len(known) == 0 {
		return nil, benchrig.Errorf(benchrig.ENotFound, "no pool %q: the pools file has no pools", name)
	}
	return nil, benchrig.Errorf(benchrig.ENotFound, "no pool %q (pools: %s)", name, strings.Join(known, ", "))
}

// Names returns the pools' names, sorted.
func (f *File) Names() []string { return f.names() }

func (f *File) names() []string {
	names := make([]string, 0, len(f.Pools))
	for n := range f.Pools {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Add adds node n to pool, creating the pool (with the default, strict
// policy) when it does not exist. n is validated as Load would; MaxTrials 0
// means DefaultMaxTrials and Arch is normalized. A node name already used
// anywhere in the file is an error.
func (f *File) Add(pool string, n Node) error {
	if n.MaxTrials == 0 {
		n.MaxTrials = DefaultMaxTrials
	}
	var errs benchrig.Errors
	bad := func(field, format string, args ...any) {
		errs = append(errs, &benchrig.Error{Code: benchrig.EInvalid, Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	if msg := checkName(pool); msg != "" {
		bad("pool", "%s", msg)
	}
	if msg := checkName(n.Name); msg != "" {
		bad("node", "%s", msg)
	}
	if msg := checkHost(n.Host); msg != "" {
		bad("host", "%s", msg)
	}
	if n.Arch != "" {
		a, msg := normalizeArch(n.Arch)
		if msg != "" {
			bad("arch", "%s", msg)
		}
		n.Arch = a
	}
	if n.MaxTrials < 1 {
		bad("max_trials", "must be at least 1, got %d", n.MaxTrials)
	}
	for k := range n.Labels {
		if strings.TrimSpace(k) == "" {
			bad("labels", "label name is empty")
		}
	}
	if n.TLS != nil {
		if msg := checkTLS(*n.TLS, n.Host); msg != "" {
			bad("tls", "%s", msg)
		}
	}
	if p, where := f.find(n.Name); p != nil {
		bad("node", "node %q already exists in pool %s%s (node names are unique across the file)", n.Name, p.Name, where)
	}
	if len(errs) > 0 {
		return errs
	}
	if f.Pools == nil {
		f.Pools = map[string]*Pool{}
	}
	p := f.Pools[pool]
	if p != nil && p.Swarm != nil {
		return &benchrig.Error{Code: benchrig.EInvalid, Field: "pool", Msg: fmt.Sprintf("pool %s is a Swarm cluster (manager %s): its nodes are the cluster's; join a node to the swarm instead", pool, p.Swarm.Manager)}
	}
	if p == nil {
		p = &Pool{Name: pool}
		f.Pools[pool] = p
	}
	n.Labels = maps(n.Labels)
	if n.TLS != nil {
		t := *n.TLS
		n.TLS = &t
	}
	p.Nodes = append(p.Nodes, n)
	return nil
}

// find returns the pool holding the node called name, or nil.
func (f *File) find(name string) (*Pool, string) {
	for _, pn := range f.names() {
		p := f.Pools[pn]
		for _, n := range p.Nodes {
			if n.Name == name {
				return p, " at " + n.Host
			}
		}
	}
	return nil, ""
}

// Remove removes node from pool. Removing a pool's last node removes the
// pool, since a pool without nodes can run nothing (and Load rejects it).
func (f *File) Remove(pool, node string) error {
	p, err := f.Pool(pool)
	if err != nil {
		return err
	}
	if p.Swarm != nil {
		return &benchrig.Error{Code: benchrig.EInvalid, Field: "pool", Msg: fmt.Sprintf("pool %s is a Swarm cluster (manager %s): drain or remove the node in the swarm (docker node update --availability drain)", pool, p.Swarm.Manager)}
	}
	i := slices.IndexFunc(p.Nodes, func(n Node) bool { return n.Name == node })
	if i < 0 {
		names := make([]string, len(p.Nodes))
		for j, n := range p.Nodes {
			names[j] = n.Name
		}
		return benchrig.Errorf(benchrig.ENotFound, "pool %s has no node %q (nodes: %s)", pool, node, strings.Join(names, ", "))
	}
	p.Nodes = slices.Delete(p.Nodes, i, i+1)
	if len(p.Nodes) == 0 {
		delete(f.Pools, pool)
	}
	return nil
}

func maps(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

// checkName returns why s is not a valid pool or node name, "" if it is.
// Names appear in tables, container labels and exports, so they are kept
// to a safe character set.
func checkName(s string) string {
	switch {
	case s == "":
		return "name is empty"
	case !nameRE.MatchString(s):
		return fmt.Sprintf("name %q may hold only letters, digits, '.', '_' and '-'", s)
	}
	return ""
}
