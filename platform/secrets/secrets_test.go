package secrets

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
)

const secretValue = "https://hooks.slack.example/services/T000/B000/s3cr3t-v4lue"

// MustOpen opens a Store or fails the test.
func MustOpen(tb testing.TB, dir string, env []string) *Store {
	tb.Helper()
	s, err := Open(dir, env)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	return s
}

// MustSet sets a secret or fails the test.
func MustSet(tb testing.TB, s *Store, name, value string) {
	tb.Helper()
	if err := s.Set(name, value); err != nil {
		tb.Fatalf("Set(%s): %v", name, err)
	}
}

func checkMode(tb testing.TB, path string, want os.FileMode) {
	tb.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		tb.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != want {
		tb.Errorf("mode of %s = %o, want %o", path, got, want)
	}
}

func TestSetGetRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data") // does not exist yet
	s := MustOpen(t, dir, nil)
	if _, ok := s.Get("SlackWebhookURL"); ok {
		t.Fatal("Get on an empty store found a value")
	}
	MustSet(t, s, "SlackWebhookURL", secretValue)
	MustSet(t, s, "Other", "o")
	MustSet(t, s, "Other", "o2") // overwrite

	checkMode(t, dir, 0o700)
	checkMode(t, filepath.Join(dir, FileName), 0o600)
	if v, ok := s.Get("SlackWebhookURL"); !ok || v != secretValue {
		t.Fatalf("Get = %q, %v", v, ok)
	}

	// A fresh Store reads what was written.
	s2 := MustOpen(t, dir, nil)
	if v, ok := s2.Get("SlackWebhookURL"); !ok || v != secretValue {
		t.Fatalf("Get after reopen = %q, %v", v, ok)
	}
	if v, _ := s2.Get("Other"); v != "o2" {
		t.Fatalf("Get(Other) = %q", v)
	}
	if got := s2.Names(); !slices.Equal(got, []string{"Other", "SlackWebhookURL"}) {
		t.Fatalf("Names = %v", got)
	}
	// No temporary files are left behind.
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("data dir holds %v", entries)
	}
}

func TestSetKeepsEntriesWrittenByAnotherStore(t *testing.T) {
	dir := t.TempDir()
	a, b := MustOpen(t, dir, nil), MustOpen(t, dir, nil)
	MustSet(t, a, "A", "1")
	MustSet(t, b, "B", "2") // b was opened before A existed
	c := MustOpen(t, dir, nil)
	if got := c.Names(); !slices.Equal(got, []string{"A", "B"}) {
		t.Fatalf("Names = %v, want [A B]", got)
	}
}

func TestEnvOverride(t *testing.T) {
	dir := t.TempDir()
	MustSet(t, MustOpen(t, dir, nil), "SlackWebhookURL", "from-file")
	env := []string{
		"PATH=/bin",
		"SLACK_WEBHOOK_URL=from-env=with=equals",
		"SLACK_WEBHOOK_URL=second-ignored",
		"API_TOKEN=",
		"NOEQUALS",
	}
	s := MustOpen(t, dir, env)
	if v, ok := s.Get("SlackWebhookURL"); !ok || v != "from-env=with=equals" {
		t.Fatalf("Get = %q, %v; want the env value", v, ok)
	}
	if _, ok := s.Get("ApiToken"); ok {
		t.Fatal("an empty env var counted as set")
	}
	// Env-only secrets are available but not listed.
	s2 := MustOpen(t, t.TempDir(), []string{"ONLY_ENV=x"})
	if v, ok := s2.Get("OnlyEnv"); !ok || v != "x" {
		t.Fatalf("Get(OnlyEnv) = %q, %v", v, ok)
	}
	if len(s2.Names()) != 0 {
		t.Fatalf("Names = %v", s2.Names())
	}
}

func TestBadModeRefused(t *testing.T) {
	for _, mode := range []os.FileMode{0o644, 0o640, 0o604, 0o660, 0o602} {
		t.Run(fmt.Sprintf("%o", mode), func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, FileName)
			if err := os.WriteFile(path, []byte(`{"SlackWebhookURL": "`+secretValue+`"}`), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, mode); err != nil {
				t.Fatal(err)
			}
			_, err := Open(dir, nil)
			want := fmt.Sprintf("secrets file %s has mode %o; it must be 0600 (chmod 600 %s)", path, mode, path)
			if err == nil || err.Error() != want {
				t.Fatalf("Open error = %v\nwant %s", err, want)
			}
		})
	}
	t.Run("0400 is fine", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, FileName)
		if err := os.WriteFile(path, []byte(`{"A": "1"}`), 0o400); err != nil {
			t.Fatal(err)
		}
		if v, _ := MustOpen(t, dir, nil).Get("A"); v != "1" {
			t.Fatalf("Get = %q", v)
		}
	})
	t.Run("Set refuses too", func(t *testing.T) {
		dir := t.TempDir()
		s := MustOpen(t, dir, nil)
		MustSet(t, s, "A", "1")
		if err := os.Chmod(filepath.Join(dir, FileName), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := s.Set("B", secretValue); err == nil || !strings.Contains(err.Error(), "chmod 600") {
			t.Fatalf("Set error = %v", err)
		}
	})
}

func TestBadFileRefused(t *testing.T) {
	tests := []struct{ name, content, want string }{
		{"not json", `SlackWebhookURL=` + secretValue, "syntax error at byte"},
		{"array", `["` + secretValue + `"]`, "not a JSON object"},
		{"number value", `{"A": 12345678}`, "not a JSON object"},
		{"bad name", `{"bad-name": "` + secretValue + `"}`, `invalid name "bad-name"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, FileName), []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Open(dir, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Open error = %v, want one containing %q", err, tt.want)
			}
			for _, leak := range []string{secretValue, "s3cr3t", "12345678"} {
				if strings.Contains(err.Error(), leak) {
					t.Fatalf("error leaks content: %v", err)
				}
			}
		})
	}
	if _, err := Open("", nil); err == nil {
		t.Fatal("Open with an empty data dir succeeded")
	}
}

func TestSetValidation(t *testing.T) {
	s := MustOpen(t, t.TempDir(), nil)
	tests := []struct{ name, value, want string }{
		{"", "v", "invalid name"},
		{"1abc", "v", "invalid name"},
		{"_abc", "v", "invalid name"},
		{"slack-webhook", "v", "invalid name"},
		{"Slack Webhook", "v", "invalid name"},
		{"Ünicode", "v", "invalid name"},
		{strings.Repeat("a", 129), "v", "invalid name"},
		{"Empty", "", "is empty"},
		{"Big", strings.Repeat("x", MaxValueBytes+1), "longer than"},
		{"Binary", "s3cr3t\xff", "not valid UTF-8"},
	}
	for _, tt := range tests {
		err := s.Set(tt.name, tt.value)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Set(%.20q) error = %v, want one containing %q", tt.name, err, tt.want)
		}
	}
	for _, ok := range []string{"a", "A1", "slack_webhook_url", "SlackWebhookURL"} {
		if err := ValidateName(ok); err != nil {
			t.Errorf("ValidateName(%q): %v", ok, err)
		}
	}
}

func TestEnvName(t *testing.T) {
	tests := map[string]string{
		"SlackWebhookURL":   "SLACK_WEBHOOK_URL",
		"slackWebhookURL":   "SLACK_WEBHOOK_URL",
		"slack_webhook_url": "SLACK_WEBHOOK_URL",
		"SLACK_WEBHOOK_URL": "SLACK_WEBHOOK_URL",
		"URLPath":           "URL_PATH",
		"APIKey2":           "API_KEY2",
		"Key2Value":         "KEY2_VALUE",
		"DBPassword":        "DB_PASSWORD",
		"Token":             "TOKEN",
		"a":                 "A",
		"PgURL":             "PG_URL",
		"Snake_Case":        "SNAKE_CASE",
	}
	for in, want := range tests {
		if got := EnvName(in); got != want {
			t.Errorf("EnvName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestReadValue(t *testing.T) {
	tests := []struct {
		in, want string
		wantErr  bool
	}{
		{"x\n", "x", false},
		{"x\r\n", "x", false},
		{"x\n\n", "x\n", false},
		{"x", "x", false},
		{"x\r", "x\r", false},
		{" x \n", " x ", false},
		{"", "", true},
		{"\n", "", true},
		{"\r\n", "", true},
		{strings.Repeat("x", MaxValueBytes) + "\n", "", true}, // too long before trimming
		{strings.Repeat("x", MaxValueBytes), strings.Repeat("x", MaxValueBytes), false},
	}
	for _, tt := range tests {
		got, err := ReadValue(strings.NewReader(tt.in))
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ReadValue(%.20q) = %.20q, %v; want %.20q, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
	if _, err := ReadValue(iotest.ErrReader(io.ErrUnexpectedEOF)); err == nil {
		t.Error("ReadValue on a failing reader succeeded")
	}
}

func TestConcurrentSet(t *testing.T) {
	dir := t.TempDir()
	s := MustOpen(t, dir, nil)
	const n = 20
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			name := fmt.Sprintf("Secret%d", i)
			if err := s.Set(name, "value"+name); err != nil {
				t.Errorf("Set: %v", err)
			}
			s.Get(name)
			s.Names()
		})
	}
	wg.Wait()
	s2 := MustOpen(t, dir, nil)
	if got := len(s2.Names()); got != n {
		t.Fatalf("%d names after %d concurrent Sets: %v", got, n, s2.Names())
	}
	for _, name := range s2.Names() {
		if v, _ := s2.Get(name); v != "value"+name {
			t.Errorf("Get(%s) = %q", name, v)
		}
	}
	checkMode(t, filepath.Join(dir, FileName), 0o600)
}

func TestValueNeverPrinted(t *testing.T) {
	dir := t.TempDir()
	s := MustOpen(t, dir, []string{"OTHER_SECRET=" + secretValue})
	MustSet(t, s, "SlackWebhookURL", secretValue)

	var out []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
		out = append(out, fmt.Sprintf(verb, s), fmt.Sprintf(verb, *s))
	}
	out = append(out, s.String(), s.GoString())
	var logs bytes.Buffer
	slog.New(slog.NewTextHandler(&logs, nil)).Info("store", "s", s)
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("store", "s", s, "v", *s)
	out = append(out, logs.String())

	// Errors from every failure path that involves a value.
	errs := []error{
		s.Set("bad-name", secretValue),
		s.Set("Big", secretValue+strings.Repeat("x", MaxValueBytes)),
		s.Set("Binary", secretValue+"\xff"),
	}
	_, err := ReadValue(strings.NewReader(secretValue + strings.Repeat("x", MaxValueBytes)))
	errs = append(errs, err)
	if err := os.Chmod(filepath.Join(dir, FileName), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Open(dir, nil)
	errs = append(errs, err, s.Set("Other", secretValue))
	for _, err := range errs {
		if err == nil {
			t.Fatal("expected an error")
		}
		out = append(out, err.Error(), fmt.Sprintf("%#v", err))
	}
	if err := errors.Join(errs...); err != nil {
		out = append(out, err.Error())
	}

	for _, o := range out {
		if strings.Contains(o, "s3cr3t") {
			t.Errorf("value leaked: %s", o)
		}
	}
	if !strings.Contains(s.String(), "SlackWebhookURL") {
		t.Errorf("String() = %s; want the names", s)
	}
}
