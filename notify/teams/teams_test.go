package teams_test

import (
	"context"
	"encoding/json"
	"net/url"
	"testing"
	"time"

	"upmon/notify"
	"upmon/notify/notifytest"
	"upmon/notify/teams"
)

func newChannel(tb testing.TB, webhook string, env notify.Env) notify.Channel {
	tb.Helper()
	ch, err := teams.Kind().New(&teams.Settings{WebhookURL: webhook}, env)
	if err != nil {
		tb.Fatal(err)
	}
	return ch
}

func TestSendExactRequest(t *testing.T) {
	srv := notifytest.NewServer(t, notifytest.Answer{Status: 202})
	hook := srv.URL + "/workflows/abc/triggers/manual/paths/invoke?api-version=2016-06-01&sig=SIG"
	if err := newChannel(t, hook, notifytest.Env(time.Second)).Send(context.Background(), notifytest.DownMessage()); err != nil {
		t.Fatal(err)
	}
	r := srv.Next(t)
	if r.Method != "POST" || r.Path != "/workflows/abc/triggers/manual/paths/invoke" || r.Query["sig"][0] != "SIG" || r.Header.Get("Content-Type") != "application/json" {
		t.Errorf("request %s %s %v", r.Method, r.Path, r.Query)
	}
	var got map[string]any
	if err := json.Unmarshal(r.Body, &got); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(got)
	want := `{"attachments":[{"content":{"$schema":"http://adaptivecards.io/schemas/adaptive-card.json","actions":[{"title":"Open incident","type":"Action.OpenUrl","url":"https://upmon.example.com/incidents/42"}],"body":[` +
		`{"color":"Attention","size":"Medium","text":"Shop is down","type":"TextBlock","weight":"Bolder","wrap":true},` +
		`{"spacing":"None","text":"URL: https://shop.example.com/","type":"TextBlock","wrap":true},` +
		`{"spacing":"None","text":"Reason: HTTP 503 after 3 failed checks","type":"TextBlock","wrap":true},` +
		`{"spacing":"None","text":"Incident: https://upmon.example.com/incidents/42","type":"TextBlock","wrap":true},` +
		`{"spacing":"None","text":"Time: 2026-12-01 10:00:00 UTC","type":"TextBlock","wrap":true}],` +
		`"type":"AdaptiveCard","version":"1.4"},"contentType":"application/vnd.microsoft.card.adaptive","contentUrl":null}],"type":"message"}`
	if string(b) != want {
		t.Errorf("body\n%s\nwant\n%s", b, want)
	}
}

func TestFailures(t *testing.T) {
	notifytest.Failures(t, notifytest.Case{
		New: func(tb testing.TB, base string, env notify.Env) notify.Channel {
			return newChannel(tb, base+"/workflows/abc/triggers/manual/paths/invoke?api-version=2016-06-01&sig=SECRETSIG", env)
		},
		Secrets: []string{"SECRETSIG"},
	})
}

func TestFromURLAndMask(t *testing.T) {
	hook := "https://prod-01.westeurope.logic.azure.com:443/workflows/abc/triggers/manual/paths/invoke?api-version=2016-06-01&sig=SIG"
	u, _ := url.Parse("teams://?host=" + url.QueryEscape(hook))
	s, err := teams.FromURL(u)
	if err != nil || s.WebhookURL != hook {
		t.Fatalf("FromURL = %+v, %v", s, err)
	}
	m, _ := teams.Kind().Mask(s)
	if m["webhook_url"] != "https://prod-01.westeurope.logic.azure.com:443/workflows/abc/triggers/manual/paths/••••?••••" {
		t.Errorf("masked %v", m["webhook_url"])
	}
}

func TestFromURLRefusesConnectors(t *testing.T) {
	u, _ := url.Parse("teams://group@tenant/altId/groupOwner/extraId?host=example.webhook.office.com")
	if _, err := teams.FromURL(u); err == nil {
		t.Error("legacy connector URL accepted")
	}
}
