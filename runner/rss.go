package runner

// OwnMaxRSS is a trial's peak memory as far as rusage can tell it: the
// rusage maxrss of its tree (main process and waited-for descendants) when
// that exceeds the peak of the process that started it (floor), else 0,
// unavailable. At exec the kernel folds the hiwater RSS of the replaced mm
// into the child's maxrss, and Go starts children with vfork (CLONE_VM),
// so that mm is the starter's: a figure at or below the starter's own peak
// may be the starter's, and reporting it as the trial's would be wrong (a
// 1.8 MB command shown as 16.5 MB). The starter is benchrig for the local
// executor and the shim in a container. floor <= 0 (the starter's peak
// unknown) also makes it unavailable.
func OwnMaxRSS(maxrss, floor int64) int64 {
	if floor <= 0 || maxrss <= floor {
		return 0
	}
	return maxrss
}
