package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"upmon/internal/app"
	"upmon/internal/app/apptest"
	"upmon/internal/cli"
	"upmon/monitor"
)

// result is what one run of the command line produced.
type result struct {
	code           int
	stdout, stderr string
}

// run runs the command line with env and stdin and returns its result.
func run(t *testing.T, env []string, stdin string, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	code := cli.Run(ctx, cli.IO{Stdin: strings.NewReader(stdin), Stdout: &stdout, Stderr: &stderr, Env: env}, args)
	return result{code, stdout.String(), stderr.String()}
}

// oneLine reports whether s is exactly one "upmon: "-prefixed line.
func oneLine(s string) bool {
	return strings.HasPrefix(s, "upmon: ") && strings.HasSuffix(s, "\n") && strings.Count(s, "\n") == 1
}

func TestRunExitCodesAndMessages(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tests := []struct {
		name    string
		args    []string
		env     []string
		code    int
		stdout  string // a substring of stdout; "" means stdout is empty
		stderr  string // a substring of the one line on stderr; "" means stderr is empty
		anyErrs bool   // stderr is the help text, not one line
	}{
		{name: "version", args: []string{"version"}, code: 0, stdout: "upmon "},
		{name: "--version", args: []string{"--version"}, code: 0, stdout: "upmon "},
		{name: "help", args: []string{"help"}, code: 0, stdout: "Usage:"},
		{name: "serve --help", args: []string{"serve", "--help"}, code: 0, stdout: "--ping-timeout"},
		{name: "no arguments", args: nil, code: 2, stderr: "Usage:", anyErrs: true},
		{name: "unknown command", args: []string{"frobnicate"}, code: 2, stderr: `unknown command "frobnicate"`},
		{name: "unknown serve flag", args: []string{"serve", "--bogus"}, code: 2, stderr: "bogus"},
		{name: "bad flag value", args: []string{"serve", "--ping-timeout", "soon"}, code: 2, stderr: "ping-timeout"},
		{name: "bad env value", args: []string{"serve"}, env: []string{"UPMON_PING_TIMEOUT=abc"}, code: 2,
			stderr: `invalid value "abc" for UPMON_PING_TIMEOUT`},
		{name: "invalid config", args: []string{"serve", "--check-interval", "7m"}, code: 2, stderr: "check-interval"},
		{name: "serve with an argument", args: []string{"serve", "--data-dir", dir, "extra"}, code: 2, stderr: "no arguments"},
		{name: "secret without subcommand", args: []string{"secret"}, code: 2, stderr: "set or list"},
		{name: "secret unknown subcommand", args: []string{"secret", "get"}, code: 2, stderr: `"get"`},
		{name: "secret set without name", args: []string{"secret", "set", "--data-dir", dir}, code: 2, stderr: "usage: upmon secret set"},
		{name: "deadletters without subcommand", args: []string{"deadletters"}, code: 2, stderr: "list or replay"},
		{name: "deadletters unknown subcommand", args: []string{"deadletters", "purge"}, code: 2, stderr: `"purge"`},
		{name: "replay without id", args: []string{"deadletters", "replay", "--server", "http://127.0.0.1:1"}, code: 2,
			stderr: "usage: upmon deadletters replay"},
		{name: "bad server URL", args: []string{"deadletters", "list", "--server", "ftp://x"}, code: 2, stderr: "invalid --server"},
		{name: "bad server env", args: []string{"deadletters", "list"}, env: []string{"UPMON_SERVER=localhost"}, code: 2,
			stderr: "invalid --server"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, tc.env, "", tc.args...)
			if r.code != tc.code {
				t.Errorf("exit %d, want %d (stdout %q, stderr %q)", r.code, tc.code, r.stdout, r.stderr)
			}
			if (tc.stdout == "") != (r.stdout == "") || !strings.Contains(r.stdout, tc.stdout) {
				t.Errorf("stdout = %q, want it to contain %q", r.stdout, tc.stdout)
			}
			switch {
			case tc.stderr == "":
				if r.stderr != "" {
					t.Errorf("stderr = %q, want nothing", r.stderr)
				}
			case !strings.Contains(r.stderr, tc.stderr):
				t.Errorf("stderr = %q, want it to contain %q", r.stderr, tc.stderr)
			case !tc.anyErrs && !oneLine(r.stderr):
				t.Errorf("stderr = %q, want one line", r.stderr)
			}
		})
	}
}

func TestVersionFormat(t *testing.T) {
	t.Parallel()
	r := run(t, nil, "", "version")
	if !regexp.MustCompile(`^upmon \S+\n$`).MatchString(r.stdout) {
		t.Fatalf("version printed %q, want \"upmon <version>\\n\"", r.stdout)
	}
}

func TestSecretSetAndList(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	flagDir := filepath.Join(root, "flag", "data") // created by secret set
	envDir := filepath.Join(root, "env")
	env := []string{"UPMON_DATA_DIR=" + envDir}

	// --data-dir wins over UPMON_DATA_DIR; one trailing newline is dropped.
	const hook = "https://hooks.slack.example/services/T1/B2/secret-token"
	r := run(t, env, hook+"\n", "secret", "set", "--data-dir", flagDir, "SlackWebhookURL")
	if r.code != 0 || r.stdout != "secret SlackWebhookURL saved\n" || r.stderr != "" {
		t.Fatalf("secret set = %+v", r)
	}
	if got := readSecrets(t, flagDir); len(got) != 1 || got["SlackWebhookURL"] != hook {
		t.Fatalf("secrets.json in --data-dir = %q", got)
	}
	if _, err := os.Stat(envDir); !os.IsNotExist(err) {
		t.Fatalf("UPMON_DATA_DIR used although --data-dir was given (stat: %v)", err)
	}

	// UPMON_DATA_DIR applies without the flag; only one newline (here
	// CRLF) is trimmed, and entries accumulate.
	for _, kv := range [][2]string{{"ApiKey", "k1\r\n"}, {"Multi", "line1\nline2\n\n"}} {
		if r := run(t, env, kv[1], "secret", "set", kv[0]); r.code != 0 {
			t.Fatalf("secret set %s = %+v", kv[0], r)
		}
	}
	if got := readSecrets(t, envDir); len(got) != 2 || got["ApiKey"] != "k1" || got["Multi"] != "line1\nline2\n" {
		t.Fatalf("secrets.json in UPMON_DATA_DIR = %q", got)
	}

	// list prints the names, sorted, and never a value.
	r = run(t, nil, "", "secret", "list", "--data-dir", flagDir)
	if r.code != 0 || r.stdout != "SlackWebhookURL\n" || r.stderr != "" {
		t.Fatalf("secret list --data-dir = %+v", r)
	}
	r = run(t, env, "", "secret", "list")
	if r.code != 0 || r.stdout != "ApiKey\nMulti\n" || strings.Contains(r.stdout+r.stderr, "k1") || strings.Contains(r.stdout, "line1") {
		t.Fatalf("secret list with UPMON_DATA_DIR = %+v", r)
	}
	r = run(t, nil, "", "secret", "list", "--data-dir", filepath.Join(root, "none"))
	if r.code != 0 || r.stdout != "" {
		t.Fatalf("secret list of a missing dir = %+v", r)
	}

	// Failures: one line, exit 1, and the value is never echoed.
	for _, tc := range []struct{ stdin, name, want string }{
		{"", "Empty", "empty"},
		{"\n", "Empty", "empty"},
		{"s3cr3t-value", "9bad", "invalid name"},
	} {
		r := run(t, nil, tc.stdin, "secret", "set", "--data-dir", flagDir, tc.name)
		if r.code != 1 || !oneLine(r.stderr) || !strings.Contains(r.stderr, tc.want) || strings.Contains(r.stderr, "s3cr3t") {
			t.Errorf("secret set %s with %q = %+v", tc.name, tc.stdin, r)
		}
	}

	// A secrets file readable by others is refused.
	if err := os.Chmod(filepath.Join(flagDir, "secrets.json"), 0o644); err != nil {
		t.Fatal(err)
	}
	r = run(t, nil, "", "secret", "list", "--data-dir", flagDir)
	if r.code != 1 || !oneLine(r.stderr) || !strings.Contains(r.stderr, "0600") || strings.Contains(r.stderr, "secret-token") {
		t.Fatalf("secret list of a 0644 file = %+v", r)
	}
}

// readSecrets checks that dir/secrets.json has mode 0600 and returns it.
func readSecrets(t *testing.T, dir string) map[string]string {
	t.Helper()
	path := filepath.Join(dir, "secrets.json")
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Fatalf("%s has mode %o, want 600", path, perm)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return m
}

func TestDeadLettersAgainstServer(t *testing.T) {
	t.Parallel()
	cfg := apptest.Config(t)
	slack := apptest.NewSlack(t)
	cfg.Env = append(cfg.Env, "SLACK_WEBHOOK_URL="+slack.URL)
	m := apptest.Start(t, cfg, app.Hooks{})
	c := apptest.Client{Base: m.URL(), TB: t}
	server := []string{"--server", m.URL()}

	r := run(t, nil, "", append([]string{"deadletters", "list"}, server...)...)
	if r.code != 0 || r.stdout != "no dead letters\n" || r.stderr != "" {
		t.Fatalf("list of none = %+v", r)
	}

	// A transition without a site (a broken producer) is refused by the
	// channels router for good: a dead letter.
	apptest.PublishRaw(t, m, monitor.TopicUptimeTransition, "corrupt-1", []byte(`{"id":"corrupt-1","seq":1}`))
	var dl app.DeadLettersResponse
	apptest.Eventually(t, 10*time.Second, "a dead letter", func() bool {
		c.JSON("GET", "/admin/deadletters", "", &dl)
		return len(dl.DeadLetters) == 1
	})
	id, failedAt := dl.DeadLetters[0].ID, dl.DeadLetters[0].FailedAt

	// Listed by the command, found through UPMON_SERVER as well.
	for _, tc := range []struct {
		env  []string
		args []string
	}{
		{nil, append([]string{"deadletters", "list"}, server...)},
		{[]string{"UPMON_SERVER=" + m.URL() + "/"}, []string{"deadletters", "list"}},
	} {
		r := run(t, tc.env, "", tc.args...)
		lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
		if r.code != 0 || r.stderr != "" || len(lines) != 2 || !strings.HasPrefix(lines[0], "ID ") {
			t.Fatalf("list (env %q) = %+v", tc.env, r)
		}
		for _, want := range []string{id, "uptime-transition", "channels-transition", "without a site"} {
			if !strings.Contains(lines[1], want) {
				t.Errorf("list row %q lacks %q", lines[1], want)
			}
		}
	}

	// Replayed: delivered to the router again, which refuses it again.
	r = run(t, nil, "", append(append([]string{"deadletters", "replay"}, server...), id)...)
	if r.code != 0 || r.stdout != "replayed "+id+"\n" || r.stderr != "" {
		t.Fatalf("replay = %+v", r)
	}
	apptest.Eventually(t, 10*time.Second, "the replayed event dead-lettered again", func() bool {
		c.JSON("GET", "/admin/deadletters", "", &dl)
		return len(dl.DeadLetters) == 1 && dl.DeadLetters[0].FailedAt.After(failedAt)
	})

	// An id that never existed: not found.
	r = run(t, nil, "", append(append([]string{"deadletters", "replay"}, server...), "no-such-id")...)
	if r.code != 1 || r.stdout != "" || !oneLine(r.stderr) || !strings.Contains(r.stderr, "not_found") {
		t.Errorf("replay of an unknown id = %+v", r)
	}
	if n := len(slack.Messages()); n != 0 {
		t.Errorf("a corrupt event was notified: %q", slack.Messages())
	}
}

func TestDeadLettersUnreachableServer(t *testing.T) {
	t.Parallel()
	// A loopback port nobody listens on.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := "http://" + ln.Addr().String()
	ln.Close()
	for _, args := range [][]string{
		{"deadletters", "list", "--server", addr},
		{"deadletters", "replay", "--server", addr, "some-id"},
	} {
		r := run(t, nil, "", args...)
		if r.code != 1 || r.stdout != "" || !oneLine(r.stderr) || !strings.Contains(r.stderr, "cannot reach the upmon server") {
			t.Errorf("%q = %+v", args, r)
		}
	}
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader in two
// goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestServeUntilCanceled(t *testing.T) {
	t.Parallel()
	cfg := apptest.Config(t) // the test database and broker, when set
	args := []string{"serve", "--addr", "127.0.0.1:0", "--data-dir", cfg.DataDir, "--check-interval", "24h"}
	if cfg.DatabaseURL != "" {
		args = append(args, "--database-url", cfg.DatabaseURL)
	}
	// The prefix comes from the environment, the URL from a flag.
	env := []string{"UPMON_NATS_PREFIX=" + cfg.NATSPrefix, "UPMON_SHUTDOWN_TIMEOUT=2s"}
	if cfg.NATSURL != "" {
		args = append(args, "--nats-url", cfg.NATSURL)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- cli.Run(ctx, cli.IO{Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: &stderr, Env: env}, args)
	}()

	// serve logs its URL: level=INFO msg="upmon listening" url=http://…
	urlRE := regexp.MustCompile(`msg="upmon listening" url=(http://127\.0\.0\.1:\d+)`)
	var base string
	apptest.Eventually(t, 30*time.Second, "serve to log its URL", func() bool {
		select {
		case code := <-done:
			t.Fatalf("serve returned %d early; stderr:\n%s", code, stderr.String())
		default:
		}
		if m := urlRE.FindStringSubmatch(stderr.String()); m != nil {
			base = m[1]
		}
		return base != ""
	})

	resp, err := http.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	var health app.HealthResponse
	err = json.NewDecoder(resp.Body).Decode(&health)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || health.Status != "ok" {
		t.Fatalf("healthz = %d %+v (%v)", resp.StatusCode, health, err)
	}

	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("serve returned %d after cancel; stderr:\n%s", code, stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not return after its context was canceled")
	}
	if logs := stderr.String(); !strings.Contains(logs, `msg="shutting down"`) || !strings.Contains(logs, "msg=stopped") {
		t.Errorf("serve logs lack the shutdown:\n%s", logs)
	}
	if stdout.String() != "" {
		t.Errorf("serve wrote to stdout: %q", stdout.String())
	}
	if resp, err := http.Get(base + "/healthz"); err == nil {
		resp.Body.Close()
		t.Error("the server still answers after serve returned")
	}
}
