// Package cli implements upmon's command line: serve, version, help,
// secret, deadletters and sites.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"upmon/internal/app"
	"upmon/internal/version"
)

// IO is the process's standard streams and environment.
type IO struct {
	// Stdin is read by `secret set`.
	Stdin io.Reader
	// Stdout receives command output.
	Stdout io.Writer
	// Stderr receives logs and errors.
	Stderr io.Writer
	// Env is the environment, captured once.
	Env []string
}

// Exit codes.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

const helpText = `upmon is a self-hosted uptime monitor.

Usage:
  upmon serve [flags]                    run the monitor, API and dashboard
  upmon agent --nats-url URL --location NAME [--nats-creds FILE] [--source-addr IP]
                                         run a probe for one location (docs/locations.md)
  upmon secret set [--data-dir DIR] NAME read a secret's value from standard input and store it
  upmon secret list [--data-dir DIR]     list stored secret names
  upmon deadletters list [--server URL]  list failed event deliveries
  upmon deadletters replay [--server URL] ID
                                         re-deliver one and remove it from the list
  upmon sites export [--server URL] > sites.yaml
                                         print every site as YAML (the API's schema)
  upmon sites import [--server URL] FILE add and update sites from a YAML file
                                         (matched by url; push monitors by name)
  upmon import gatus|kuma FILE [--server URL] [--dry-run] [--accept-losses]
                                         bring a Gatus config or an Uptime Kuma
                                         kuma.db / JSON backup over (docs/switching.md)
  upmon users add NAME --email E --role owner|editor|viewer
                                         add a user (password from standard input)
  upmon users list                       list users and their roles
  upmon users set-role NAME ROLE         change a user's role
  upmon users reset-password NAME        set a new password (standard input); ends their sessions
  upmon gen diagram [--out FILE]         draw the architecture from the catalog as SVG
                                         (default docs/architecture.svg)
  upmon channels list [--server URL]     list notification channels with their delivery status
  upmon channels test [--server URL] ID  send a test message through a channel
  upmon version                          print the version
  upmon help                             print this help

Flags of serve (each also read from its environment variable):
`

// Run runs the command in args and returns the process exit code.
func Run(ctx context.Context, stdio IO, args []string) int {
	if len(args) == 0 {
		fmt.Fprint(stdio.Stderr, helpText+app.FlagUsage())
		return exitUsage
	}
	var err error
	switch args[0] {
	case "serve":
		err = serve(ctx, stdio, args[1:])
	case "agent":
		err = agentCmd(ctx, stdio, args[1:])
	case "version", "--version", "-version":
		fmt.Fprintln(stdio.Stdout, "upmon "+version.String())
	case "help", "--help", "-help", "-h":
		fmt.Fprint(stdio.Stdout, helpText+app.FlagUsage())
	case "secret":
		err = secretCmd(stdio, args[1:])
	case "deadletters":
		err = deadlettersCmd(ctx, stdio, args[1:])
	case "sites":
		err = sitesCmd(ctx, stdio, args[1:])
	case "import":
		err = importCmd(ctx, stdio, args[1:])
	case "users":
		err = usersCmd(ctx, stdio, args[1:])
	case "gen":
		err = genCmd(ctx, stdio, args[1:])
	case "channels":
		err = channelsCmd(ctx, stdio, args[1:])
	default:
		err = &app.UsageError{Msg: fmt.Sprintf("unknown command %q (run `upmon help`)", args[0])}
	}
	return report(stdio, err)
}

// report prints err on one line and picks the exit code.
func report(stdio IO, err error) int {
	if err == nil {
		return exitOK
	}
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdio.Stdout, helpText+app.FlagUsage())
		return exitOK
	}
	msg := strings.ReplaceAll(err.Error(), "\n", " ")
	fmt.Fprintln(stdio.Stderr, "upmon: "+msg)
	var ue *app.UsageError
	if errors.As(err, &ue) {
		return exitUsage
	}
	return exitError
}

func serve(ctx context.Context, stdio IO, args []string) error {
	cfg, rest, err := app.ParseConfig("serve", args, stdio.Env)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return &app.UsageError{Msg: fmt.Sprintf("serve takes no arguments, got %q", rest[0])}
	}
	log := slog.New(slog.NewTextHandler(stdio.Stderr, &slog.HandlerOptions{Level: parseLevel(cfg.LogLevel)}))
	m := app.New(cfg, log)
	if err := m.Open(ctx); err != nil {
		return err
	}
	<-ctx.Done()
	log.Info("shutting down")
	if err := m.Close(); err != nil {
		return err
	}
	log.Info("stopped")
	return nil
}

func parseLevel(s string) slog.Level {
	var l slog.Level
	_ = l.UnmarshalText([]byte(s))
	return l
}
