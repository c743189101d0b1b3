package pools

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"gopkg.in/yaml.v3"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/internal/atomicfile"
)

// The file as written: yaml.v3 sorts map keys, so pools come out by name
// and labels by key; nodes keep their order.
type fileYAML struct {
	Pools map[string]poolYAML `yaml:"pools"`
}

type poolYAML struct {
	Policy policyYAML `yaml:"policy"`
	Nodes  []nodeYAML `yaml:"nodes,omitempty"`
	Swarm  *swarmYAML `yaml:"swarm,omitempty"`
}

type swarmYAML struct {
	Manager   string         `yaml:"manager"`
	TLS       *tlsYAML       `yaml:"tls,omitempty"`
	MaxTrials int            `yaml:"max_trials"`
	Collector *collectorYAML `yaml:"collector,omitempty"`
}

type collectorYAML struct {
	Image        string `yaml:"image"`
	DockerSocket string `yaml:"docker_socket,omitempty"`
}

type policyYAML struct {
	Privileged   bool     `yaml:"privileged"`
	HostMounts   []string `yaml:"host_mounts,flow"`
	HostMountsRW bool     `yaml:"host_mounts_rw"`
	Devices      bool     `yaml:"devices"`
	HostNetwork  bool     `yaml:"host_network"`
	Profiler     bool     `yaml:"profiler,omitempty"`
}

type nodeYAML struct {
	Name      string            `yaml:"name"`
	Host      string            `yaml:"host"`
	Arch      string            `yaml:"arch,omitempty"`
	Labels    map[string]string `yaml:"labels,omitempty"`
	MaxTrials int               `yaml:"max_trials"`
	GPUs      int               `yaml:"gpus,omitempty"`
	TLS       *tlsYAML          `yaml:"tls,omitempty"`
}

type tlsYAML struct {
	CA   string `yaml:"ca"`
	Cert string `yaml:"cert"`
	Key  string `yaml:"key"`
}

const header = "# benchrig pools file. benchrig pool add/remove rewrite it and do not keep comments.\n"

// Marshal returns the file as YAML: pools sorted by name, nodes in their
// order. Comments of a loaded file are not kept.
func (f *File) Marshal() ([]byte, error) {
	out := fileYAML{Pools: map[string]poolYAML{}}
	for name, p := range f.Pools {
		py := poolYAML{Policy: policyYAML{Privileged: p.Policy.Privileged, HostMounts: nonNil(p.Policy.HostMounts), HostMountsRW: p.Policy.HostMountsRW, Devices: p.Policy.Devices, HostNetwork: p.Policy.HostNetwork, Profiler: p.Policy.Profiler}, Nodes: []nodeYAML{}}
		if sw := p.Swarm; sw != nil {
			py.Nodes = nil
			py.Swarm = &swarmYAML{Manager: sw.Manager, MaxTrials: sw.MaxTrials}
			if sw.CollectorImage != "" {
				py.Swarm.Collector = &collectorYAML{Image: sw.CollectorImage, DockerSocket: sw.DockerSocket}
			}
			if sw.TLS != nil {
				py.Swarm.TLS = &tlsYAML{CA: sw.TLS.CA, Cert: sw.TLS.Cert, Key: sw.TLS.Key}
			}
		}
		for _, n := range p.Nodes {
			ny := nodeYAML{Name: n.Name, Host: n.Host, Arch: n.Arch, Labels: n.Labels, MaxTrials: n.MaxTrials, GPUs: n.GPUs}
			if ny.MaxTrials == 0 {
				ny.MaxTrials = DefaultMaxTrials
			}
			if n.TLS != nil {
				ny.TLS = &tlsYAML{CA: n.TLS.CA, Cert: n.TLS.Cert, Key: n.TLS.Key}
			}
			py.Nodes = append(py.Nodes, ny)
		}
		out.Pools[name] = py
	}
	var buf bytes.Buffer
	buf.WriteString(header)
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(out); err != nil {
		return nil, fmt.Errorf("encode pools file: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encode pools file: %w", err)
	}
	return buf.Bytes(), nil
}

// Save writes f to path atomically: a temporary file in the same directory
// is written, synced and renamed over path, so a run re-reading the file
// sees the old or the new one, never a part. The directory is created if
// missing. Comments of a loaded file are not preserved.
func (f *File) Save(path string) error {
	data, err := f.Marshal()
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("save pools file: %w", err)
	}
	err = atomicfile.Write(path, 0o644, true, func(f *os.File) error {
		_, err := f.Write(data)
		return err
	})
	if err != nil {
		return fmt.Errorf("save pools file %s: %w", path, err)
	}
	return nil
}

// Update runs change on the file at path and saves the result, holding an
// exclusive advisory lock (flock on path+".lock") throughout, so that
// concurrent updates are serialized and none is lost. A missing file starts
// empty; an invalid one is not touched and its errors are returned. Readers
// need no lock: Save replaces the file atomically.
func Update(path string, change func(*File) error) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("lock pools file: %w", err)
	}
	unlock, err := lock(path + ".lock")
	if err != nil {
		return fmt.Errorf("lock pools file %s: %w", path, err)
	}
	defer unlock()
	f, err := Load(path)
	if err != nil {
		if benchrig.ErrorCode(err) != benchrig.ENotFound {
			return err
		}
		var e *benchrig.Error
		if !errors.As(err, &e) || e.File != path {
			return err
		}
		f = &File{Pools: map[string]*Pool{}}
	}
	if err := change(f); err != nil {
		return locate(err, path)
	}
	return f.Save(path)
}

// locate names path as the file of the *benchrig.Error values in err that
// name none, so a rejected change says which pools file it was for.
func locate(err error, path string) error {
	var es benchrig.Errors
	if errors.As(err, &es) {
		for _, e := range es {
			if e.File == "" {
				e.File = path
			}
		}
		return err
	}
	var e *benchrig.Error
	if errors.As(err, &e) && e.File == "" {
		e.File = path
	}
	return err
}

// nonNil writes an empty list as [], which says "no host paths" more
// plainly than null.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
