package cgroup

import (
	"path/filepath"
	"reflect"
	"slices"
	"testing"
)

// The fixture trees under testdata hold real files. hybrid/ is a hybrid
// Debian 12 host (kernel 6.18): /proc/self/cgroup and /sys/fs/cgroup after
// running trials in them. v2/ is a pure v2 host in the kernel's documented
// format. container-*/ are /sys/fs/cgroup as a container sees it: the
// container's own cgroup at each mount point.
const (
	hybridRoot = "testdata/hybrid/sys/fs/cgroup"
	hybridProc = "testdata/hybrid/proc"
	v2Root     = "testdata/v2/sys/fs/cgroup"
	v2Proc     = "testdata/v2/proc"
	memOwn     = "/process_api/5fcc6ac2103a9a53f2c90f72fbcf9d05"
)

func TestDetect(t *testing.T) {
	tests := []struct {
		name    string
		path    string
		mode    Mode
		unified string
		v1      map[string]string // controller -> mount, relative to path
		wantErr bool
	}{
		{name: "hybrid host", path: hybridRoot, mode: Hybrid, unified: "unified",
			v1: map[string]string{"blkio": "blkio", "cpuacct": "cpuacct", "memory": "memory", "pids": "pids"}},
		{name: "v2 host", path: v2Root, mode: V2, unified: "."},
		{name: "container v1", path: "testdata/container-v1", mode: V1,
			v1: map[string]string{"cpu": "cpu", "cpuacct": "cpuacct", "memory": "memory", "pids": "pids"}},
		{name: "container v1 co-mounted", path: "testdata/container-v1-combined", mode: V1,
			v1: map[string]string{"cpu": "cpu,cpuacct", "cpuacct": "cpu,cpuacct", "memory": "memory"}},
		{name: "container hybrid", path: "testdata/container-hybrid", mode: Hybrid, unified: "unified",
			v1: map[string]string{"cpuacct": "cpuacct"}},
		{name: "container v2", path: "testdata/container-v2", mode: V2, unified: "."},
		{name: "no hierarchy", path: "testdata/container-none", mode: None},
		{name: "missing root", path: "testdata/nonexistent", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Detect(tt.path)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if tt.wantErr {
				return
			}
			if r.Mode != tt.mode {
				t.Errorf("Mode = %v, want %v", r.Mode, tt.mode)
			}
			wantUnified := ""
			if tt.unified != "" {
				wantUnified = filepath.Join(tt.path, tt.unified)
			}
			if r.Unified != wantUnified {
				t.Errorf("Unified = %q, want %q", r.Unified, wantUnified)
			}
			var ctrls []string
			for c, rel := range tt.v1 {
				ctrls = append(ctrls, c)
				if d, ok := r.V1Mount(c); !ok || d != filepath.Join(tt.path, rel) {
					t.Errorf("V1Mount(%s) = %q, %v, want %q", c, d, ok, filepath.Join(tt.path, rel))
				}
			}
			slices.Sort(ctrls)
			if got := r.V1Controllers(); !slices.Equal(got, ctrls) {
				t.Errorf("V1Controllers = %v, want %v", got, ctrls)
			}
		})
	}
}

func TestDefaultRoot(t *testing.T) {
	r, _ := Detect("")
	if r.Path != DefaultRoot {
		t.Errorf("Path = %q, want %q", r.Path, DefaultRoot)
	}
}

func TestDirs(t *testing.T) {
	tests := []struct {
		name string
		root string
		proc string
		want Dirs
	}{
		{
			name: "hybrid host: v1 controllers mounted, and the unified hierarchy",
			root: hybridRoot, proc: hybridProc,
			want: Dirs{V1: map[string]string{
				"blkio":   hybridRoot + "/blkio",
				"cpuacct": hybridRoot + "/cpuacct",
				"memory":  hybridRoot + "/memory" + memOwn,
				"pids":    hybridRoot + "/pids",
			}, V2: hybridRoot + "/unified"},
		},
		{
			name: "v2 host",
			root: v2Root, proc: v2Proc,
			want: Dirs{V2: v2Root + "/system.slice/benchrig.service"},
		},
		{
			name: "v2 host, v1 only in /proc/self/cgroup: nothing mounted for it",
			root: "testdata/container-v2", proc: hybridProc,
			want: Dirs{V2: "testdata/container-v2"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Detect(tt.root)
			if err != nil {
				t.Fatal(err)
			}
			p, err := ReadPaths(tt.proc, Self)
			if err != nil {
				t.Fatal(err)
			}
			if got := r.Dirs(p); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestTop(t *testing.T) {
	r, err := Detect("testdata/container-hybrid")
	if err != nil {
		t.Fatal(err)
	}
	want := Dirs{V1: map[string]string{"cpuacct": "testdata/container-hybrid/cpuacct"}, V2: "testdata/container-hybrid/unified"}
	if got := r.Top(); !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

func TestModeString(t *testing.T) {
	for m, want := range map[Mode]string{None: "none", V1: "v1", V2: "v2", Hybrid: "hybrid"} {
		if m.String() != want {
			t.Errorf("%d.String() = %q, want %q", m, m.String(), want)
		}
	}
}
