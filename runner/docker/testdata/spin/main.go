// Command spin keeps a CPU busy for a while (its argument, a duration) in
// one function, spinLoop, so that a profile of it names that function:
// the profiling lab test mounts it into a container at a path the host
// does not have, so the name can come only from the container's files.
package main

import (
	"fmt"
	"os"
	"time"
)

func main() {
	d, err := time.ParseDuration(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	fmt.Println(spinLoop(d))
}

//go:noinline
func spinLoop(d time.Duration) uint64 {
	var x uint64
	for end := time.Now().Add(d); time.Now().Before(end); {
		for i := 0; i < 100000; i++ {
			x = x*6364136223846793005 + 1442695040888963407
		}
	}
	return x
}
