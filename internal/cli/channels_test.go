package cli_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"upmon/internal/app"
	"upmon/internal/app/apptest"
	"upmon/internal/cli"
)

func runEnv(t *testing.T, env []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	code = cli.Run(ctx, cli.IO{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Env: env}, args)
	return code, out.String(), errb.String()
}

// Channels and routing travel through export and import; the webhook
// (a secret) travels only as a ${VARIABLE} reference.
func TestSitesExportImportCarriesChannels(t *testing.T) {
	t.Parallel()
	a := apptest.Start(t, apptest.Config(t), app.Hooks{})
	ca := apptest.Client{Base: a.URL(), TB: t}
	hook := apptest.NewSlack(t)
	var ch struct{ ID int64 }
	ca.JSON("POST", "/channels", `{"name":"Ops Team","kind":"slack","events":["down","up"],"remind_every":"2h",`+
		`"settings":{"webhook_url":"`+hook.URL+`","username":"upmon"}}`, &ch)
	target := apptest.NewTarget(t)
	ca.JSON("POST", "/site", fmt.Sprintf(`{"url":"%s/a","channels":[%d]}`, target.URL, ch.ID), nil)

	code, out, errs := runEnv(t, []string{}, "sites", "export", "--server", a.URL())
	if code != 0 {
		t.Fatalf("export: %d %s", code, errs)
	}
	if strings.Contains(out, "XXXXXXXX") || strings.Contains(out, "••••") ||
		!strings.Contains(out, "webhook_url: ${UPMON_CHANNEL_OPS_TEAM_WEBHOOK_URL}") || !strings.Contains(out, "channels: [Ops Team]") {
		t.Fatalf("export:\n%s", out)
	}

	b := apptest.Start(t, apptest.Config(t), app.Hooks{})
	file := writeFile(t, t.TempDir(), "sites.yaml", out)
	if code, _, errs := runEnv(t, []string{}, "sites", "import", "--server", b.URL(), file); code == 0 ||
		!strings.Contains(errs, "settings.webhook_url: its variable is not set") {
		t.Fatalf("import without the variable: %d %s", code, errs)
	}
	env := []string{"UPMON_CHANNEL_OPS_TEAM_WEBHOOK_URL=" + hook.URL}
	if code, out, errs := runEnv(t, env, "sites", "import", "--server", b.URL(), file); code != 0 || !strings.Contains(out, "channels: 1 added") {
		t.Fatalf("import: %d %s %s", code, out, errs)
	}
	code, out, _ = runEnv(t, env, "channels", "list", "--server", b.URL())
	if code != 0 || !strings.Contains(out, "Ops Team") || !strings.Contains(out, "slack") {
		t.Fatalf("channels list: %d %s", code, out)
	}
	cb := apptest.Client{Base: b.URL(), TB: t}
	var sites struct {
		Sites []struct{ Channels []int64 }
	}
	cb.JSON("GET", "/site", "", &sites)
	if len(sites.Sites) != 1 || len(sites.Sites[0].Channels) != 1 {
		t.Fatalf("routing not imported: %+v", sites)
	}
	id := fmt.Sprint(sites.Sites[0].Channels[0])
	if code, out, errs := runEnv(t, env, "channels", "test", "--server", b.URL(), id); code != 0 || !strings.Contains(out, "sent") {
		t.Fatalf("channels test: %d %s %s", code, out, errs)
	}
	if got := hook.WaitFor(1, 10*time.Second); len(got) != 1 || !strings.Contains(got[0], "[test]") {
		t.Fatalf("the imported channel's webhook got %q", got)
	}
	// A literal secret in a file is refused before anything is sent.
	bad := writeFile(t, t.TempDir(), "bad.yaml", "channels:\n  - name: x\n    kind: slack\n    settings:\n      webhook_url: "+hook.URL+"\nsites: []\n")
	if code, _, errs := runEnv(t, env, "sites", "import", "--server", b.URL(), bad); code == 0 || !strings.Contains(errs, "must be a ${VARIABLE} reference") {
		t.Fatalf("literal secret: %d %s", code, errs)
	}
}

// The implicit Slack channel (the SlackWebhookURL secret) is not exported
// as a channel: each server has its own from its own secret, and a site
// naming it is routed to the target's by name.
func TestSitesExportLeavesTheImplicitSlackChannel(t *testing.T) {
	t.Parallel()
	hookA, hookB := apptest.NewSlack(t), apptest.NewSlack(t)
	cfgA, cfgB := apptest.Config(t), apptest.Config(t)
	cfgA.Env = append(cfgA.Env, "SLACK_WEBHOOK_URL="+hookA.URL)
	cfgB.Env = append(cfgB.Env, "SLACK_WEBHOOK_URL="+hookB.URL)
	a, b := apptest.Start(t, cfgA, app.Hooks{}), apptest.Start(t, cfgB, app.Hooks{})
	ca, cb := apptest.Client{Base: a.URL(), TB: t}, apptest.Client{Base: b.URL(), TB: t}
	implicit := func(c apptest.Client) int64 {
		var l struct {
			Channels []struct {
				ID        int64
				ManagedBy string `json:"managed_by"`
			}
		}
		c.JSON("GET", "/channels", "", &l)
		for _, ch := range l.Channels {
			if ch.ManagedBy == "SlackWebhookURL" {
				return ch.ID
			}
		}
		t.Fatalf("no implicit channel: %+v", l)
		return 0
	}
	target := apptest.NewTarget(t)
	ca.JSON("POST", "/site", fmt.Sprintf(`{"url":"%s/a","channels":[%d]}`, target.URL, implicit(ca)), nil)
	code, out, errs := runEnv(t, []string{}, "sites", "export", "--server", a.URL())
	if code != 0 {
		t.Fatalf("export: %d %s", code, errs)
	}
	if strings.Contains(out, "name: slack (SlackWebhookURL)") || strings.Contains(out, "XXXXXXXX") ||
		!strings.Contains(out, "channels: [slack (SlackWebhookURL)]") {
		t.Fatalf("export:\n%s", out)
	}
	file := writeFile(t, t.TempDir(), "sites.yaml", out)
	if code, out, errs := runEnv(t, []string{}, "sites", "import", "--server", b.URL(), file); code != 0 || strings.Contains(out, "channels: 1 added") {
		t.Fatalf("import: %d %s %s", code, out, errs)
	}
	var sites struct {
		Sites []struct{ Channels []int64 }
	}
	cb.JSON("GET", "/site", "", &sites)
	if len(sites.Sites) != 1 || len(sites.Sites[0].Channels) != 1 || sites.Sites[0].Channels[0] != implicit(cb) {
		t.Fatalf("the imported site is not routed to the target's implicit channel: %+v", sites)
	}
}
