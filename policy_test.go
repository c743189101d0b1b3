package benchrig

import (
	"strings"
	"testing"
)

func TestPoolPolicyCheck(t *testing.T) {
	data := PoolPolicy{HostMounts: []string{"/srv/data", "/tmp"}}
	rw := PoolPolicy{HostMounts: []string{"/srv/data"}, HostMountsRW: true}
	all := PoolPolicy{Privileged: true, HostMounts: []string{"/"}, HostMountsRW: true, Devices: true, HostNetwork: true}
	ro := func(src string) Mount { return Mount{Source: src, Target: "/data", ReadOnly: true} }
	cases := []struct {
		name   string
		policy PoolPolicy
		ask    HostAccess
		want   []string // one substring per refusal, in order; none: allowed
	}{
		{"nothing asked", PoolPolicy{}, HostAccess{}, nil},
		{"bridge network", PoolPolicy{}, HostAccess{Network: "bridge"}, nil},
		{"privileged refused", PoolPolicy{}, HostAccess{Privileged: true}, []string{"container.privileged: a privileged container refused on node n1: pool lab does not allow it (its owner can set policy: {privileged: true}"}},
		{"privileged allowed", all, HostAccess{Privileged: true}, nil},
		{"no mounts allowed", PoolPolicy{}, HostAccess{Mounts: []Mount{ro("/srv/data")}}, []string{"container.mounts[0]: mount /srv/data:/data refused on node n1: pool lab allows no host mounts"}},
		{"the allowed path itself", data, HostAccess{Mounts: []Mount{ro("/srv/data")}}, nil},
		{"under an allowed path", data, HostAccess{Mounts: []Mount{ro("/srv/data/smiles/x.smi"), ro("/tmp/t1")}}, nil},
		{"trailing slash and double slash", data, HostAccess{Mounts: []Mount{ro("/srv//data/")}}, nil},
		{"a sibling with the same prefix", data, HostAccess{Mounts: []Mount{ro("/srv/data2")}}, []string{"mount /srv/data2:/data refused on node n1: pool lab: /srv/data2 is not under the host paths it allows (host_mounts: [/srv/data, /tmp])"}},
		{"the root", data, HostAccess{Mounts: []Mount{ro("/")}}, []string{"/ is not under"}},
		{"dot-dot escaping", data, HostAccess{Mounts: []Mount{ro("/srv/data/../../etc")}}, []string{"has a .. element"}},
		{"dot-dot staying inside", data, HostAccess{Mounts: []Mount{ro("/srv/data/a/../b")}}, []string{"has a .. element"}},
		{"relative", data, HostAccess{Mounts: []Mount{ro("data")}}, []string{"data is not an absolute path"}},
		{"read-write refused", data, HostAccess{Mounts: []Mount{{Source: "/srv/data", Target: "/data"}}}, []string{"mount /srv/data:/data (read-write) refused on node n1: pool lab allows read-only mounts only"}},
		{"read-write outside too", data, HostAccess{Mounts: []Mount{{Source: "/etc"}}}, []string{"read-only mounts only", "/etc is not under"}},
		{"read-write allowed", rw, HostAccess{Mounts: []Mount{{Source: "/srv/data/out", Target: "/out"}}}, nil},
		{"read-write allowed, still only under", rw, HostAccess{Mounts: []Mount{{Source: "/home", Target: "/out"}}}, []string{"/home is not under"}},
		{"a template is judged once expanded", data, HostAccess{Unexpanded: true, Mounts: []Mount{ro("{{.data}}"), ro("rel/data")}}, nil},
		{"an unexpanded absolute path is judged", data, HostAccess{Unexpanded: true, Mounts: []Mount{ro("/etc")}}, []string{"/etc is not under"}},
		{"a template still needs mounts allowed", PoolPolicy{}, HostAccess{Unexpanded: true, Mounts: []Mount{ro("{{.data}}")}}, []string{"allows no host mounts"}},
		{"a template read-write", data, HostAccess{Unexpanded: true, Mounts: []Mount{{Source: "{{.data}}"}}}, []string{"read-only mounts only"}},
		{"an executor's template is no path", data, HostAccess{Mounts: []Mount{ro("{{.data}}")}}, []string{"{{.data}} is not an absolute path"}},
		{"the second mount", data, HostAccess{Mounts: []Mount{ro("/tmp"), ro("/var")}}, []string{"container.mounts[1]: mount /var:/data"}},
		{"devices", PoolPolicy{}, HostAccess{Devices: []string{"/dev/kvm", "/dev/fuse"}}, []string{"container.devices: host device /dev/kvm, /dev/fuse refused on node n1: pool lab does not allow it", "policy: {devices: true}"}},
		{"host network", PoolPolicy{}, HostAccess{Network: "host"}, []string{"container.network: the host network refused on node n1: pool lab does not allow it", "policy: {host_network: true}"}},
		{"everything allowed", all, HostAccess{Privileged: true, Network: "host", Devices: []string{"/dev/kvm"}, Mounts: []Mount{{Source: "/etc"}}}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			errs := c.policy.Check("lab", "n1", c.ask)
			if len(c.want) == 0 {
				if errs != nil {
					t.Fatalf("refused: %v", errs)
				}
				return
			}
			text := errs.Error()
			for _, w := range c.want {
				if !strings.Contains(text, w) {
					t.Errorf("error lacks %q:\n%s", w, text)
				}
			}
			for _, e := range errs {
				if e.Code != EInvalid || e.Field == "" {
					t.Errorf("refusal %+v: want EInvalid naming its field", e)
				}
			}
		})
	}
	if errs := (PoolPolicy{}).Check("lab", "", HostAccess{Privileged: true}); !strings.Contains(errs.Error(), "a privileged container refused: pool lab does not allow it") {
		t.Errorf("without a node: %v", errs)
	}
}

func TestUnderPath(t *testing.T) {
	for _, c := range []struct {
		path, dir string
		want      bool
	}{
		{"/a", "/a", true}, {"/a/b", "/a", true}, {"/ab", "/a", false}, {"/a", "/a/b", false},
		{"/anything", "/", true}, {"/a/", "/a", true}, {"/a/b", "/a/", true},
	} {
		if got := UnderPath(c.path, c.dir); got != c.want {
			t.Errorf("UnderPath(%q, %q) = %v", c.path, c.dir, got)
		}
	}
}
