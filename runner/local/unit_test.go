package local

import (
	"testing"
	"time"
)

func TestParseProcStat(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    procStat
		alive   bool
		wantErr bool
	}{
		{name: "running", in: "4242 (sleep) S 1 4240 4240 0 -1 4194304 100 0 0 0", want: procStat{'S', 4240, 4194304}, alive: true},
		{name: "name with parens and spaces", in: "7 (a) b (c) R 1 7 7 0 -1 4194560 0", want: procStat{'R', 7, 4194560}, alive: true},
		{name: "exiting", in: "9 (sh) R 1 9 9 0 -1 4194308 0", want: procStat{'R', 9, 4194308}, alive: false},
		{name: "zombie", in: "9 (sh) Z 1 9 9 0 -1 4227084 0", want: procStat{'Z', 9, 4227084}, alive: false},
		{name: "short", in: "9 (sh) R 1", wantErr: true},
		{name: "no name", in: "9 sh R 1 9 9 0 -1 0", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseProcStat([]byte(tt.in))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if tt.wantErr {
				return
			}
			if got != tt.want || got.alive() != tt.alive {
				t.Errorf("got %+v alive=%v, want %+v alive=%v", got, got.alive(), tt.want, tt.alive)
			}
		})
	}
}

func TestSplitCPU(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name                          string
		total, user, sys, rUser, rSys time.Duration
		wantUser, wantSys             time.Duration
	}{
		{name: "kernel split scaled to exact total", total: 100 * ms, user: 30 * ms, sys: 90 * ms, wantUser: 25 * ms, wantSys: 75 * ms},
		{name: "no ticks: rusage split", total: 10 * ms, rUser: 1 * ms, rSys: 3 * ms, wantUser: 2500 * time.Microsecond, wantSys: 7500 * time.Microsecond},
		{name: "nothing to go by: user, as the kernel does", total: 1 * ms, wantUser: 1 * ms},
		{name: "zero total", total: 0, user: 5, sys: 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, s := splitCPU(tt.total, tt.user, tt.sys, tt.rUser, tt.rSys)
			if u != tt.wantUser || s != tt.wantSys {
				t.Errorf("got %v/%v, want %v/%v", u, s, tt.wantUser, tt.wantSys)
			}
		})
	}
}
