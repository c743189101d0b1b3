package collect

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/benchrig/benchrig"
)

// FakeSMI is an SMI made of functions.
type FakeSMI struct {
	OutputFn func(ctx context.Context, args ...string) ([]byte, error)
	StreamFn func(ctx context.Context, args ...string) (io.ReadCloser, error)
}

var _ SMI = (*FakeSMI)(nil)

func (f *FakeSMI) Output(ctx context.Context, args ...string) ([]byte, error) {
	return f.OutputFn(ctx, args...)
}

func (f *FakeSMI) Stream(ctx context.Context, args ...string) (io.ReadCloser, error) {
	return f.StreamFn(ctx, args...)
}

func smiFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "nvidia-smi", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const mib = 1 << 20

func TestParseSMIOutputs(t *testing.T) {
	a40 := func(i int, bus string) benchrig.GPU {
		return benchrig.GPU{Index: i, Name: "NVIDIA A40", BusID: "00000000:" + bus + ":00.0", MemoryBytes: 46068 * mib}
	}
	for _, tc := range []struct {
		file  string
		parse func([]byte) (*benchrig.Accelerators, error)
		want  benchrig.Accelerators
		str   string
	}{
		{"xml-510.47.03-tesla-p100-trimmed.xml", ParseSMIXML, benchrig.Accelerators{Source: "nvidia-smi", Driver: "510.47.03", CUDA: "11.6",
			GPUs: []benchrig.GPU{{Index: 0, Name: "Tesla P100-PCIE-16GB", UUID: "GPU-d3da8716-eaab-75db-efc1-60e88e1cd55e", BusID: "00000000:00:04.0", MemoryBytes: 16384 * mib}}},
			"1 x Tesla P100-PCIE-16GB (16.0 GiB), driver 510.47.03, CUDA 11.6"},
		{"table-590.48.01-h100-mig.txt", ParseSMITable, benchrig.Accelerators{Source: "nvidia-smi", Driver: "590.48.01", CUDA: "13.1",
			GPUs: []benchrig.GPU{{Index: 0, Name: "NVIDIA H100 80GB HBM3", BusID: "00000000:00:09.0", MemoryBytes: 81559 * mib, MIG: true, MIGDevices: 4}}},
			"1 x NVIDIA H100 80GB HBM3 (79.6 GiB), 4 MIG devices, driver 590.48.01, CUDA 13.1"},
		{"table-550.127.05-a40x10.txt", ParseSMITable, benchrig.Accelerators{Source: "nvidia-smi", Driver: "550.127.05", CUDA: "12.4",
			GPUs: []benchrig.GPU{a40(0, "4F"), a40(1, "52"), a40(2, "53"), a40(3, "56"), a40(4, "57"), a40(5, "CE"), a40(6, "D1"), a40(7, "D2"), a40(8, "D5"), a40(9, "D6")}},
			"10 x NVIDIA A40 (45.0 GiB), driver 550.127.05, CUDA 12.4"},
		// Drivers before 410 print no CUDA version in the header.
		{"table-331.62-gtx680-trimmed.txt", ParseSMITable, benchrig.Accelerators{Source: "nvidia-smi", Driver: "331.62",
			GPUs: []benchrig.GPU{
				{Index: 0, Name: "GeForce GTX 680", BusID: "0000:03:00.0", MemoryBytes: 4095 * mib},
				{Index: 1, Name: "GeForce GTX 680", BusID: "0000:04:00.0", MemoryBytes: 4095 * mib},
				{Index: 2, Name: "GeForce GTX 680", BusID: "0000:83:00.0", MemoryBytes: 4095 * mib}}},
			"3 x GeForce GTX 680 (4.0 GiB), driver 331.62"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			got, err := tc.parse(smiFixture(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", *got, tc.want)
			}
			if s := got.String(); s != tc.str {
				t.Errorf("String() = %q, want %q", s, tc.str)
			}
		})
	}
}

func TestParseSMIBadInput(t *testing.T) {
	if _, err := ParseSMITable([]byte("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.")); err == nil {
		t.Error("ParseSMITable took a failure message for a table")
	}
	if _, err := ParseSMIXML([]byte("<nvidia_smi_log><gpu>")); err == nil {
		t.Error("ParseSMIXML took truncated XML")
	}
}

func TestQueryRows(t *testing.T) {
	for _, tc := range []struct {
		file   string
		fields []string // the query, for output without a header
		want   []map[string]string
	}{
		// A header with units (csv,nounits keeps them in the header only).
		{"query-510.47.03-tesla-p100.csv", nil, []map[string]string{{
			"name": "Tesla P100-PCIE-16GB", "uuid": "GPU-ef1b2c9b-38d8-2090-2bd1-f567a3eb42a6", "fan.speed": "[N/A]", "pstate": "P0",
			"memory.reserved": "103", "memory.used": "0", "memory.free": "16280", "utilization.gpu": "0", "utilization.memory": "0",
			"temperature.gpu": "37", "power.draw": "28.16", "clocks.current.graphics": "405", "clocks.current.sm": "405",
			"clocks.current.memory": "715", "clocks.current.video": "835"}}},
		// No header: the query names the columns.
		{"query-440.64-rtx2080-noheader.csv", strings.Split("power.limit,power.min_limit,power.max_limit,memory.total,vbios_version,driver_version,name,gpu_uuid,power.draw,temperature.gpu,temperature.memory,clocks.current.graphics,clocks.sm,clocks.mem,utilization.gpu,utilization.memory,fan.speed,pcie.link.width.current,pstate", ","),
			[]map[string]string{{"power.limit": "200.00", "power.min_limit": "105.00", "power.max_limit": "292.00", "memory.total": "7979",
				"vbios_version": "90.04.23.00.5F", "driver_version": "440.64", "name": "GeForce RTX 2080", "gpu_uuid": "GPU-22b2c6ac-2d49-4863-197c-9c469071178a",
				"power.draw": "176.98", "temperature.gpu": "45", "temperature.memory": "N/A", "clocks.current.graphics": "1965", "clocks.sm": "1965",
				"clocks.mem": "7199", "utilization.gpu": "86", "utilization.memory": "55", "fan.speed": "100", "pcie.link.width.current": "8", "pstate": "P2"}}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			var got []map[string]string
			if err := QueryRows(bytes.NewReader(smiFixture(t, tc.file)), tc.fields, func(m map[string]string) { got = append(got, m) }); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %v\nwant %v", got, tc.want)
			}
		})
	}
}

// A host without nvidia-smi has no accelerators, and says why: this
// machine, for real, and a fake that reports it missing.
func TestAcceleratorsWithoutNvidiaSMI(t *testing.T) {
	ctx := context.Background()
	missing := &FakeSMI{OutputFn: func(context.Context, ...string) ([]byte, error) { return nil, ErrNoSMI }}
	for name, smi := range map[string]SMI{"fake": missing, "this host": ExecSMI{}} {
		t.Run(name, func(t *testing.T) {
			if name == "this host" {
				if _, err := (ExecSMI{}).path(); err == nil {
					t.Skip("this host has nvidia-smi")
				}
			}
			a := Accelerators(ctx, smi)
			if a.Count() != 0 || a.GPUs == nil || a.Note != "nvidia-smi not found" {
				t.Errorf("got %+v, want no GPUs, noted", a)
			}
			if s := a.String(); s != "none (nvidia-smi not found)" {
				t.Errorf("String() = %q", s)
			}
		})
	}
	fp := benchrig.Fingerprint{Hostname: "h", OS: "linux", Arch: "amd64", Kernel: "6.1", CPUs: 2, CPUModel: "X", MemoryBytes: 1 << 30,
		Accelerators: Accelerators(ctx, missing)}
	if s := fp.String(); !strings.HasSuffix(s, ", accelerators: none (nvidia-smi not found)") {
		t.Errorf("fingerprint %q does not say there are no accelerators", s)
	}
	fp.Accelerators = nil // a run recorded before: nothing said
	if s := fp.String(); strings.Contains(s, "accelerators") {
		t.Errorf("fingerprint %q speaks of accelerators nobody looked for", s)
	}
}

func TestAcceleratorsFallsBackToTheTable(t *testing.T) {
	xmlDoc, table := smiFixture(t, "xml-510.47.03-tesla-p100-trimmed.xml"), smiFixture(t, "table-550.127.05-a40x10.txt")
	for _, tc := range []struct {
		name        string
		xml         []byte
		xmlErr      error
		wantGPUs    int
		wantDriver  string
		wantCUDA    string
		wantNoteHas string
	}{
		{"xml answers", xmlDoc, nil, 1, "510.47.03", "11.6", ""},
		{"xml fails", nil, errors.New("exit status 2"), 10, "550.127.05", "12.4", ""},
		{"xml without cuda", bytes.ReplaceAll(xmlDoc, []byte("<cuda_version>11.6</cuda_version>"), nil), nil, 1, "510.47.03", "12.4", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			smi := &FakeSMI{OutputFn: func(_ context.Context, args ...string) ([]byte, error) {
				if len(args) > 0 {
					return tc.xml, tc.xmlErr
				}
				return table, nil
			}}
			a := Accelerators(context.Background(), smi)
			if a.Count() != tc.wantGPUs || a.Driver != tc.wantDriver || a.CUDA != tc.wantCUDA {
				t.Errorf("got %d GPUs, driver %q, CUDA %q; want %d, %q, %q", a.Count(), a.Driver, a.CUDA, tc.wantGPUs, tc.wantDriver, tc.wantCUDA)
			}
		})
	}
	// Both failing: none, with nvidia-smi's failure.
	smi := &FakeSMI{OutputFn: func(context.Context, ...string) ([]byte, error) {
		return nil, errors.New("nvidia-smi -q -x: exit status 9: NVIDIA-SMI has failed")
	}}
	if a := Accelerators(context.Background(), smi); a.Count() != 0 || !strings.Contains(a.Note, "NVIDIA-SMI has failed") {
		t.Errorf("got %+v", a)
	}
}

// The GPU sampler reads a recorded nvidia-smi loop (the header once, then
// a line per GPU per iteration) and keeps each GPU's latest reading.
func TestGPUSamplerReadsALoop(t *testing.T) {
	var gotArgs []string
	smi := &FakeSMI{StreamFn: func(_ context.Context, args ...string) (io.ReadCloser, error) {
		gotArgs = args
		return io.NopCloser(bytes.NewReader(smiFixture(t, "loop-520.56.06-rtx.csv"))), nil
	}}
	g := newGPUSampler(smi, 250*time.Millisecond)
	g.run(context.Background())
	want := []string{"--query-gpu=index,uuid,utilization.gpu,utilization.memory,memory.used,memory.total,power.draw,temperature.gpu", "--format=csv,nounits", "--loop-ms=250"}
	if !reflect.DeepEqual(gotArgs, want) {
		t.Errorf("nvidia-smi %q, want %q", gotArgs, want)
	}
	var hs benchrig.Sample
	err := g.fill(&hs)
	// The recording ends: a loop that ends before the run is an error.
	if err == nil || !strings.Contains(err.Error(), "loop ended") {
		t.Errorf("err = %v", err)
	}
	if len(hs.GPUs) != 1 {
		t.Fatalf("GPUs %+v, want one", hs.GPUs)
	}
	s := hs.GPUs[0]
	// The last line: 0, 55, 25 %, 4 %, 34 %, P3, 83.43 W, ...
	if s.Index != 0 || *s.Utilization != 25 || *s.MemoryUtilization != 4 || *s.PowerWatts != 83.43 || *s.TemperatureC != 55 {
		t.Errorf("sample %+v", s)
	}
	if s.MemoryUsed != nil || s.MemoryTotal != nil || s.UUID != "" {
		t.Errorf("figures the recording lacks are set: %+v", s)
	}
}

func TestGPUSamplerWithoutNvidiaSMI(t *testing.T) {
	g := newGPUSampler(ExecSMI{Path: filepath.Join(t.TempDir(), "nvidia-smi")}, time.Second)
	g.run(context.Background())
	var hs benchrig.Sample
	if err := g.fill(&hs); err == nil || hs.GPUs != nil {
		t.Errorf("err %v, GPUs %v: want an error and none", err, hs.GPUs)
	}
}

// The collector adds the GPUs to its host samples, and nvidia-smi runs
// once for the whole run, not once a sample.
func TestCollectorSamplesGPUs(t *testing.T) {
	starts := 0
	smi := &FakeSMI{StreamFn: func(ctx context.Context, _ ...string) (io.ReadCloser, error) {
		starts++
		pr, pw := io.Pipe()
		go func() {
			pw.Write(smiFixture(t, "loop-520.56.06-rtx.csv"))
			<-ctx.Done() // a loop runs until it is stopped
			pw.Close()
		}()
		return pr, nil
	}}
	sink := &memSink{}
	c, err := New(Config{Sink: sink, CgroupRoot: t.TempDir(), Host: true, GPU: smi, Interval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 450*time.Millisecond)
	defer cancel()
	if err := c.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if starts != 1 {
		t.Errorf("nvidia-smi started %d times, want once", starts)
	}
	withGPU := 0
	for _, s := range sink.all() {
		if s.Kind == benchrig.SampleHost && s.Host != nil && len(s.GPUs) == 1 {
			withGPU++
		}
	}
	if withGPU == 0 {
		t.Errorf("no host sample has the GPU: %d samples", len(sink.all()))
	}
}
