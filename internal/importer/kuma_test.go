package importer

import (
	"bytes"
	"database/sql"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"upmon/notify/kinds"
)

// mustKumaDB builds a Kuma database from the fixture schema and data.
func mustKumaDB(t *testing.T) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "kuma.db")
	db, err := sql.Open("sqlite", file)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, f := range []string{"testdata/kuma-schema.sql", "testdata/kuma-data.sql"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(string(b)); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	return file
}

func mustKuma(t *testing.T, file string) *Plan {
	t.Helper()
	reg, err := kinds.Registry()
	if err != nil {
		t.Fatal(err)
	}
	p, err := ParseKuma(file, reg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestKumaDBSites(t *testing.T) {
	file := mustKumaDB(t)
	before, _ := os.ReadFile(file)
	p := mustKuma(t, file)
	after, _ := os.ReadFile(file)
	if !bytes.Equal(before, after) {
		t.Error("reading changed the database file")
	}
	for _, suffix := range []string{"-wal", "-journal", "-shm"} {
		if _, err := os.Stat(file + suffix); err == nil {
			t.Errorf("reading left %s%s", file, suffix)
		}
	}
	if got := keys(p); !reflect.DeepEqual(got, []string{"https://example.org/", "https://api.example.org/health",
		"https://api.example.org/status", "https://api.example.org/expr", "tcp://db.internal:5432",
		"dns:example.com?server=9.9.9.9%3A53&type=MX", "push:Backup job"}) {
		t.Fatalf("sites %v", got)
	}
	wantFields(t, siteByKey(t, p, "https://example.org/"), map[string]any{"url": "https://example.org/", "name": "Website",
		"interval": "1m0s", "timeout": "48s", "failure_threshold": 3, "expected_status": []string{"200-299"}, "tags": []string{"prod", "team:web"}})
	wantFields(t, siteByKey(t, p, "https://api.example.org/health"), map[string]any{"url": "https://api.example.org/health", "name": "API",
		"interval": "30s", "timeout": "10s", "method": "POST", "body": `{"a":1}`,
		"headers":         map[string]string{"X-Env": "prod", "Authorization": "Basic dXNlcjpwYXNz"},
		"expected_status": []string{"200-299", "304"}, "follow_redirects": false, "keyword": "Error", "keyword_mode": "absent", "tags": []string{"Web-Site"}})
	wantFields(t, siteByKey(t, p, "https://api.example.org/status"), map[string]any{"url": "https://api.example.org/status", "name": "Status JSON",
		"interval": "2m0s", "paused": true, "expected_status": []string{"200-299"},
		"json_path": []any{map[string]any{"path": "$.data.status", "op": "==", "value": "ok"}}})
	wantFields(t, siteByKey(t, p, "tcp://db.internal:5432"), map[string]any{"url": "tcp://db.internal:5432", "name": "DB", "interval": "1m0s"})
	wantFields(t, siteByKey(t, p, "dns:example.com?server=9.9.9.9%3A53&type=MX"), map[string]any{"url": "dns:example.com?server=9.9.9.9%3A53&type=MX", "name": "DNS", "interval": "5m0s"})
	wantFields(t, siteByKey(t, p, "push:Backup job"), map[string]any{"kind": "push", "name": "Backup job", "interval": "24h0m0s"})
	if got := siteByKey(t, p, "https://example.org/").Channels; !reflect.DeepEqual(got, []string{"ops-slack", "tg"}) {
		t.Errorf("routing %v", got)
	}
}

func TestKumaDBChannels(t *testing.T) {
	p := mustKuma(t, mustKumaDB(t))
	got := map[string]string{}
	for _, c := range p.Channels {
		raw := JSONFields(c.Settings)
		got[c.Name] = c.Kind
		want := map[string]map[string]any{
			"ops-slack": {"webhook_url": "https://hooks.slack.com/services/T0/B0/XXXX", "username": "kuma"},
			"tg":        {"bot_token": "123456789:AAbbcc", "chat_id": "-100123", "message_thread_id": 5.0, "disable_notification": true},
			"mail": {"host": "smtp.example.com", "port": 465.0, "security": "tls", "username": "u", "password": "p",
				"from": "kuma@example.com", "to": []any{"a@example.com", "b@example.com"}},
			"og":   {"api_key": "eb243592-faa2-4ba2-a551-1afdf565c889", "api_url": "https://api.eu.opsgenie.com", "priority": "P2"},
			"pd":   {"routing_key": "eb243592faa24ba2a5511afdf565c889", "api_url": "https://events.eu.pagerduty.com", "severity": "warning"},
			"hook": {"url": "https://hooks.example.com/k", "headers": map[string]any{"X-Key": "abc"}},
			"ntfy": {"api_url": "https://ntfy.example.com", "topic": "kuma-topic", "priority": 5.0, "token": "tk_x"},
		}[c.Name]
		if !reflect.DeepEqual(raw, want) {
			t.Errorf("%s settings\n got %v\nwant %v", c.Name, raw, want)
		}
		if !reflect.DeepEqual(c.Events, []string{"down", "up"}) {
			t.Errorf("%s events %v", c.Name, c.Events)
		}
		if c.Default != (c.Name == "ops-slack") || c.Disabled != (c.Name == "og") {
			t.Errorf("%s default %v disabled %v", c.Name, c.Default, c.Disabled)
		}
	}
	if len(got) != 7 {
		t.Errorf("channels %v", got)
	}
}

func TestKumaDBMaintenance(t *testing.T) {
	p := mustKuma(t, mustKumaDB(t))
	var got []string
	for _, w := range p.Windows {
		got = append(got, w.Start.Format("2006-01-02T15:04Z")+" "+w.End.Format("15:04")+" "+w.Recurrence+" "+strings.Join(w.Sites, ","))
	}
	want := []string{
		"2026-12-01T02:00Z 03:00  tcp://db.internal:5432",
		"2024-01-03T22:00Z 23:30 weekly https://example.org/,tcp://db.internal:5432", // Wednesday (3)
		"2024-01-07T22:00Z 23:30 weekly https://example.org/,tcp://db.internal:5432", // Sunday (0)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("windows\n got %q\nwant %q", got, want)
	}
}

func TestKumaDBLosses(t *testing.T) {
	p := mustKuma(t, mustKumaDB(t))
	wantLosses(t, p, []string{
		"notification 1 (ops-slack).config.slackchannel",
		"notification 3 (mail).config.smtpCC",
		"notification 4 (line): line",
		"notification 7 (hook).config.webhookContentType: form-data",
		"monitor 2 (API).notifications: 4",
		"monitor 2 (API).ignore_tls",
		"monitor 4 (Expr).json_path: $count(items) > 2",
		"monitor 4 (Expr).upside_down",
		"monitor 4 (Expr).description",
		"monitor 7 (Backup job).push_token",
		"monitor 8 (Router).type: ping",
		"maintenance 3 (Monthly).strategy: recurring-day-of-month",
	})
}

func wantLosses(t *testing.T, p *Plan, want []string) {
	t.Helper()
	var got []string
	for _, l := range p.Losses {
		got = append(got, l.String())
	}
	for _, w := range want {
		found := false
		for _, g := range got {
			found = found || strings.HasPrefix(g, w)
		}
		if !found {
			t.Errorf("no loss %q in\n%s", w, strings.Join(got, "\n"))
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d losses, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
}

// TestKumaDBReadOnly checks that the database is opened so that nothing
// can be written to it.
func TestKumaDBReadOnly(t *testing.T) {
	file := mustKumaDB(t)
	db, err := sql.Open("sqlite", dbURI(file))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`DELETE FROM monitor`); err == nil {
		t.Fatal("a write through the import's connection succeeded")
	}
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM monitor`).Scan(&n); err != nil || n != 8 {
		t.Fatalf("monitors %d, %v", n, err)
	}
}

// TestKumaDBEdgeLosses covers every other loss, and that a loss never
// shows the value of what it names (it may be a password).
func TestKumaDBEdgeLosses(t *testing.T) {
	file := filepath.Join(t.TempDir(), "kuma.db")
	db, err := sql.Open("sqlite", file)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"testdata/kuma-schema.sql", "testdata/kuma-edge.sql"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(string(b)); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	db.Close()
	p := mustKuma(t, file)
	wantLosses(t, p, []string{
		"notification 1 (garbled).config — not a JSON object",
		"notification 2 (gotify-bad-priority).config.gotifyPriority — not a number",
		"monitor 1 (Put).method: PUT",
		"monitor 1 (Put).headers — not a JSON object",
		"monitor 1 (Put).auth_method: ntlm",
		"monitor 1 (Put).mqtt_password — no upmon equivalent",
		"monitor 1 (Put).resend_interval — no upmon equivalent",
		"monitor 2 (Query).json_path_operator: regex",
		"monitor 3 (SRV).dns_resolve_type: SRV",
		"maintenance 1 (Manual).strategy: manual",
		"maintenance 2 (Cron).strategy: cron",
		"maintenance 4 (Orphan) — covers no imported monitor",
		"maintenance 6 (Mars).timezone: Mars/Olympus",
		"maintenance 7 (Backwards) — no valid start and end dates",
	})
	var text bytes.Buffer
	p.WriteLosses(&text)
	for _, secret := range []string{"secret-pass", "mqtt-secret"} {
		if strings.Contains(text.String(), secret) {
			t.Errorf("the loss report shows %q:\n%s", secret, text.String())
		}
	}
	var notes []string
	for _, n := range p.Notes {
		notes = append(notes, n.String())
	}
	for _, w := range []string{"monitor 1 (Put).retry_interval", "maintenance 3 (Off)", "maintenance 5 (Server zone).timezone: SAME_AS_SERVER"} {
		if !strings.Contains(strings.Join(notes, "\n"), w) {
			t.Errorf("no note %q in\n%s", w, strings.Join(notes, "\n"))
		}
	}
	if len(p.Windows) != 1 {
		t.Errorf("windows %+v", p.Windows)
	}
}
