package cli

import (
	"context"
	"flag"
	"fmt"
	"os"

	"upmon/internal/app"
)

// genCmd runs `upmon gen diagram [--out FILE]`: it writes the architecture
// picture drawn from the program's own catalog.
func genCmd(ctx context.Context, stdio IO, args []string) error {
	if len(args) == 0 || args[0] != "diagram" {
		return &app.UsageError{Msg: "usage: upmon gen diagram [--out FILE]"}
	}
	fs := flag.NewFlagSet("gen diagram", flag.ContinueOnError)
	fs.SetOutput(stdio.Stderr)
	out := fs.String("out", "docs/architecture.svg", "file to write the SVG to")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return &app.UsageError{Msg: fmt.Sprintf("gen diagram takes no arguments, got %q", fs.Arg(0))}
	}
	svg, err := app.ArchitectureSVG(ctx)
	if err != nil {
		return err
	}
	if err := os.WriteFile(*out, svg, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stdio.Stdout, "wrote %s (%d bytes)\n", *out, len(svg))
	return nil
}
