package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"upmon/account"
	"upmon/internal/app"
	"upmon/platform/api"
	"upmon/platform/secrets"
	"upmon/platform/sqldb"
)

const usersUsage = `usage:
  upmon users add NAME --email EMAIL --role owner|editor|viewer   (password from standard input)
  upmon users list
  upmon users set-role NAME owner|editor|viewer
  upmon users reset-password NAME                                 (password from standard input)
each also takes --data-dir DIR and --database-url URL (or UPMON_DATA_DIR, UPMON_DATABASE_URL)`

// usersFlags are the flags of the users commands.
type usersFlags struct {
	dataDir, databaseURL, email, role string
}

// parseUsers parses flags placed before or after the positional
// arguments ("add NAME --email E") and returns the positional ones.
func parseUsers(args, env []string) (*usersFlags, []string, error) {
	def := app.DefaultConfig()
	f := &usersFlags{dataDir: def.DataDir, databaseURL: def.DatabaseURL}
	fs := flag.NewFlagSet("users", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&f.dataDir, "data-dir", f.dataDir, "")
	fs.StringVar(&f.databaseURL, "database-url", f.databaseURL, "")
	fs.StringVar(&f.email, "email", "", "")
	fs.StringVar(&f.role, "role", "", "")
	var pos []string
	for len(args) > 0 {
		if !strings.HasPrefix(args[0], "-") {
			pos, args = append(pos, args[0]), args[1:]
			continue
		}
		if err := fs.Parse(args); err != nil {
			return nil, nil, &app.UsageError{Msg: err.Error() + "\n" + usersUsage}
		}
		args = fs.Args()
	}
	if err := app.ApplyFlags(fs, nil, env); err != nil { // the environment fills what flags did not
		return nil, nil, err
	}
	return f, pos, nil
}

// usersCmd manages accounts directly in the accounts database, so the
// first owner can be created before the server runs (or while it runs:
// the server reads the database on every sign-in).
func usersCmd(ctx context.Context, stdio IO, args []string) error {
	if len(args) == 0 {
		return &app.UsageError{Msg: "users needs a subcommand\n" + usersUsage}
	}
	f, pos, err := parseUsers(args[1:], stdio.Env)
	if err != nil {
		return err
	}
	want := map[string]int{"add": 1, "list": 0, "set-role": 2, "reset-password": 1}
	n, known := want[args[0]]
	if !known || len(pos) != n {
		return &app.UsageError{Msg: usersUsage}
	}
	db, err := sqldb.Open(ctx, sqldb.Config{DataDir: f.dataDir, DatabaseURL: f.databaseURL}, account.ServiceName, account.Migrations())
	if err != nil {
		return err
	}
	defer db.Close()
	svc := account.New(db, account.Options{})
	ctx = account.WithPrincipal(ctx, &account.Principal{Name: "command line", Address: "local", Role: api.Owner})
	switch args[0] {
	case "add":
		return usersAdd(ctx, stdio, svc, pos[0], f)
	case "list":
		return usersList(ctx, stdio, svc)
	case "set-role":
		return usersPatch(ctx, stdio, svc, pos[0], &account.PatchUserParams{Role: &pos[1]}, "role set")
	default:
		pw, err := secrets.ReadValue(stdio.Stdin)
		if err != nil {
			return &app.UsageError{Msg: "reset-password reads the new password from standard input: " + err.Error()}
		}
		return usersPatch(ctx, stdio, svc, pos[0], &account.PatchUserParams{Password: &pw}, "password reset; its sessions ended")
	}
}

func usersAdd(ctx context.Context, stdio IO, svc *account.Service, name string, f *usersFlags) error {
	if f.email == "" || f.role == "" {
		return &app.UsageError{Msg: "users add needs --email and --role\n" + usersUsage}
	}
	pw, err := secrets.ReadValue(stdio.Stdin)
	if err != nil {
		return &app.UsageError{Msg: "users add reads the password from standard input: " + err.Error()}
	}
	u, err := svc.AddUser(ctx, &account.AddUserParams{Name: name, Email: f.email, Role: f.role, Password: pw})
	if err != nil {
		return userErr(err)
	}
	fmt.Fprintf(stdio.Stdout, "user %s (%s) added with id %d\n", u.Name, u.Role, u.ID)
	return nil
}

func usersList(ctx context.Context, stdio IO, svc *account.Service) error {
	list, err := svc.ListUsers(ctx, &account.Empty{})
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdio.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tEMAIL\tROLE\tSIGN-IN")
	for _, u := range list.Users {
		how := []string{}
		if u.Password {
			how = append(how, "password")
		}
		if u.SSO {
			how = append(how, "sso")
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", u.ID, u.Name, u.Email, u.Role, strings.Join(how, ","))
	}
	return tw.Flush()
}

func usersPatch(ctx context.Context, stdio IO, svc *account.Service, name string, p *account.PatchUserParams, done string) error {
	u, err := svc.FindUser(ctx, name)
	if err != nil {
		return err
	}
	if u == nil {
		return &app.UsageError{Msg: fmt.Sprintf("no user named %q", name)}
	}
	p.ID = u.ID
	if _, err := svc.PatchUser(ctx, p); err != nil {
		return userErr(err)
	}
	fmt.Fprintf(stdio.Stdout, "user %s: %s\n", u.Name, done)
	return nil
}

// userErr shows a refusal of the accounts service as a usage error.
func userErr(err error) error {
	var ae *api.Error
	if errors.As(err, &ae) && ae.Code != api.Internal && ae.Code != api.Unavailable {
		return &app.UsageError{Msg: ae.Message}
	}
	return err
}
