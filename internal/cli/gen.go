package cli

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"upmon/internal/app"
	"upmon/internal/clientgen"
)

const genUsage = "usage: upmon gen diagram [--out FILE] | upmon gen client --lang go|ts [--out FILE]"

// genCmd runs `upmon gen diagram [--out FILE]`, which writes the
// architecture picture drawn from the program's own catalog, and `upmon
// gen client --lang go|ts [--out FILE]`, which writes a typed API client
// from its OpenAPI document.
func genCmd(ctx context.Context, stdio IO, args []string) error {
	if len(args) == 0 || (args[0] != "diagram" && args[0] != "client") {
		return &app.UsageError{Msg: genUsage}
	}
	fs := flag.NewFlagSet("gen "+args[0], flag.ContinueOnError)
	fs.SetOutput(stdio.Stderr)
	out := fs.String("out", "", "file to write (default docs/architecture.svg, client/client_gen.go or client/ts/client.ts)")
	lang := fs.String("lang", "go", "client language: go or ts (gen client)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return &app.UsageError{Msg: fmt.Sprintf("gen %s takes no arguments, got %q", args[0], fs.Arg(0))}
	}
	var (
		data []byte
		err  error
		file = *out
	)
	switch {
	case args[0] == "diagram":
		file = cmp(file, "docs/architecture.svg")
		data, err = app.ArchitectureSVG(ctx)
	case *lang == "go":
		file = cmp(file, filepath.Join("client", "client_gen.go"))
		data, err = GenerateClient(ctx, "go")
	case *lang == "ts":
		file = cmp(file, filepath.Join("client", "ts", "client.ts"))
		data, err = GenerateClient(ctx, "ts")
	default:
		return &app.UsageError{Msg: fmt.Sprintf("gen client: --lang must be go or ts, not %q", *lang)}
	}
	if err != nil {
		return err
	}
	if err := os.WriteFile(file, data, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stdio.Stdout, "wrote %s (%d bytes)\n", file, len(data))
	return nil
}

func cmp(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// GenerateClient returns the client in lang (go or ts) generated from the
// OpenAPI document of the program on its default configuration.
func GenerateClient(ctx context.Context, lang string) ([]byte, error) {
	doc, err := app.OpenAPIJSON(ctx)
	if err != nil {
		return nil, err
	}
	if lang == "ts" {
		return clientgen.TS(doc)
	}
	return clientgen.Go(doc, "client")
}
