package cgroup

import (
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestParsePaths(t *testing.T) {
	hybrid, err := os.ReadFile(hybridProc + "/self/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		in      string
		want    Paths
		wantErr bool
	}{
		{
			name: "hybrid host",
			in:   string(hybrid),
			want: Paths{
				V1: map[string]string{
					"pids": "/", "blkio": "/", "freezer": "/", "devices": "/", "cpuset": "/", "cpuacct": "/", "cpu": "/",
					"memory": memOwn,
				},
				V2: "/", HasV2: true,
			},
		},
		{
			name: "co-mounted controllers",
			in:   "4:cpu,cpuacct:/docker/abc\n3:name=systemd:/x\n",
			want: Paths{V1: map[string]string{"cpu": "/docker/abc", "cpuacct": "/docker/abc"}},
		},
		{
			name: "pure v2",
			in:   "0::/system.slice/benchrig.service\n",
			want: Paths{V1: map[string]string{}, V2: "/system.slice/benchrig.service", HasV2: true},
		},
		{name: "malformed", in: "garbage\n", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePaths([]byte(tt.in))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if !tt.wantErr && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestReadPaths(t *testing.T) {
	p, err := ReadPaths(v2Proc, Self)
	if err != nil || p.V2 != "/system.slice/benchrig.service" {
		t.Errorf("self: %+v, %v", p, err)
	}
	if _, err := ReadPaths(v2Proc, 42); err == nil || !strings.Contains(err.Error(), "42/cgroup") {
		t.Errorf("pid 42: err = %v, want one naming 42/cgroup", err)
	}
	bad := t.TempDir()
	if err := os.MkdirAll(bad+"/7", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad+"/7/cgroup", []byte("nonsense\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadPaths(bad, 7); err == nil || !strings.Contains(err.Error(), "7/cgroup") {
		t.Errorf("malformed: err = %v, want one naming the file", err)
	}
}

func TestProcs(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		content string // "" for no file
		want    []int
		wantErr bool
	}{
		{name: "two", content: "12\n345\n", want: []int{12, 345}},
		{name: "empty", content: "\n"},
		{name: "not a pid", content: "12\nx\n", wantErr: true},
		{name: "absent", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := dir + "/" + strings.ReplaceAll(tt.name, " ", "-")
			if err := os.Mkdir(d, 0o755); err != nil {
				t.Fatal(err)
			}
			if tt.content != "" {
				if err := os.WriteFile(d+"/cgroup.procs", []byte(tt.content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got, err := Procs(d)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), "cgroup.procs") {
				t.Errorf("err = %v, want one naming cgroup.procs", err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}
