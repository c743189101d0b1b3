//go:build !linux

package cgroup

// unsupported: only Linux has cgroups; elsewhere only fixture trees are read.
func unsupported(error) bool { return false }
