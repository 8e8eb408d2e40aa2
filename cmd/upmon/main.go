// Command upmon is a self-hosted uptime monitor. Run `upmon help` for its
// commands.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"upmon/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, cli.IO{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Env: os.Environ()}, os.Args[1:])
	stop()
	os.Exit(code)
}
