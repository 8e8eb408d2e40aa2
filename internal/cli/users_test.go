package cli_test

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"upmon/internal/app"
	"upmon/internal/app/apptest"
)

// TestUsersCommands: the first owner is made on the command line, with
// the password on standard input, against the database a running server
// uses; the server lets them in at once. set-role and reset-password
// change what the server sees; bad input is a usage error (exit 2) that
// does not echo the password.
func TestUsersCommands(t *testing.T) {
	t.Parallel()
	cfg := apptest.Config(t)
	var now atomic.Int64
	now.Store(time.Now().UnixNano())
	m := apptest.Start(t, cfg, app.Hooks{Clock: func() time.Time { return time.Unix(0, now.Load()) }})
	db := []string{"--data-dir", cfg.DataDir}
	if cfg.DatabaseURL != "" {
		db = append(db, "--database-url", cfg.DatabaseURL)
	}
	args := func(a ...string) []string { return append(a, db...) }

	if r := run(t, nil, "correct horse battery\n", args("users", "add", "ada", "--email", "ada@example.com", "--role", "owner")...); r.code != 0 || !strings.Contains(r.stdout, "user ada (owner) added") {
		t.Fatalf("users add: %+v", r)
	}
	if r := run(t, nil, "", args("users", "add", "bob", "--email", "bob@example.com", "--role", "viewer")...); r.code != 2 {
		t.Fatalf("users add without a password: %+v", r)
	}
	if r := run(t, nil, "pw-short\n", args("users", "add", "bob", "--email", "bob@example.com", "--role", "viewer")...); r.code != 2 || strings.Contains(r.stderr, "pw-short") {
		t.Fatalf("users add with a short password: %+v", r)
	}
	if r := run(t, nil, "long enough password\n", args("users", "add", "bob", "--email", "bob@example.com", "--role", "admin")...); r.code != 2 {
		t.Fatalf("users add with an unknown role: %+v", r)
	}
	if r := run(t, nil, "bob's long password\n", args("users", "add", "bob", "--email", "bob@example.com", "--role", "viewer")...); r.code != 0 {
		t.Fatalf("users add bob: %+v", r)
	}
	login := func(name, pw string) int {
		resp, err := http.Post(m.URL()+"/login", "application/json", strings.NewReader(`{"login":"`+name+`","password":"`+pw+`"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := login("ada", "correct horse battery"); got != 200 {
		t.Fatalf("the server does not let the new owner in: %d", got)
	}
	r := run(t, nil, "", args("users", "list")...)
	if r.code != 0 || !strings.Contains(r.stdout, "ada") || !strings.Contains(r.stdout, "bob@example.com") || !strings.Contains(r.stdout, "viewer") {
		t.Fatalf("users list: %+v", r)
	}
	if r := run(t, nil, "", args("users", "set-role", "bob", "editor")...); r.code != 0 {
		t.Fatalf("set-role: %+v", r)
	}
	if r := run(t, nil, "", args("users", "set-role", "ada", "viewer")...); r.code != 2 || !strings.Contains(r.stderr, "last owner") {
		t.Fatalf("demoting the last owner: %+v", r)
	}
	if r := run(t, nil, "a brand new password\n", args("users", "reset-password", "bob")...); r.code != 0 {
		t.Fatalf("reset-password: %+v", r)
	}
	if got := login("bob", "bob's long password"); got != 401 {
		t.Fatalf("the old password after a reset: %d", got)
	}
	now.Add(int64(time.Minute)) // past the throttle of the failure above
	if got := login("bob", "a brand new password"); got != 200 {
		t.Fatalf("the new password: %d", got)
	}
	if r := run(t, nil, "", args("users", "set-role", "nobody", "editor")...); r.code != 2 {
		t.Fatalf("set-role of an unknown user: %+v", r)
	}
}
