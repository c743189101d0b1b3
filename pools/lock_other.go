//go:build !unix

package pools

import "errors"

// lock is not implemented off unix; benchrig runs its nodes from Linux.
func lock(path string) (func(), error) {
	return nil, errors.New("locking the pools file is only supported on unix")
}
