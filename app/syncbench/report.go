package main

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

// Targets of DESIGN.md ("Targets").
const (
	targetIngest   = 20_000 // changes/s on 2 cores
	targetInitial  = 30_000 // rows/s
	targetP50      = 10 * time.Millisecond
	targetP99      = 25 * time.Millisecond
	targetMemRatio = 1.25
)

type report struct {
	ingest  *ingestResult
	initial *initialResult
	latency *latencyResult
	memory  *memoryResult
}

func verdict(ok bool) string {
	if ok {
		return "meets"
	}
	return "MISSES"
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

func us(d time.Duration) string { return fmt.Sprintf("%.1f µs", float64(d)/float64(time.Microsecond)) }

func kib(b float64) string { return fmt.Sprintf("%.1f KiB", b/1024) }

func (r report) print(out io.Writer) {
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "measure\tfigure\ttarget\t")
	if in := r.ingest; in != nil {
		fmt.Fprintf(w, "backend ingest: %d devices push %d changes, %d at a time\t%.0f changes/s\t≥ %d changes/s\t%s\n",
			in.devices, in.changes, ingestPushers, in.rate(), targetIngest, verdict(in.rate() >= targetIngest))
		fmt.Fprintf(w, "  push of %d changes until its acknowledgement, p50 / p99\t%s / %s\t\t\n", 500, ms(in.ackP50), ms(in.ackP99))
		fmt.Fprintf(w, "  CPU time per change, backend and devices together\t%s\t\t\n", us(in.cpu))
		fmt.Fprintf(w, "  store.Ingest alone, the same batches one after another\t%.0f changes/s, %s CPU each\t\t\n", in.storeRate, us(in.storeCPU))
	}
	if in := r.initial; in != nil {
		fmt.Fprintf(w, "initial sync: a fresh desktop replica pulls %d records\t%.0f rows/s\t≥ %d rows/s\t%s\n",
			in.records, in.rate(), targetInitial, verdict(in.rate() >= targetInitial))
		fmt.Fprintf(w, "  %s in all; CPU time per record, backend and device together\t%s\t\t\n", in.elapsed.Round(time.Millisecond), us(in.cpu))
		fmt.Fprintf(w, "  the backend alone: reads, opens and encodes the batches\t%.0f rows/s, %s CPU each\t\t\n", in.serverRate, us(in.serverCPU))
		fmt.Fprintf(w, "  the device alone: decodes and stores them (decrypt + store)\t%.0f rows/s, %s CPU each\t≥ %d rows/s\t%s\n",
			in.clientRate, us(in.clientCPU), targetInitial, verdict(in.clientRate >= targetInitial))
	}
	if l := r.latency; l != nil {
		for _, run := range []struct {
			name string
			r    latencyRun
		}{
			{"admins' browsers (each receives every change)", l.admins},
			{"teachers' browsers (a teacher's other browsers receive)", l.teachers},
		} {
			ok := run.r.p(50) <= targetP50 && run.r.p(99) <= targetP99 && run.r.missing == 0 && run.r.leaked == 0
			fmt.Fprintf(w, "latency: %d %s\tp50 %s, p99 %s\t≤ %s, ≤ %s\t%s\n", run.r.devices, run.name,
				ms(run.r.p(50)), ms(run.r.p(99)), ms(targetP50), ms(targetP99), verdict(ok))
			fmt.Fprintf(w, "  %d changes × %d receivers; push to ack p50 %s; missing %d, leaked %d\t\t\t\n",
				run.r.samples, run.r.receivers, ms(percentile(run.r.ack, 50)), run.r.missing, run.r.leaked)
		}
		fmt.Fprintf(w, "  baseline: bare coder/websocket fan-out to %d clients\tp50 %s, p99 %s\t\t\n", l.bare.devices, ms(l.bare.p(50)), ms(l.bare.p(99)))
		fmt.Fprintf(w, "  ratio admins' browsers / bare\tp50 %.2f×, p99 %.2f×\t\t\n",
			float64(l.admins.p(50))/float64(l.bare.p(50)), float64(l.admins.p(99))/float64(l.bare.p(99)))
	}
	if m := r.memory; m != nil {
		ratio := m.pult.total() / m.bare.total()
		fmt.Fprintf(w, "memory per idle connection (%d connections), server process\t%s (heap in use %s, live objects %s; stacks %s)\t\t\n",
			m.conns, kib(m.pult.total()), kib(m.pult.heap), kib(m.pult.live), kib(m.pult.stacks))
		fmt.Fprintf(w, "  baseline: bare coder/websocket, handler only reads\t%s (heap in use %s, live objects %s; stacks %s)\t\t\n",
			kib(m.bare.total()), kib(m.bare.heap), kib(m.bare.live), kib(m.bare.stacks))
		fmt.Fprintf(w, "  ratio Pult / bare (goroutines per connection %.1f / %.1f)\t%.2f×\t≤ %.2f×\t%s\n",
			m.pult.goroutines, m.bare.goroutines, ratio, targetMemRatio, verdict(ratio <= targetMemRatio))
	}
	w.Flush()
}
