package importer

import (
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"upmon/notify/kinds"
)

func mustGatus(t *testing.T, file string) *Plan {
	t.Helper()
	reg, err := kinds.Registry()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	p, err := ParseGatus(file, data, reg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func siteByKey(t *testing.T, p *Plan, key string) *Site {
	t.Helper()
	for _, s := range p.Sites {
		if s.Key == key {
			return s
		}
	}
	t.Fatalf("no site %q in %v", key, keys(p))
	return nil
}

func keys(p *Plan) []string {
	var out []string
	for _, s := range p.Sites {
		out = append(out, s.Key)
	}
	return out
}

// wantFields compares a site's fields, as JSON, with want.
func wantFields(t *testing.T, s *Site, want map[string]any) {
	t.Helper()
	got, w := JSONFields(s.Fields), JSONFields(want)
	if !reflect.DeepEqual(got, w) {
		t.Errorf("%s:\n got %v\nwant %v", s.Key, got, w)
	}
}

func TestGatusSites(t *testing.T) {
	p := mustGatus(t, "testdata/gatus.yaml")
	if got := keys(p); !reflect.DeepEqual(got, []string{"https://example.org/", "https://api.example.org/health",
		"http://example.org/any", "tcp://db.internal:5432", "dns:example.com?server=8.8.8.8%3A53&type=A&expect=93.184.215.14",
		"https://old.example.org", "push:nightly-backup"}) {
		t.Fatalf("sites %v", got)
	}
	wantFields(t, siteByKey(t, p, "https://example.org/"), map[string]any{
		"url": "https://example.org/", "name": "website", "interval": "5m", "tags": []string{"core-services"},
		"expected_status": []string{"200"}, "max_latency": "300ms", "failure_threshold": 4, "success_threshold": 2})
	wantFields(t, siteByKey(t, p, "https://api.example.org/health"), map[string]any{
		"url": "https://api.example.org/health", "name": "api", "interval": "1m", "method": "POST", "body": `{"deep": true}`,
		"headers": map[string]string{"Content-Type": "application/json"}, "timeout": "5s",
		"expected_status": []string{"200-299"}, "keyword": "healthy",
		"json_path": []any{
			map[string]any{"path": "$.status", "op": "==", "value": "UP"},
			map[string]any{"path": "$.data[0].count", "op": ">", "value": 3},
			map[string]any{"path": "$.version", "op": "exists"}},
		"failure_threshold": 3, "success_threshold": 2})
	wantFields(t, siteByKey(t, p, "http://example.org/any"), map[string]any{
		"url": "http://example.org/any", "name": "multi-status", "interval": "1m", "expected_status": []string{"200", "204", "301"}})
	wantFields(t, siteByKey(t, p, "tcp://db.internal:5432"), map[string]any{
		"url": "tcp://db.internal:5432", "name": "db", "interval": "30s", "tags": []string{"data"}})
	wantFields(t, siteByKey(t, p, "https://old.example.org"), map[string]any{
		"url": "https://old.example.org", "name": "disabled", "interval": "1m", "paused": true, "expected_status": []string{"100-599"}})
	wantFields(t, siteByKey(t, p, "push:nightly-backup"), map[string]any{
		"kind": "push", "name": "nightly-backup", "interval": "24h", "tags": []string{"jobs"},
		"failure_threshold": 4, "success_threshold": 2})
}

func TestGatusChannelsAndRouting(t *testing.T) {
	p := mustGatus(t, "testdata/gatus.yaml")
	got := map[string]string{}
	for _, c := range p.Channels {
		got[c.Name] = c.Kind + " " + strings.Join(c.Events, ",")
	}
	want := map[string]string{
		"gatus-slack": "slack down,up", "gatus-discord": "discord down", "gatus-teams-workflows": "teams down",
		"gatus-telegram": "telegram down,up", "gatus-pagerduty": "pagerduty down", "gatus-opsgenie": "opsgenie down",
		"gatus-email": "email down", "gatus-ntfy": "ntfy down", "gatus-pushover": "pushover down", "gatus-gotify": "gotify down",
		"gatus-matrix": "matrix down", "gatus-mattermost": "mattermost down", "gatus-google-chat": "googlechat down",
		"gatus-custom": "webhook down",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("channels\n got %v\nwant %v", got, want)
	}
	for _, c := range p.Channels {
		switch c.Name {
		case "gatus-telegram":
			if !reflect.DeepEqual(JSONFields(c.Settings), JSONFields(map[string]any{"bot_token": "123456789:AAbbcc", "chat_id": "-1001234567890", "message_thread_id": 7})) {
				t.Errorf("telegram settings %v", c.Settings)
			}
		case "gatus-email":
			if !reflect.DeepEqual(c.Settings["to"], []string{"ops@example.com", "dev@example.com"}) || c.Settings["port"] != 587 {
				t.Errorf("email settings %v", c.Settings)
			}
		}
	}
	if got := siteByKey(t, p, "https://example.org/").Channels; !reflect.DeepEqual(got, []string{"gatus-slack", "gatus-pagerduty"}) {
		t.Errorf("website routing %v", got)
	}
	if got := siteByKey(t, p, "https://api.example.org/health").Channels; !reflect.DeepEqual(got, []string{"gatus-discord", "gatus-telegram"}) {
		t.Errorf("api routing %v", got)
	}
}

func TestGatusMaintenance(t *testing.T) {
	p := mustGatus(t, "testdata/gatus.yaml")
	if len(p.Windows) != 2 {
		t.Fatalf("windows %+v", p.Windows)
	}
	// 23:00 in Amsterdam (CET, UTC+1) on Monday 2024-01-01 and Thursday 2024-01-04.
	for i, want := range []string{"2024-01-01T22:00:00Z", "2024-01-04T22:00:00Z"} {
		w := p.Windows[i]
		if w.Start.Format(time.RFC3339) != want || w.End.Sub(w.Start) != time.Hour || w.Recurrence != "weekly" || len(w.Sites) != len(p.Sites) {
			t.Errorf("window %d: %+v", i, w)
		}
	}
}

// TestGatusLosses checks that everything without an equivalent is listed
// with its line.
func TestGatusLosses(t *testing.T) {
	p := mustGatus(t, "testdata/gatus.yaml")
	want := []string{
		"alerting.discord.title",
		"alerting.teams",
		"alerting.opsgenie.source",
		"alerting.custom.body",
		"alerting.twilio",
		"endpoints[0] (website).alerts[1].description",
		"endpoints[0] (website).alerts[1]: pagerduty",
		"endpoints[0] (website).alerts[2]: teams",
		"endpoints[1] (api).client.insecure",
		"endpoints[1] (api).conditions[5]: len([BODY].items) == 3",
		"endpoints[1] (api).conditions[7]: [BODY].name == pat(prod-*)",
		"endpoints[1] (api).conditions[8]: [IP] == 127.0.0.1",
		"endpoints[5] (ping).url: icmp://example.org",
		"endpoints[6] (disabled).ui",
		"endpoints[6] (disabled).alerts[0]: twilio",
		"external-endpoints[0] (nightly-backup).token",
	}
	var got []string
	for _, l := range p.Losses {
		if l.Line == 0 {
			t.Errorf("loss without a line: %s", l)
		}
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
	var notes []string
	for _, n := range p.Notes {
		notes = append(notes, n.String())
	}
	for _, w := range []string{"storage", "endpoints[0] (website).conditions[1]", "endpoints[0] (website).conditions[2]", "endpoints[0] (website).group", "maintenance.timezone"} {
		found := false
		for _, g := range notes {
			found = found || strings.HasPrefix(g, w)
		}
		if !found {
			t.Errorf("no note %q in\n%s", w, strings.Join(notes, "\n"))
		}
	}
}

// TestGatusEdgeLosses covers every other loss: each is listed with its
// line and reason.
func TestGatusEdgeLosses(t *testing.T) {
	p := mustGatus(t, "testdata/gatus-edge.yaml")
	wantLosses(t, p, []string{
		"alerting.slack — not a valid slack channel (webhook_url: must be an http or https URL)",
		"alerting.ntfy.overrides",
		"endpoints[0] (put).method: PUT",
		"endpoints[0] (put).extra-labels",
		"endpoints[0] (put).conditions — no status satisfies every [STATUS] condition",
		"endpoints[0] (put).conditions[2]: [RESPONSE_TIME] > 100 — upmon has only an upper bound",
		"endpoints[0] (put).conditions[3]: [BODY] == pat(*a*b*) — upmon matches the body against one keyword",
		"endpoints[0] (put).conditions[5]: [BODY] == pat(*two*) — upmon has one keyword per site",
		"endpoints[0] (put).conditions[6]: [BODY].items == any(1, 2)",
		"endpoints[0] (put).conditions[7]: [BODY].a == [BODY].b",
		"endpoints[0] (put).conditions[8]: [STATUS] == teapot — not a status comparison",
		"endpoints[0] (put).conditions[9]: [CERTIFICATE_EXPIRATION] < 48h",
		"endpoints[0] (put).conditions[10]: [DOMAIN_EXPIRATION] > 720h",
		"endpoints[0] (put).conditions[11]: just text — not a comparison",
		"endpoints[0] (put).alerts[0]: slack — its provider (alerting.slack) has no upmon channel",
		"endpoints[0] (put).alerts[1].send-on-resolved: false — the channel gatus-ntfy also announces recoveries",
		"endpoints[0] (put).alerts[1].minimum-reminder-interval",
		"endpoints[0] (put).alerts[2]: pushover — no alerting provider of this type is configured",
		"endpoints[1] (plain-http-cert).conditions[0]: [CERTIFICATE_EXPIRATION] > 48h — upmon reads certificates of https checks only",
		"endpoints[1] (plain-http-cert).conditions[1]: [CONNECTED] == true",
		"endpoints[2] (tcp-status).conditions[0]: [STATUS] == 200",
		"endpoints[2] (tcp-status).conditions[1]: [DNS_RCODE] == NOERROR",
		"endpoints[3] (dns-srv).dns.query-type: SRV",
		"endpoints[4] (dns-rcode).dns.timeout",
		"endpoints[4] (dns-rcode).conditions[0]: [DNS_RCODE] == NXDOMAIN",
		"endpoints[4] (dns-rcode).conditions[1]: [BODY] == any(1.2.3.4, 5.6.7.8)",
		"endpoints[5] (no-url) — no url",
		"endpoints[6] (ws).url: wss://example.org/socket",
		"endpoints[7] (---).group: *** — cannot be made an upmon tag",
		"external-endpoints[0] — no name",
		"external-endpoints[1] (beat).heartbeat.grace",
		"external-endpoints[1] (beat).extra",
		"surprise",
	})
	if len(p.Windows) != 0 || len(p.Sites) != 6 {
		t.Errorf("%d windows, %d sites", len(p.Windows), len(p.Sites))
	}
	// [STATUS] == 200 and == 201 contradict: the default stays.
	if _, set := siteByKey(t, p, "https://example.org/put").Fields["expected_status"]; set {
		t.Error("contradictory statuses set expected_status")
	}
}
