//go:build unix

// Package cputime reads the CPU time of the process, which the benchmarks report beside the wall clock: other work
// on a shared machine slows the clock, but hardly the CPU time a piece of work needs.
package cputime

import (
	"syscall"
	"time"
)

// Process is the CPU time (user and system) the process used so far.
func Process() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(syscall.TimevalToNsec(ru.Utime) + syscall.TimevalToNsec(ru.Stime))
}
