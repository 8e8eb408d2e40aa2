package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"upmon/account"
	"upmon/internal/app"
	"upmon/internal/app/apptest"
)

// TestAccountAuditOfChannelsAndAck: the audit wrapper covers the channels
// service's changes and the incident acknowledgement. An editor creates
// and updates a channel and acknowledges an incident; the owner's audit
// log names the editor for each, and never holds a channel's credential.
// The dashboard's acknowledge button shows for the editor, not a viewer.
func TestAccountAuditOfChannelsAndAck(t *testing.T) {
	t.Parallel()
	cfg := apptest.Config(t)
	cfg.APITokens = []string{rwToken}
	cfg.RateLimit, cfg.RateBurst = 1000, 1000
	m := apptest.Start(t, cfg, app.Hooks{})
	target := apptest.NewTarget(t)
	ch := apptest.NewSlack(t)
	ctx := context.Background()
	as := map[string]string{}
	for _, role := range []string{"editor", "viewer"} {
		u, err := m.Accounts.AddUser(ctx, &account.AddUserParams{Name: "audit-" + role, Email: role + "@example.com", Role: role})
		if err != nil {
			t.Fatal(err)
		}
		if as[role], err = m.Accounts.OpenSession(ctx, u.ID, "", "127.0.0.1", "audit-test"); err != nil {
			t.Fatal(err)
		}
	}
	do := func(role, method, path, ctype, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, m.URL()+path, strings.NewReader(body))
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		if role == "owner" {
			req.Header.Set("Authorization", "Bearer "+rwToken)
		} else {
			req.AddCookie(&http.Cookie{Name: app.SessionCookie, Value: as[role]})
		}
		client := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	const secretPath, secretPath2 = "/hook-credential-one", "/hook-credential-two"
	const js = "application/json"
	if st, b := do("editor", "POST", "/site", js, `{"url":"`+target.URL+`"}`); st != 200 {
		t.Fatalf("add site: %d %s", st, b)
	}
	var created struct{ ID int64 }
	st, b := do("editor", "POST", "/channels", js, `{"name":"ops","kind":"slack","default":true,"settings":{"webhook_url":"`+ch.URL+secretPath+`"}}`)
	if st != 200 || json.Unmarshal([]byte(b), &created) != nil {
		t.Fatalf("create channel: %d %s", st, b)
	}
	if st, b := do("editor", "PATCH", "/channels/"+itoa(created.ID), js, `{"settings":{"webhook_url":"`+ch.URL+secretPath2+`"}}`); st != 200 {
		t.Fatalf("update channel: %d %s", st, b)
	}

	target.SetStatus(500)
	if st, b := do("editor", "POST", "/check/1", "", ""); st != 200 {
		t.Fatalf("check: %d %s", st, b)
	}
	ch.WaitFor(1, 10*time.Second)
	var alerts struct{ Alerts []struct{ Incident string } }
	_, b = do("viewer", "GET", "/site/1/alerts", "", "")
	if json.Unmarshal([]byte(b), &alerts) != nil || len(alerts.Alerts) != 1 {
		t.Fatalf("alerts: %s", b)
	}
	_, viewerPage := do("viewer", "GET", "/frontend/sites/1", "", "")
	_, editorPage := do("editor", "GET", "/frontend/sites/1", "", "")
	if strings.Contains(viewerPage, ">Acknowledge</button>") || !strings.Contains(editorPage, ">Acknowledge</button>") {
		t.Fatalf("acknowledge button: viewer sees it %v, editor sees it %v",
			strings.Contains(viewerPage, ">Acknowledge</button>"), strings.Contains(editorPage, ">Acknowledge</button>"))
	}
	if st, b := do("viewer", "POST", "/site/1/incidents/"+alerts.Alerts[0].Incident+"/ack", "", ""); st != 403 {
		t.Fatalf("a viewer's ack: %d %s", st, b)
	}
	if st, b := do("editor", "POST", "/site/1/incidents/"+alerts.Alerts[0].Incident+"/ack", "", ""); st != 200 {
		t.Fatalf("ack: %d %s", st, b)
	}

	_, body := do("owner", "GET", "/audit?action=channels", "", "")
	var page account.AuditPage
	if err := json.Unmarshal([]byte(body), &page); err != nil {
		t.Fatalf("audit: %s", body)
	}
	got := map[string]*account.Entry{}
	for _, e := range page.Entries {
		got[e.Action] = e
	}
	for _, action := range []string{"channels.create", "channels.update", "channels.ack"} {
		if e := got[action]; e == nil || e.Actor != "audit-editor" {
			t.Errorf("audit record %s: %+v (all: %s)", action, e, body)
		}
	}
	if e := got["channels.ack"]; e != nil && !strings.Contains(e.Target, alerts.Alerts[0].Incident) {
		t.Errorf("ack record names %q, not the incident %s", e.Target, alerts.Alerts[0].Incident)
	}
	if e := got["channels.update"]; e != nil && (len(e.Before) == 0 || len(e.After) == 0) {
		t.Errorf("update record without before and after: %+v", e)
	}
	if strings.Contains(body, secretPath) || strings.Contains(body, secretPath2) {
		t.Fatalf("the audit log holds a channel's credential: %s", body)
	}
}
