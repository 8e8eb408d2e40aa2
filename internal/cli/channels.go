package cli

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"text/tabwriter"

	"upmon/channels"
	"upmon/internal/app"
)

// errTestFailed makes `upmon channels test` exit non-zero when the
// channel refused the test message (the reason is already printed).
var errTestFailed = fmt.Errorf("the test message was not delivered")

func channelsCmd(ctx context.Context, stdio IO, args []string) error {
	if len(args) == 0 {
		return &app.UsageError{Msg: "channels needs a subcommand: list or test"}
	}
	switch args[0] {
	case "list":
		c, rest, err := sitesFlags("channels list", args[1:], stdio.Env)
		if err != nil {
			return err
		}
		if len(rest) != 0 {
			return &app.UsageError{Msg: "usage: upmon channels list [--server URL] [--token TOKEN]"}
		}
		var out channels.ListResponse
		if err := c.do(ctx, http.MethodGet, "/channels", nil, &out); err != nil {
			return err
		}
		if len(out.Channels) == 0 {
			fmt.Fprintln(stdio.Stdout, "no channels")
			return nil
		}
		tw := tabwriter.NewWriter(stdio.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tKIND\tENABLED\tDEFAULT\tPENDING\tDEAD\tLAST ERROR")
		for _, ch := range out.Channels {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%t\t%t\t%d\t%d\t%s\n", ch.ID, ch.Name, ch.Kind, ch.Enabled, ch.Default,
				ch.Status.Pending, ch.Status.DeadLetters, ch.Status.LastError)
		}
		return tw.Flush()
	case "test":
		c, rest, err := sitesFlags("channels test", args[1:], stdio.Env)
		if err != nil {
			return err
		}
		if len(rest) != 1 {
			return &app.UsageError{Msg: "usage: upmon channels test [--server URL] [--token TOKEN] ID"}
		}
		id, err := strconv.ParseInt(rest[0], 10, 64)
		if err != nil || id <= 0 {
			return &app.UsageError{Msg: fmt.Sprintf("invalid channel id %q", rest[0])}
		}
		var out channels.TestResponse
		if err := c.do(ctx, http.MethodPost, "/channels/"+rest[0]+"/test", struct{}{}, &out); err != nil {
			return err
		}
		if out.Status != "sent" {
			fmt.Fprintf(stdio.Stdout, "channel %d: failed: %s\n", id, out.Error)
			return errTestFailed
		}
		fmt.Fprintf(stdio.Stdout, "channel %d: test message sent\n", id)
		return nil
	}
	return &app.UsageError{Msg: fmt.Sprintf("unknown channels subcommand %q (list or test)", args[0])}
}
