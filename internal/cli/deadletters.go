package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"upmon/internal/app"
)

// serverFlags parses --server (default from UPMON_SERVER, then
// http://127.0.0.1:4000) and returns the positional arguments.
func serverFlags(name string, args, env []string) (string, []string, error) {
	server := "http://127.0.0.1:4000"
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&server, "server", server, "")
	if err := app.ApplyFlags(fs, args, env); err != nil {
		return "", nil, err
	}
	u, err := url.Parse(server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", nil, &app.UsageError{Msg: fmt.Sprintf("invalid --server %q: must be http(s)://host:port", server)}
	}
	return strings.TrimRight(server, "/"), fs.Args(), nil
}

func deadlettersCmd(ctx context.Context, stdio IO, args []string) error {
	if len(args) == 0 {
		return &app.UsageError{Msg: "deadletters needs a subcommand: list or replay"}
	}
	switch args[0] {
	case "list":
		server, rest, err := serverFlags("deadletters list", args[1:], stdio.Env)
		if err != nil {
			return err
		}
		if len(rest) != 0 {
			return &app.UsageError{Msg: "usage: upmon deadletters list [--server URL]"}
		}
		out, err := newAPIClient(server, "").Platform.ListDeadLetters(ctx)
		if err != nil {
			return apiError(err)
		}
		if len(out.Deadletters) == 0 {
			fmt.Fprintln(stdio.Stdout, "no dead letters")
			return nil
		}
		tw := tabwriter.NewWriter(stdio.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tTOPIC\tSUBSCRIPTION\tATTEMPTS\tFAILED AT\tERROR")
		for _, d := range out.Deadletters {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", d.ID, d.Topic, d.Subscription, d.Attempts,
				d.FailedAt.UTC().Format(time.RFC3339), strings.ReplaceAll(d.Error, "\n", " "))
		}
		return tw.Flush()
	case "replay":
		server, rest, err := serverFlags("deadletters replay", args[1:], stdio.Env)
		if err != nil {
			return err
		}
		if len(rest) != 1 || rest[0] == "" {
			return &app.UsageError{Msg: "usage: upmon deadletters replay [--server URL] ID"}
		}
		if err := newAPIClient(server, "").Platform.ReplayDeadLetter(ctx, rest[0]); err != nil {
			return apiError(err)
		}
		fmt.Fprintf(stdio.Stdout, "replayed %s\n", rest[0])
		return nil
	}
	return &app.UsageError{Msg: fmt.Sprintf("unknown deadletters subcommand %q (list or replay)", args[0])}
}
