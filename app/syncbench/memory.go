package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/coder/websocket"

	"pult/backend/server"
	"pult/store/syncproto"
)

// idleClientsCmd runs the benchmark binary as the idle clients of the memory comparison, in a process of their
// own, so that the backend's process holds only the server side of each connection.
const idleClientsCmd = "idle-clients"

// memProfile is where the memory comparison writes a heap profile of the backend with its idle connections.
var memProfile string

type memSide struct {
	heap, stacks float64 // bytes per connection: heap in use (spans), goroutine stacks
	live         float64 // bytes of live heap objects per connection (without the spans' free room)
	goroutines   float64 // per connection
}

func (m memSide) total() float64 { return m.heap + m.stacks }

type memoryResult struct {
	conns      int
	pult, bare memSide
}

// memory opens n idle connections to the backend (browsers of the teachers after hello, welcome and the end of
// the catch-up) and n to a bare coder/websocket server whose handler only reads, and compares what each costs
// the server's process: heap in use and goroutine stacks after garbage collection, per connection.
func (b *bench) memory(ctx context.Context, n int) (memoryResult, error) {
	res := memoryResult{conns: n}
	var lines []string
	for i := range n {
		s, err := b.login(b.teachers[i%len(b.teachers)])
		if err != nil {
			return res, err
		}
		lines = append(lines, s.cookie+"\t"+s.ip)
	}
	bare := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := websocket.Accept(w, r, server.SyncAcceptOptions())
		if err != nil {
			return
		}
		defer ws.CloseNow()
		ws.SetReadLimit(syncproto.MaxFrame)
		for {
			if _, _, err := ws.Read(context.Background()); err != nil {
				return
			}
		}
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return res, err
	}
	go bare.Serve(ln)
	defer bare.Close()
	// Bare first, then Pult, then both again: the figure of each is the smaller of its two, so that neither gains
	// from going second into a heap that has grown already.
	for round := range 2 {
		m, err := idleDelta(ctx, "bare", "ws://"+ln.Addr().String(), lines)
		if err != nil {
			return res, err
		}
		if round == 0 || m.total() < res.bare.total() {
			res.bare = m
		}
		if m, err = idleDelta(ctx, "pult", b.wsURL, lines); err != nil {
			return res, err
		}
		if round == 0 || m.total() < res.pult.total() {
			res.pult = m
		}
	}
	return res, nil
}

type memSample struct {
	heap, stacks, live uint64
	goroutines         int
}

func sampleMem() memSample {
	for range 4 { // stacks shrink by half per collection
		runtime.GC()
	}
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return memSample{heap: ms.HeapInuse, stacks: ms.StackInuse, live: ms.HeapAlloc, goroutines: runtime.NumGoroutine()}
}

// idleDelta starts the idle clients of a kind in a child process and measures the server process before and
// after they are connected and idle.
func idleDelta(ctx context.Context, kind, url string, sessions []string) (memSide, error) {
	n := len(sessions)
	before := sampleMem()
	if memProfile != "" && kind == "pult" {
		if f, err := os.Create(memProfile + ".before"); err == nil {
			pprof.Lookup("heap").WriteTo(f, 0)
			f.Close()
		}
	}
	exe, err := os.Executable()
	if err != nil {
		return memSide{}, err
	}
	cmd := exec.CommandContext(ctx, exe, idleClientsCmd, "-kind", kind, "-url", url)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return memSide{}, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return memSide{}, err
	}
	if err := cmd.Start(); err != nil {
		return memSide{}, err
	}
	defer cmd.Wait()
	defer stdin.Close()
	if _, err := io.WriteString(stdin, strings.Join(sessions, "\n")+"\n\n"); err != nil {
		return memSide{}, err
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "ready" {
		return memSide{}, fmt.Errorf("idle clients (%s): %q %v", kind, line, err)
	}
	time.Sleep(time.Second)
	after := sampleMem()
	if memProfile != "" && kind == "pult" {
		if f, err := os.Create(memProfile); err == nil {
			pprof.Lookup("heap").WriteTo(f, 0)
			f.Close()
		}
	}
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		return memSide{}, fmt.Errorf("idle clients (%s): %w", kind, err)
	}
	// Wait until the server has let go of the connections, so the next measurement starts from the same place.
	for deadline := time.Now().Add(10 * time.Second); runtime.NumGoroutine() > before.goroutines && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	return memSide{
		heap:       (float64(after.heap) - float64(before.heap)) / float64(n),
		stacks:     (float64(after.stacks) - float64(before.stacks)) / float64(n),
		live:       (float64(after.live) - float64(before.live)) / float64(n),
		goroutines: float64(after.goroutines-before.goroutines) / float64(n),
	}, nil
}

// idleClientsMain is the child process: it reads sessions (cookie TAB address per line, an empty line ends
// them) from stdin, connects one client per session, prints "ready" when all are connected and idle, and ends
// when stdin closes.
func idleClientsMain(args []string) {
	fs := flag.NewFlagSet(idleClientsCmd, flag.ExitOnError)
	kind := fs.String("kind", "pult", "pult or bare")
	url := fs.String("url", "", "websocket address")
	fs.Parse(args)
	log.SetFlags(0)
	log.SetPrefix("syncbench idle clients: ")
	ctx := context.Background()
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 64<<10), 1<<20)
	for in.Scan() && in.Text() != "" {
		cookie, ip, _ := strings.Cut(in.Text(), "\t")
		opts := &websocket.DialOptions{CompressionMode: websocket.CompressionNoContextTakeover}
		if *kind == "pult" {
			opts.HTTPHeader = http.Header{"Cookie": {cookie}, "X-Forwarded-For": {ip}}
		}
		ws, _, err := websocket.Dial(ctx, *url, opts)
		if err != nil {
			log.Fatal(err)
		}
		ws.SetReadLimit(syncproto.MaxFrame)
		if *kind == "pult" {
			if err := hello(ctx, ws, syncproto.CursorLive); err != nil {
				log.Fatal(err)
			}
		}
		go func() {
			for {
				if _, _, err := ws.Read(ctx); err != nil {
					return
				}
			}
		}()
	}
	fmt.Println("ready")
	io.Copy(io.Discard, os.Stdin)
	// Exiting closes the sockets: the servers see the connections end.
}
