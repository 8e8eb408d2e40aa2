package cli

import (
	"flag"
	"fmt"
	"io"

	"upmon/internal/app"
	"upmon/platform/secrets"
)

// dataDirFlags parses --data-dir (default from UPMON_DATA_DIR, then
// ./upmon-data) and returns the positional arguments.
func dataDirFlags(name string, args, env []string) (string, []string, error) {
	dataDir := app.DefaultConfig().DataDir
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&dataDir, "data-dir", dataDir, "")
	if err := app.ApplyFlags(fs, args, env); err != nil {
		return "", nil, err
	}
	return dataDir, fs.Args(), nil
}

func secretCmd(stdio IO, args []string) error {
	if len(args) == 0 {
		return &app.UsageError{Msg: "secret needs a subcommand: set or list"}
	}
	switch args[0] {
	case "set":
		dataDir, rest, err := dataDirFlags("secret set", args[1:], stdio.Env)
		if err != nil {
			return err
		}
		if len(rest) != 1 {
			return &app.UsageError{Msg: "usage: upmon secret set [--data-dir DIR] NAME (the value is read from standard input)"}
		}
		value, err := secrets.ReadValue(stdio.Stdin)
		if err != nil {
			return err
		}
		store, err := secrets.Open(dataDir, stdio.Env)
		if err != nil {
			return err
		}
		if err := store.Set(rest[0], value); err != nil {
			return err
		}
		fmt.Fprintf(stdio.Stdout, "secret %s saved\n", rest[0])
		return nil
	case "list":
		dataDir, rest, err := dataDirFlags("secret list", args[1:], stdio.Env)
		if err != nil {
			return err
		}
		if len(rest) != 0 {
			return &app.UsageError{Msg: "usage: upmon secret list [--data-dir DIR]"}
		}
		store, err := secrets.Open(dataDir, stdio.Env)
		if err != nil {
			return err
		}
		for _, n := range store.Names() {
			fmt.Fprintln(stdio.Stdout, n)
		}
		return nil
	}
	return &app.UsageError{Msg: fmt.Sprintf("unknown secret subcommand %q (set or list)", args[0])}
}
