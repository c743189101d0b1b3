package benchrig

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
)

// PoolPolicy is what specs may ask of a pool's nodes' hosts beyond a plain
// container. It is the one policy type: the pools file fills it, the
// runner checks a spec against it before a run, the server checks a
// submitted spec with it, and the Docker executor checks each container
// with it before creating it, all through Check. Everything defaults to
// refused: a benchmark must not reach into a host unless the pool's owner
// allowed it.
type PoolPolicy struct {
	Privileged bool `json:"privileged"`
	// HostMounts are the host paths a spec may mount, each with what is
	// under it; none by default. Absolute and clean (the pools file
	// refuses others).
	HostMounts []string `json:"host_mounts,omitempty"`
	// HostMountsRW allows those mounts read-write; without it a mount
	// must be read-only (the spec's default).
	HostMountsRW bool `json:"host_mounts_rw"`
	Devices      bool `json:"devices"`
	HostNetwork  bool `json:"host_network"`
	// Profiler lets benchrig start its profiler on each node of the pool
	// for profiled runs: a container with SYS_ADMIN and SYS_PTRACE (no
	// seccomp filter) sharing the host's PID namespace (image
	// benchrig/perf:ARCH, the engine's architecture), which samples the
	// trials' containers from outside with perf.
	// Without it, only nodes whose engine runs on benchrig's own host are
	// profiled (by benchrig's perf).
	Profiler bool `json:"profiler"`
}

// HostAccess is what a container asks of its node's host: the parts of a
// spec's container block (or of an executor's container job) a pool's
// policy judges.
type HostAccess struct {
	Privileged bool
	Network    string   // "host" asks for the host's network
	Devices    []string // host device nodes
	// Mounts are the host paths bound in.
	Mounts []Mount
	// Unexpanded says Mounts are the spec's, before a run: a Source with
	// a template ({{.data}}) or a relative one is judged then on what
	// does not depend on its value (any mounts at all, read-write), and
	// its path where it is expanded: the executor calls Check again with
	// the real path. Without it every Source must be an allowed path.
	Unexpanded bool
}

// Check returns why the policy of pool refuses what a asks, one error per
// refusal, each naming the spec field, the mount, the node (when given),
// the pool and the pools-file rule that would allow it; nil when all is
// allowed.
//
// A mount is allowed when its source is one of HostMounts or under one.
// The comparison is on the path's text after filepath.Clean, and a source
// with a ".." element is refused outright, so that no spelling escapes an
// allowed directory. Symbolic links are not followed (the path is on the
// node's host, not here): a link under an allowed directory that points
// outside it is followed by the engine. The pool's owner decides what is
// under an allowed directory; with HostMountsRW a trial can create such a
// link, so allow read-write only where the host's contents do not matter.
func (p PoolPolicy) Check(pool, node string, a HostAccess) Errors {
	where := ""
	if node != "" {
		where = " on node " + node
	}
	var errs Errors
	refuse := func(field, format string, args ...any) {
		errs = append(errs, &Error{Code: EInvalid, Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	if a.Privileged && !p.Privileged {
		refuse("container.privileged", "a privileged container refused%s: pool %s does not allow it (its owner can set policy: {privileged: true} in the pools file)", where, pool)
	}
	for i, m := range a.Mounts {
		field := fmt.Sprintf("container.mounts[%d]", i)
		desc := m.Source
		if m.Target != "" && m.Target != m.Source {
			desc += ":" + m.Target
		}
		if !m.ReadOnly {
			desc += " (read-write)"
		}
		if len(p.HostMounts) == 0 {
			refuse(field, "mount %s refused%s: pool %s allows no host mounts (its owner can list the host paths specs may mount: policy: {host_mounts: [/srv/bench-data]} in the pools file)", desc, where, pool)
			continue
		}
		if !m.ReadOnly && !p.HostMountsRW {
			refuse(field, "mount %s refused%s: pool %s allows read-only mounts only (mount it read-only, or its owner can set policy: {host_mounts_rw: true} in the pools file)", desc, where, pool)
		}
		if a.Unexpanded && (strings.Contains(m.Source, "{{") || !filepath.IsAbs(m.Source)) {
			continue // judged once expanded
		}
		if reason := p.outside(m.Source); reason != "" {
			refuse(field, "mount %s refused%s: pool %s: %s", desc, where, pool, reason)
		}
	}
	if len(a.Devices) > 0 && !p.Devices {
		refuse("container.devices", "host device %s refused%s: pool %s does not allow it (its owner can set policy: {devices: true} in the pools file)", strings.Join(a.Devices, ", "), where, pool)
	}
	if a.Network == "host" && !p.HostNetwork {
		refuse("container.network", "the host network refused%s: pool %s does not allow it (its owner can set policy: {host_network: true} in the pools file)", where, pool)
	}
	return errs
}

// outside says why src is not one of the allowed paths or under one; ""
// when it is.
func (p PoolPolicy) outside(src string) string {
	if !filepath.IsAbs(src) {
		return fmt.Sprintf("%s is not an absolute path", src)
	}
	if slices.Contains(strings.Split(filepath.ToSlash(src), "/"), "..") {
		return fmt.Sprintf("%s has a .. element: name the directory itself", src)
	}
	c := filepath.Clean(src)
	for _, allowed := range p.HostMounts {
		if UnderPath(c, allowed) {
			return ""
		}
	}
	return fmt.Sprintf("%s is not under the host paths it allows (host_mounts: [%s])", c, strings.Join(p.HostMounts, ", "))
}

// UnderPath reports whether path is dir or under it, comparing cleaned
// paths element by element (/data2 is not under /data).
func UnderPath(path, dir string) bool {
	path, dir = filepath.Clean(path), filepath.Clean(dir)
	if path == dir || dir == string(filepath.Separator) {
		return true
	}
	return strings.HasPrefix(path, dir+string(filepath.Separator))
}
