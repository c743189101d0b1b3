package docker

import (
	"errors"
	"os"
	"os/exec"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/internal/testenv"
	"github.com/benchrig/benchrig/runner"
	"github.com/benchrig/benchrig/runner/docker/internal/shimrun"
)

func TestParseResult(t *testing.T) {
	tests := []struct {
		name    string
		out     string
		want    shimrun.Result
		wantErr string
	}{
		{
			name: "one line",
			out:  `{"v":2,"wall_ns":1500,"exit_code":3,"stdout_bytes":3,"stderr_bytes":4,"stderr_tail":"err\n","leftover_processes":0}` + "\n",
			want: shimrun.Result{Version: 2, Wall: 1500, ExitCode: 3, StdoutBytes: 3, StderrBytes: 4, StderrTail: "err\n"},
		},
		{
			name: "last line wins",
			out:  "entrypoint noise\n" + `{"v":2,"exit_code":-1,"error":"timeout","leftover_processes":-1,"cgroup":{"version":2,"cpu_ns":5,"user_ns":-1,"sys_ns":-1,"throttled_ns":-1,"mem_peak_bytes":7,"mem_current_bytes":-1,"pids_peak":-1,"pids_current":-1}}`,
			want: shimrun.Result{Version: 2, ExitCode: -1, Error: "timeout", Leftover: -1, Cgroup: &shimrun.Cgroup{Version: 2, CPU: 5, User: -1, Sys: -1, Throttled: -1, MemPeak: 7, MemCurrent: -1, PidsPeak: -1, PidsCurrent: -1}},
		},
		{
			// The head is base64: a command's output need not be UTF-8.
			name: "stdout digest",
			out:  `{"v":2,"exit_code":0,"leftover_processes":0,"stdout":{"bytes":3,"lines":1,"blank_lines":0,"sha256":"ab","head":"/woK"}}`,
			want: shimrun.Result{Version: 2, Stdout: &benchrig.OutputDigest{Bytes: 3, Lines: 1, SHA256: "ab", Head: []byte{0xff, 0x0a, 0x0a}}},
		},
		{name: "version 1 shim", out: `{"v":1}`, wantErr: "another benchrig version"},
		{name: "empty", out: "", wantErr: "no result"},
		{name: "not json", out: "exec /.benchrig/shim: exec format error\n", wantErr: "invalid character"},
		{name: "other version", out: `{"v":99}`, wantErr: "another benchrig version"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := shimrun.Parse([]byte(tt.out))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestMeasurementFromResult(t *testing.T) {
	r := shimrun.Result{Version: 1, StartUnix: 1e18, Wall: 2e6, User: 1e6, Sys: 5e5, MaxRSS: 30 << 20, ShimMaxRSS: 9 << 20,
		ExitCode: 0, StdoutBytes: 10, Setup: 3e5, Leftover: 0,
		Cgroup: &shimrun.Cgroup{Version: 1, CPU: 3e7, User: -1, Sys: 2e7, Throttled: 0, MemPeak: 4 << 20, MemCurrent: 1, PidsPeak: 6, PidsCurrent: 1}}
	m := measurement(r, map[string]float64{"container_create_s": 0.01})
	if m.Wall != 2*time.Millisecond || m.User != time.Millisecond || m.Sys != 500*time.Microsecond || m.MaxRSS != 30<<20 {
		t.Errorf("times/rss: %+v", m)
	}
	if !m.Start.Equal(time.Unix(0, 1e18)) || m.Source != "shim+cgroup-v1" {
		t.Errorf("start %v source %q", m.Start, m.Source)
	}
	want := map[string]float64{
		"container_create_s": 0.01, "container_cpu_s": 0.03, "container_sys_s": 0.02, "cpu_throttled_ns": 0,
		"container_mem_peak_bytes": 4 << 20, "pids_peak": 6, "rusage_user_ns": 1e6, "rusage_sys_ns": 5e5,
		"rusage_maxrss_bytes": 30 << 20, "shim_maxrss_bytes": 9 << 20, "shim_setup_s": 3e-4, "leftover_processes": 0,
	}
	if !reflect.DeepEqual(m.Metrics, want) {
		t.Errorf("metrics %v\nwant %v", m.Metrics, want)
	}
	if m.Stdout != nil {
		t.Errorf("stdout digest %+v from a result without one", m.Stdout)
	}
	d := &benchrig.OutputDigest{Bytes: 4, Lines: 2, BlankLines: 1, SHA256: "cd", Head: []byte("a\n\n ")}
	if m = measurement(shimrun.Result{Version: 2, Stdout: d}, map[string]float64{}); m.Stdout != d {
		t.Errorf("stdout digest %+v, want the shim's %+v", m.Stdout, d)
	}
	m = measurement(shimrun.Result{Version: 1, ExitCode: -1, Error: "timeout", Leftover: 2}, map[string]float64{})
	if m.Source != "shim" || m.Error != "timeout" || m.ExitCode != -1 {
		t.Errorf("no cgroup: %+v", m)
	}
	if _, ok := m.Metrics["leftover_processes"]; ok {
		t.Error("leftover_processes recorded after a timeout")
	}
}

// TestMeasurementMaxRSSFloor: rusage maxrss at or below the shim's own
// peak may be the shim's memory (vfork): the trial's max_rss is then
// unavailable (0), and the raw figure stays in the metrics.
func TestMeasurementMaxRSSFloor(t *testing.T) {
	for _, tc := range []struct {
		name         string
		maxrss, shim int64
		want         int64
	}{
		{"above the shim's", 30 << 20, 9 << 20, 30 << 20},
		{"equal to the shim's", 9 << 20, 9 << 20, 0},
		{"below the shim's", 2 << 20, 9 << 20, 0},
		{"shim's unknown", 30 << 20, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := shimrun.Result{Version: 1, MaxRSS: tc.maxrss, ShimMaxRSS: tc.shim, Leftover: -1,
				Cgroup: &shimrun.Cgroup{Version: 2, CPU: -1, User: -1, Sys: -1, Throttled: -1, MemPeak: 12 << 20, PidsPeak: -1}}
			m := measurement(r, map[string]float64{})
			if m.MaxRSS != tc.want {
				t.Errorf("MaxRSS = %d, want %d", m.MaxRSS, tc.want)
			}
			if m.Metrics["rusage_maxrss_bytes"] != float64(tc.maxrss) || m.Metrics["container_mem_peak_bytes"] != 12<<20 {
				t.Errorf("metrics %v: want the raw rusage and the container's peak kept", m.Metrics)
			}
		})
	}
}

// cgroupFixtures are internal/cgroup's fixture trees: container-* are
// /sys/fs/cgroup as a container sees it.
const cgroupFixtures = "../../internal/cgroup/testdata/"

func TestReadCgroup(t *testing.T) {
	tests := []struct {
		name    string
		root    string
		want    *shimrun.Cgroup
		wantErr bool
	}{
		{name: "v1", root: cgroupFixtures + "container-v1", want: &shimrun.Cgroup{Version: 1, CPU: 28752780, User: 8000000, Sys: 19957587, Throttled: 3500000, MemPeak: 4075520, MemCurrent: 3813376, PidsPeak: 6, PidsCurrent: 1}},
		{name: "v1 combined cpu,cpuacct", root: cgroupFixtures + "container-v1-combined", want: &shimrun.Cgroup{Version: 1, CPU: 1000000, User: -1, Sys: -1, Throttled: 0, MemPeak: 2000, MemCurrent: -1, PidsPeak: -1, PidsCurrent: -1}},
		{name: "hybrid prefers v1", root: cgroupFixtures + "container-hybrid", want: &shimrun.Cgroup{Version: 1, CPU: 5000, User: -1, Sys: -1, Throttled: -1, MemPeak: -1, MemCurrent: -1, PidsPeak: -1, PidsCurrent: -1}},
		{name: "v2", root: cgroupFixtures + "container-v2", want: &shimrun.Cgroup{Version: 2, CPU: 31340000, User: 16000000, Sys: 15340000, Throttled: 120000, MemPeak: 3940352, MemCurrent: 1200128, PidsPeak: 7, PidsCurrent: 1}},
		{name: "v2 kernel without memory.peak", root: cgroupFixtures + "container-v2-no-peak", want: &shimrun.Cgroup{Version: 2, CPU: 500000, User: 300000, Sys: 200000, Throttled: -1, MemPeak: -1, MemCurrent: 65536, PidsPeak: -1, PidsCurrent: -1}},
		{name: "none", root: cgroupFixtures + "container-none", wantErr: true},
		{name: "missing root", root: cgroupFixtures + "nonexistent", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := shimrun.ReadCgroup(tt.root)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("got %+v, want an error", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// TestReadCgroupMalformed: a malformed file is an error naming it, sent
// with the figures that could be read (it used to be a silent -1).
func TestReadCgroupMalformed(t *testing.T) {
	root := t.TempDir()
	for name, data := range map[string]string{"cgroup.controllers": "cpu memory\n", "cpu.stat": "usage_usec 7\n", "memory.peak": "12k\n"} {
		if err := os.WriteFile(root+"/"+name, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := shimrun.ReadCgroup(root)
	if err == nil || !strings.Contains(err.Error(), root+"/memory.peak") {
		t.Errorf("err = %v, want one naming memory.peak", err)
	}
	if got == nil || got.Version != 2 || got.CPU != 7000 || got.MemPeak != -1 {
		t.Errorf("got %+v, want v2 with CPU 7000 and MemPeak -1", got)
	}
}

func TestNewValidatesConfig(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr string // "" means valid
	}{
		{name: "tcp", cfg: Config{Node: "n", Host: "tcp://10.0.0.1:2375"}},
		{name: "unix", cfg: Config{Node: "n", Host: "unix:///var/run/docker.sock", ShimDir: "/opt/bin"}},
		{name: "tls", cfg: Config{Node: "n", Host: "tcp://h:2376", TLS: &TLS{CA: "/c/ca.pem", Cert: "/c/cert.pem", Key: "/c/key.pem"}}, wantErr: "no such file"},
		{name: "arch alias", cfg: Config{Node: "n", Host: "tcp://h:2375", Arch: "aarch64"}},
		{name: "no name", cfg: Config{Host: "tcp://h:2375"}, wantErr: "no name"},
		{name: "no host", cfg: Config{Node: "n"}, wantErr: "no engine address"},
		{name: "ssh", cfg: Config{Node: "n", Host: "ssh://u@h"}, wantErr: "not supported"},
		{name: "tcp without port", cfg: Config{Node: "n", Host: "tcp://h"}, wantErr: "want tcp://host:port"},
		{name: "garbage", cfg: Config{Node: "n", Host: "::::"}, wantErr: "engine address"},
		{name: "tls on unix", cfg: Config{Node: "n", Host: "unix:///s", TLS: &TLS{CA: "/ca"}}, wantErr: "needs a tcp"},
		{name: "tls relative", cfg: Config{Node: "n", Host: "tcp://h:1", TLS: &TLS{CA: "ca.pem"}}, wantErr: "not absolute"},
		{name: "tls cert without key", cfg: Config{Node: "n", Host: "tcp://h:1", TLS: &TLS{Cert: "/cert.pem"}}, wantErr: "go together"},
		{name: "unknown arch", cfg: Config{Node: "n", Host: "tcp://h:1", Arch: "vax"}, wantErr: "unknown architecture"},
		{name: "relative shim dir", cfg: Config{Node: "n", Host: "tcp://h:1", ShimDir: "bin"}, wantErr: "not absolute"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := New(tt.cfg)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				e.Close()
				return
			}
			if err == nil {
				e.Close()
				t.Fatalf("no error, want one containing %q", tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) || benchrig.ErrorCode(err) != benchrig.EInvalid {
				t.Errorf("err = %v (code %s), want EInvalid containing %q", err, benchrig.ErrorCode(err), tt.wantErr)
			}
		})
	}
	e, err := New(Config{Node: "n", Host: "tcp://h:2375", Arch: "aarch64"})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if e.cfg.Arch != "arm64" {
		t.Errorf("arch %q, want it normalized to arm64", e.cfg.Arch)
	}
}

func TestCheck(t *testing.T) {
	job := func(edit func(*runner.Job)) runner.Job {
		j := runner.Job{Argv: []string{"true"}, Container: &runner.Container{Image: "busybox"}}
		if edit != nil {
			edit(&j)
		}
		return j
	}
	all := benchrig.PoolPolicy{Privileged: true, HostMounts: []string{"/"}, HostMountsRW: true, Devices: true, HostNetwork: true}
	data := benchrig.PoolPolicy{HostMounts: []string{"/data"}}
	tests := []struct {
		name    string
		policy  benchrig.PoolPolicy
		job     runner.Job
		wantErr string
	}{
		{name: "plain", job: job(nil)},
		{name: "resources", job: job(func(j *runner.Job) {
			j.Container.CPUs, j.Container.CPUSet, j.Container.MemoryBytes, j.Container.Network = 1.5, "0", 64<<20, "bridge"
		})},
		{name: "read cap on a device", job: job(func(j *runner.Job) { j.ReadBPS, j.ReadDevice = 1<<20, "/dev/vda" })},
		{name: "no container", job: runner.Job{Argv: []string{"true"}}, wantErr: "needs a container job"},
		{name: "no command", job: job(func(j *runner.Job) { j.Argv = nil }), wantErr: "no command"},
		{name: "no image", job: job(func(j *runner.Job) { j.Container.Image = "" }), wantErr: "no image"},
		{name: "cold cache", job: job(func(j *runner.Job) { j.DropCaches = true }), wantErr: "cannot drop a node's page cache"},
		{name: "read cap on a directory", job: job(func(j *runner.Job) { j.ReadBPS, j.ReadDevice = 1<<20, "/data" }), wantErr: "needs the device node"},
		{name: "bad platform", job: job(func(j *runner.Job) { j.Container.Platform = "arm64" }), wantErr: "want linux/ARCH"},
		{name: "privileged", job: job(func(j *runner.Job) { j.Container.Privileged = true }), wantErr: "policy: {privileged: true}"},
		{name: "host mount", job: job(func(j *runner.Job) { j.Container.Mounts = []runner.Mount{{Source: "/data", Target: "/data"}} }), wantErr: "container.mounts[0]: mount /data (read-write) refused on node lab9: pool lab allows no host mounts"},
		{name: "host mount under an allowed path", policy: data, job: job(func(j *runner.Job) {
			j.Container.Mounts = []runner.Mount{{Source: "/data/set1", Target: "/in", ReadOnly: true}}
		})},
		{name: "host mount outside the allowed paths", policy: data, job: job(func(j *runner.Job) {
			j.Container.Mounts = []runner.Mount{{Source: "/data/../etc", Target: "/in", ReadOnly: true}}
		}), wantErr: "has a .. element"},
		{name: "host mount read-write", policy: data, job: job(func(j *runner.Job) { j.Container.Mounts = []runner.Mount{{Source: "/data", Target: "/data"}} }), wantErr: "read-only mounts only"},
		{name: "device", job: job(func(j *runner.Job) { j.Container.Devices = []string{"/dev/fuse"} }), wantErr: "policy: {devices: true}"},
		{name: "host network", job: job(func(j *runner.Job) { j.Container.Network = "host" }), wantErr: "policy: {host_network: true}"},
		{name: "all allowed", policy: all, job: job(func(j *runner.Job) {
			j.Container.Privileged, j.Container.Network = true, "host"
			j.Container.Mounts = []runner.Mount{{Source: "/data", Target: "/data", ReadOnly: true}}
			j.Container.Devices = []string{"/dev/fuse", "/dev/sda:/dev/xvda"}
		})},
		{name: "relative mount", policy: all, job: job(func(j *runner.Job) { j.Container.Mounts = []runner.Mount{{Source: "data", Target: "/data"}} }), wantErr: "absolute"},
		{name: "mount over the shim", policy: all, job: job(func(j *runner.Job) { j.Container.Mounts = []runner.Mount{{Source: "/x", Target: "/.benchrig"}} }), wantErr: "timing shim"},
		{name: "bad device", policy: all, job: job(func(j *runner.Job) { j.Container.Devices = []string{"fuse"} }), wantErr: "want /dev/x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := New(Config{Node: "lab9", Pool: "lab", Host: "tcp://127.0.0.1:1", Policy: tt.policy})
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			err = e.Check(tt.job)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "node lab9") {
				t.Fatalf("err = %v, want one naming node lab9 and containing %q", err, tt.wantErr)
			}
			if benchrig.ErrorCode(err) != benchrig.EInvalid {
				t.Errorf("code %s, want invalid", benchrig.ErrorCode(err))
			}
		})
	}
}

func TestContainerConfig(t *testing.T) {
	e, err := New(Config{Node: "n", Host: "tcp://127.0.0.1:1", Owner: "h/1/2"})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	j := runner.Job{Argv: []string{"grep", "-c", "x"}, Env: []string{"A=1"}, Dir: "/w", Timeout: 2 * time.Second, ReadBPS: 1000, ReadDevice: "/dev/vda",
		Container: &runner.Container{Image: "img", Labels: map[string]string{runner.LabelRun: "r1"}, CPUs: 0.5, CPUSet: "1", MemoryBytes: 1 << 26}}
	cfg, hc := e.containerConfig(j, "vol", false)
	if !reflect.DeepEqual(cfg.Entrypoint, []string{"/.benchrig/shim"}) || !reflect.DeepEqual(cfg.Cmd, []string{"-timeout", "2s", "--", "grep", "-c", "x"}) {
		t.Errorf("entrypoint %q cmd %q", cfg.Entrypoint, cfg.Cmd)
	}
	if cfg.Labels[runner.LabelRun] != "r1" || cfg.Labels[runner.LabelOwner] != "h/1/2" || cfg.WorkingDir != "/w" || cfg.Env[0] != "A=1" {
		t.Errorf("config %+v", cfg)
	}
	if hc.NetworkMode != "none" || hc.NanoCPUs != 5e8 || hc.CpusetCpus != "1" || hc.Memory != 1<<26 || hc.AutoRemove {
		t.Errorf("host config %+v", hc)
	}
	if len(hc.BlkioDeviceReadBps) != 1 || hc.BlkioDeviceReadBps[0].Path != "/dev/vda" || hc.BlkioDeviceReadBps[0].Rate != 1000 {
		t.Errorf("read bps %+v", hc.BlkioDeviceReadBps)
	}
	if len(hc.Mounts) != 1 || hc.Mounts[0].Source != "vol" || !hc.Mounts[0].ReadOnly || hc.Mounts[0].Target != "/.benchrig" {
		t.Errorf("mounts %+v", hc.Mounts)
	}
	j.DigestStdout = true
	if cfg, _ := e.containerConfig(j, "vol", false); !reflect.DeepEqual(cfg.Cmd, []string{"-timeout", "2s", "-digest", "--", "grep", "-c", "x"}) {
		t.Errorf("with DigestStdout: cmd %q", cfg.Cmd)
	}
	// Held (a profiled trial): the shim waits on stdin, which is open to
	// the attach stream and closes with it.
	cfg, _ = e.containerConfig(j, "vol", true)
	if cfg.Cmd[0] != "-hold" || !cfg.OpenStdin || !cfg.StdinOnce || !cfg.AttachStdin {
		t.Errorf("held: cmd %q, stdin open %v once %v attached %v", cfg.Cmd, cfg.OpenStdin, cfg.StdinOnce, cfg.AttachStdin)
	}
}

func TestOwnerDead(t *testing.T) {
	host, _ := os.Hostname()
	pid := os.Getpid()
	start, err := procStart("/proc", pid)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	gone := cmd.Process.Pid // reaped: gone unless recycled within the test
	self := host + "/" + strconv.Itoa(pid) + "/" + start
	tests := []struct {
		name  string
		owner string
		want  bool
	}{
		{name: "ourselves", owner: self, want: false},
		{name: "live process", owner: host + "/1/" + mustStart(t, 1), want: false},
		{name: "recycled pid", owner: host + "/" + strconv.Itoa(pid) + "/1", want: true},
		{name: "dead pid", owner: host + "/" + strconv.Itoa(gone) + "/1", want: true},
		{name: "other host", owner: "elsewhere/" + strconv.Itoa(gone) + "/1", want: false},
		{name: "malformed", owner: "garbage", want: false},
		{name: "empty", owner: "", want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ownerDead(tt.owner, self, host, "/proc"); got != tt.want {
				t.Errorf("ownerDead(%q) = %v, want %v", tt.owner, got, tt.want)
			}
		})
	}
	if DefaultOwner() != self {
		t.Errorf("DefaultOwner() = %q, want %q", DefaultOwner(), self)
	}
}

func mustStart(t *testing.T, pid int) string {
	s, err := procStart("/proc", pid)
	if err != nil {
		testenv.Skipf(t, "no /proc/%d: %v", pid, err)
	}
	return s
}

func TestShimMissing(t *testing.T) {
	e, err := New(Config{Node: "lab9", Host: "tcp://127.0.0.1:1", ShimDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	_, err = e.shim("arm64")
	var be *benchrig.Error
	if !errors.As(err, &be) || be.Code != benchrig.EInvalid || !strings.Contains(err.Error(), "benchrig-shim-linux-arm64 is missing") || !strings.Contains(err.Error(), "GOARCH=arm64 go build") {
		t.Errorf("err = %v, want EInvalid saying how to build the arm64 shim", err)
	}
}
