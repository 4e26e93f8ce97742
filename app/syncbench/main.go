// Command syncbench measures sync against a real backend on loopback, with real websocket connections and real
// SQLite files, and prints the figures beside the targets of DESIGN.md ("Targets"), side by side in one run:
//
//   - backend ingest: devices push their outboxes (lessons and attendance marks) at once; changes/s;
//   - initial sync: a fresh desktop replica pulls a school of 100,000 records (decrypt + store); rows/s;
//   - latency: with 1,000 browsers connected, one device pushes a change; the time until each browser that may
//     see it has it, p50/p99, beside a bare coder/websocket fan-out to the same 1,000 clients;
//   - memory per idle connection: the backend's heap and stacks per idle sync connection against a bare
//     coder/websocket server whose connections do nothing, the clients in a child process; ratio.
//
// Run it with `go tool task bench` or `go run ./app/syncbench`; -h lists the knobs.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == idleClientsCmd {
		idleClientsMain(os.Args[2:])
		return
	}
	records := flag.Int("records", 100_000, "records of the school a fresh device syncs (the school is built to this size)")
	devices := flag.Int("devices", 1000, "browsers connected in the latency runs")
	samples := flag.Int("samples", 200, "changes measured per latency run")
	idle := flag.Int("idle", 2000, "idle connections in the memory comparison")
	only := flag.String("only", "", "run only these parts, comma-separated: ingest, initial, latency, memory")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the measured parts to this file")
	flag.StringVar(&memProfile, "memprofile", "", "write heap profiles of the backend with its idle connections to this file (and without them to FILE.before)")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("syncbench: ")
	want := func(part string) bool {
		if *only == "" {
			return true
		}
		for _, p := range strings.Split(*only, ",") {
			if strings.TrimSpace(p) == part {
				return true
			}
		}
		return false
	}

	ctx := context.Background()
	fmt.Printf("Pult sync benchmarks: %d CPUs (GOMAXPROCS %d), %s %s/%s%s\n", runtime.NumCPU(), runtime.GOMAXPROCS(0),
		runtime.Version(), runtime.GOOS, runtime.GOARCH, loadAverage())
	start := time.Now()
	b, err := newBench(ctx, *records)
	if err != nil {
		log.Fatal(err)
	}
	defer b.close()
	fmt.Printf("school: %d students, %d courses of %d pupils, %d lessons each with a mark per pupil; set up in %s\n\n",
		b.shape.students, b.shape.courses, b.shape.enrolled, b.shape.lessons, time.Since(start).Round(time.Millisecond))

	profile := func() func() {
		if *cpuprofile == "" {
			return func() {}
		}
		f, err := os.Create(*cpuprofile)
		if err != nil {
			log.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			log.Fatal(err)
		}
		return func() { pprof.StopCPUProfile(); f.Close() }
	}
	stop := profile()
	var rep report
	// Ingest fills the school: the later parts need its records, so it always runs (and is shown only if asked).
	in, err := b.ingest(ctx)
	if err != nil {
		log.Fatal(err)
	}
	if want("ingest") {
		rep.ingest = &in
	}
	if want("initial") {
		r, err := b.initialSync(ctx)
		if err != nil {
			log.Fatal(err)
		}
		rep.initial = &r
	}
	if want("latency") {
		r, err := b.latency(ctx, *devices, *samples)
		if err != nil {
			log.Fatal(err)
		}
		rep.latency = &r
	}
	stop()
	// The devices' generated changes (some 100 MiB) are not needed any more: without them the process's heap is
	// a backend's, and the connections of the memory comparison are not spread over a heap grown for them.
	b.pushes = nil
	if want("memory") {
		r, err := b.memory(ctx, *idle)
		if err != nil {
			log.Fatal(err)
		}
		rep.memory = &r
	}
	rep.print(os.Stdout)
	fmt.Printf("\nThe backend and every client share this machine's CPUs%s.\n", loadAverage())
}

// loadAverage is the system's load average where the system tells it: other work on the machine takes CPU time
// from the figures.
func loadAverage() string {
	raw, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(raw))
	if len(f) < 3 {
		return ""
	}
	return ", load average " + strings.Join(f[:3], " ")
}
