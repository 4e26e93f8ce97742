//go:build window

// Package window_test starts the real Linux desktop binary under Xvfb with a fresh profile and checks that its
// window opens and shows the first-run screen: the window exists, the UI inside it reached the in-process API
// (which answered that the device is at its first run), and a screenshot shows a rendered page. The screenshot
// is kept as build/bin/desktop-first-run.png. Run by `go tool task test:desktop` (needs Xvfb, xwininfo from
// x11-utils, and import from imagemagick).
package window_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func repoFile(t *testing.T, rel string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", "..", rel))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// startXvfb starts a virtual display and returns its name.
func startXvfb(t *testing.T) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("Xvfb", "-displayfd", "3", "-screen", "0", "1280x900x24", "-nolisten", "tcp")
	cmd.ExtraFiles = []*os.File{w}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start Xvfb: %v", err)
	}
	w.Close()
	t.Cleanup(func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); cmd.Wait() })
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil {
		t.Fatalf("Xvfb did not say its display: %v", err)
	}
	return ":" + strings.TrimSpace(line)
}

// logWatch collects the app's log and says when a line with all the given parts appeared.
type logWatch struct {
	lines chan string
	all   bytes.Buffer
}

func watch(r io.Reader) *logWatch {
	l := &logWatch{lines: make(chan string, 1024)}
	go func() {
		s := bufio.NewScanner(r)
		for s.Scan() {
			l.lines <- s.Text()
		}
		close(l.lines)
	}()
	return l
}

func (l *logWatch) waitFor(t *testing.T, timeout time.Duration, parts ...string) string {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case line, ok := <-l.lines:
			if !ok {
				t.Fatalf("the app exited before logging %q; its log:\n%s", parts, l.all.String())
			}
			l.all.WriteString(line + "\n")
			match := true
			for _, p := range parts {
				match = match && strings.Contains(line, p)
			}
			if match {
				return line
			}
		case <-deadline:
			t.Fatalf("no log line with %q within %s; the log:\n%s", parts, timeout, l.all.String())
		}
	}
}

func TestFirstRunWindow(t *testing.T) {
	bin := repoFile(t, "build/bin/pult")
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("the desktop binary is not built (go tool task desktop): %v", err)
	}
	display := startXvfb(t)
	profile := filepath.Join(t.TempDir(), "profile")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := exec.CommandContext(ctx, bin)
	cmd.Env = append(os.Environ(), "DISPLAY="+display, "PULT_PROFILE_DIR="+profile, "PULT_LOG_LEVEL=debug",
		"PULT_SERVER=", "WEBKIT_DISABLE_COMPOSITING_MODE=1", "NO_AT_BRIDGE=1")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = io.Discard
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); cmd.Wait() }()
	logs := watch(stderr)

	logs.waitFor(t, 30*time.Second, "first run", "phase=welcome")
	// The page in the window asked the in-process API what to show, and got an answer.
	logs.waitFor(t, 60*time.Second, "msg=api", "path=/api/v1/env", "status=200")

	// The window is there, with its title and size (GTK also makes small helper windows of the same name).
	var tree, window string
	for deadline := time.Now().Add(20 * time.Second); window == "" && time.Now().Before(deadline); time.Sleep(300 * time.Millisecond) {
		out, _ := exec.Command("xwininfo", "-display", display, "-root", "-tree").Output()
		tree = string(out)
		for _, line := range strings.Split(tree, "\n") {
			if strings.Contains(line, `"Pult"`) && strings.Contains(line, "1280x860") {
				window = strings.TrimSpace(line)
			}
		}
	}
	if window == "" {
		t.Fatalf("no 1280x860 window named Pult on the display:\n%s", tree)
	}
	t.Logf("window: %s", window)

	// Give WebKit a moment to paint the first-run screen, then keep a screenshot.
	time.Sleep(2 * time.Second)
	shot := repoFile(t, "build/bin/desktop-first-run.png")
	if out, err := exec.Command("import", "-display", display, "-window", "root", shot).CombinedOutput(); err != nil {
		t.Fatalf("screenshot: %v %s", err, out)
	}
	out, err := exec.Command("convert", shot, "-format", "%k", "info:").Output()
	if err != nil {
		t.Fatal(err)
	}
	colors, _ := strconv.Atoi(strings.TrimSpace(string(out)))
	if colors < 16 {
		t.Errorf("the screenshot has %d colours: the window shows no rendered page", colors)
	}
	t.Logf("screenshot %s: %d colours", shot, colors)
	fmt.Fprintln(os.Stderr, "desktop screenshot:", shot)

	// Nothing was written to the profile: the first run has not chosen anything yet.
	if entries, err := os.ReadDir(profile); err == nil && len(entries) > 0 {
		t.Errorf("the first start wrote to the profile: %v", entries)
	}
}
