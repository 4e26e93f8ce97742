//go:build !unix

// Package cputime reads the CPU time of the process, which the benchmarks report beside the wall clock: other work
// on a shared machine slows the clock, but hardly the CPU time a piece of work needs.
package cputime

import "time"

// Process is not measured on this system.
func Process() time.Duration { return 0 }
