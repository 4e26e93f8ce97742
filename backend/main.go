// Command backend is Pult's server: `go run ./backend` serves the API and the web UI; other subcommands set up
// schools from the command line. See `go run ./backend help`.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"pult/backend/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}
