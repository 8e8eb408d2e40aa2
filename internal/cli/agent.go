package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"

	"upmon/agent"
	"upmon/internal/app"
	"upmon/internal/version"
	"upmon/site"
)

// agentCmd runs `upmon agent`: a probe process for one location, with no
// database (docs/locations.md). It stops cleanly when ctx ends (SIGTERM).
func agentCmd(ctx context.Context, stdio IO, args []string) error {
	cfg := agent.Config{Prefix: "upmon", Location: site.LocationLocal, UserAgent: version.UserAgent()}
	var source, level string
	fs := flag.NewFlagSet("agent", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&cfg.NATSURL, "nats-url", "", "")
	fs.StringVar(&cfg.CredsFile, "nats-creds", "", "")
	fs.StringVar(&cfg.Prefix, "nats-prefix", cfg.Prefix, "")
	fs.StringVar(&cfg.Location, "location", cfg.Location, "")
	fs.StringVar(&source, "source-addr", "", "")
	fs.DurationVar(&cfg.Heartbeat, "heartbeat", 0, "")
	fs.IntVar(&cfg.Concurrency, "concurrency", 0, "")
	fs.DurationVar(&cfg.PingTimeout, "ping-timeout", 0, "")
	fs.StringVar(&level, "log-level", "info", "")
	if err := app.ApplyFlags(fs, args, stdio.Env); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return &app.UsageError{Msg: fmt.Sprintf("agent takes no arguments, got %q", fs.Arg(0))}
	}
	if source != "" {
		if cfg.SourceAddr = net.ParseIP(source); cfg.SourceAddr == nil {
			return &app.UsageError{Msg: fmt.Sprintf("invalid --source-addr: %q is not an IP address", source)}
		}
	}
	if cfg.NATSURL == "" {
		return &app.UsageError{Msg: "invalid --nats-url: required (the broker the serve processes use)"}
	}
	if !site.ValidLocationName(cfg.Location) {
		return &app.UsageError{Msg: fmt.Sprintf("invalid --location: %q must be 1-32 lower-case letters, digits, '-' or '_'", cfg.Location)}
	}
	cfg.Logger = slog.New(slog.NewTextHandler(stdio.Stderr, &slog.HandlerOptions{Level: parseLevel(level)}))
	return agent.Run(ctx, cfg)
}
