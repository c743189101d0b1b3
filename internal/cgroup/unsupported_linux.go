package cgroup

import (
	"errors"
	"syscall"
)

// unsupported says a file exists but the kernel will not serve it: the
// pressure files fail with EOPNOTSUPP when PSI is disabled.
func unsupported(err error) bool {
	return errors.Is(err, syscall.EOPNOTSUPP)
}
