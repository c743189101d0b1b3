package shimrun

import (
	"fmt"

	"github.com/benchrig/benchrig/internal/cgroup"
)

// ReadCgroup reads the figures of the cgroup mounted at root (inside a
// container: /sys/fs/cgroup, which is the container's own cgroup), with
// internal/cgroup: on a hybrid host the v1 controllers' figures. A file
// that could not be read or parsed is an error naming it, returned with
// the figures that could.
func ReadCgroup(root string) (*Cgroup, error) {
	r, err := cgroup.Detect(root)
	if err != nil {
		return nil, err
	}
	version := 1
	switch r.Mode {
	case cgroup.None:
		return nil, fmt.Errorf("no cgroup hierarchy at %s", root)
	case cgroup.V2:
		version = 2
	}
	st, err := cgroup.Read(r.Top())
	return &Cgroup{
		Version:     version,
		CPU:         int64(st.CPU),
		User:        int64(st.User),
		Sys:         int64(st.Sys),
		Throttled:   int64(st.Throttled),
		MemPeak:     st.MemoryPeak,
		MemCurrent:  st.MemoryCurrent,
		PidsPeak:    st.PidsPeak,
		PidsCurrent: st.PidsCurrent,
	}, err
}
