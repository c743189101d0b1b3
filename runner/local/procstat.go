package local

// Pure parsing of /proc/<pid>/stat: it reads through the proc root it is
// given and compiles on every platform. Cgroup files are read by
// internal/cgroup.

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// procStat is what the executor needs of /proc/<pid>/stat.
type procStat struct {
	State byte
	Pgrp  int
	Flags uint64
}

// pfExiting is PF_EXITING in the flags field: set as a process starts to
// exit, before it closes its files and leaves its cgroup.
const pfExiting = 0x4

// alive reports whether the process is running rather than on its way out:
// a tree member that just closed our pipes by exiting is not a leftover.
func (s procStat) alive() bool {
	return s.State != 'Z' && s.State != 'X' && s.Flags&pfExiting == 0
}

// parseProcStat parses a /proc/<pid>/stat line. The command name may hold
// spaces and parentheses, so fields are counted after the last ')'.
func parseProcStat(data []byte) (procStat, error) {
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return procStat{}, errors.New("stat: no command name")
	}
	// After the name: state ppid pgrp session tty_nr tpgid flags ...
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 7 || len(f[0]) != 1 {
		return procStat{}, fmt.Errorf("stat: short line %q", data)
	}
	pgrp, err := strconv.Atoi(f[2])
	if err != nil {
		return procStat{}, fmt.Errorf("stat pgrp: %w", err)
	}
	flags, err := strconv.ParseUint(f[6], 10, 64)
	if err != nil {
		return procStat{}, fmt.Errorf("stat flags: %w", err)
	}
	return procStat{State: f[0][0], Pgrp: pgrp, Flags: flags}, nil
}

// readProcStat reads /proc/<pid>/stat through procRoot.
func readProcStat(procRoot string, pid int) (procStat, error) {
	data, err := os.ReadFile(filepath.Join(procRoot, strconv.Itoa(pid), "stat"))
	if err != nil {
		return procStat{}, err
	}
	return parseProcStat(data)
}
