//go:build !linux

package collect

import "time"

// threadCPU and processCost measure nothing outside Linux, where the
// collector has no cgroups to read anyway; its cost then reads 0.
func threadCPU() time.Duration                       { return 0 }
func processCost() (cpu time.Duration, maxRSS int64) { return 0, 0 }
