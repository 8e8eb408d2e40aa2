package channels_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"upmon/channels"
	"upmon/notify"
	"upmon/platform/api"
	"upmon/site"
)

func TestCreateMasksSecretsAndNamesBadFields(t *testing.T) {
	f := newFixture(t, nil)
	h := newHook(t)
	c := f.slack(t, "ops", h.URL, nil)
	b, _ := json.Marshal(c)
	if strings.Contains(string(b), "SECRETSECRET") {
		t.Fatalf("answer shows the secret: %s", b)
	}
	if got := c.Settings["webhook_url"]; !strings.HasSuffix(got.(string), "/services/T0/B0/••••") {
		t.Fatalf("webhook_url = %v, want masked", got)
	}
	if len(c.Events) != len(notify.Events()) || !c.Enabled || c.GroupAfter != 10 {
		t.Fatalf("defaults: %+v", c)
	}
	ctx := context.Background()
	bad := []struct {
		p     channels.Fields
		field string
	}{
		{channels.Fields{Kind: ptr("slack")}, "name"},
		{channels.Fields{Name: ptr("x")}, "kind"},
		{channels.Fields{Name: ptr("x"), Kind: ptr("nope")}, "kind"},
		{channels.Fields{Name: ptr("x"), Kind: ptr("slack"), Settings: json.RawMessage(`{"webhook_url":"ftp://h/x"}`)}, "settings.webhook_url"},
		{channels.Fields{Name: ptr("x"), Kind: ptr("slack"), Settings: json.RawMessage(`{"webhook_url":"` + h.URL + `"}`), Events: &[]string{"down", "bogus"}}, "events[1]"},
		{channels.Fields{Name: ptr("x"), Kind: ptr("slack"), Settings: json.RawMessage(`{"webhook_url":"` + h.URL + `"}`), Template: ptr("ok\n{{.Site")}, "template"},
		{channels.Fields{Name: ptr("ops"), Kind: ptr("slack"), Settings: json.RawMessage(`{"webhook_url":"` + h.URL + `"}`)}, "name"},
	}
	for _, tc := range bad {
		_, err := f.svc.Create(ctx, &tc.p)
		var ae *api.Error
		if !asAPI(err, &ae) || ae.Code != api.InvalidArgument || !strings.HasPrefix(ae.Message, tc.field+":") {
			t.Errorf("Create(%s) = %v, want invalid_argument on %s", tc.field, err, tc.field)
		}
	}
	// Sending the masked value back keeps the stored secret.
	upd, err := f.svc.Update(ctx, &channels.UpdateParams{ID: c.ID, Fields: channels.Fields{
		Settings: json.RawMessage(`{"webhook_url":"` + c.Settings["webhook_url"].(string) + `","username":"upmon"}`)}})
	if err != nil {
		t.Fatal(err)
	}
	if upd.Settings["username"] != "upmon" {
		t.Fatalf("username not saved: %+v", upd.Settings)
	}
	res, err := f.svc.Test(ctx, &channels.IDParams{ID: c.ID})
	if err != nil || res.Status != "sent" {
		t.Fatalf("Test = %+v, %v", res, err)
	}
	if txt := h.next(t); !strings.Contains(txt, "[test]") {
		t.Fatalf("test message not marked: %q", txt)
	}
}

func TestTemplateErrorNamesTheLine(t *testing.T) {
	for src, want := range map[string]string{
		"a\nb\n{{.Site":            "template: line 3:",
		"{{range 5}}x{{end}}":      "template: line 1: range is not allowed",
		"{{define \"x\"}}y{{end}}": "template: define",
	} {
		_, err := channels.ParseTemplate(src)
		var ae *api.Error
		if !asAPI(err, &ae) || !strings.HasPrefix(ae.Message, want) {
			t.Errorf("ParseTemplate(%q) = %v, want %q…", src, err, want)
		}
	}
	tm, err := channels.ParseTemplate(`{{upper .Site}} is {{.State}}{{printf "%s" .URL}}`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := channels.Render(tm, notify.Message{SiteName: "shop", State: "down"}); err == nil || !strings.Contains(err.Error(), "printf is not available") {
		t.Fatalf("printf ran: %v", err)
	}
	tm, _ = channels.ParseTemplate(`{{.Site}} {{.Site}}{{.Site}}{{.Site}}{{.Reason}}{{.Reason}}{{.Reason}}{{.Reason}}`)
	out, err := channels.Render(tm, notify.Message{SiteName: "s", Reason: strings.Repeat("r", 3000)})
	if err != nil || len(out) > channels.MaxOutputBytes+len("…") {
		t.Fatalf("output not capped: %d bytes, %v", len(out), err)
	}
}

func TestTemplateOverridesText(t *testing.T) {
	f := newFixture(t, nil)
	h := newHook(t)
	f.slack(t, "ops", h.URL, func(p *channels.Fields) { p.Template = ptr("ALERT {{upper .Site}} {{.State}}\nsince {{.Time}}") })
	f.addSite(1, func(s *site.Site) { s.Name = "shop" })
	f.route(t, 1, notify.EventDown)
	if got := h.next(t); !strings.HasPrefix(got, "*ALERT SHOP down*") {
		t.Fatalf("text = %q", got)
	}
}

func TestUpGoesWhereTheDownWent(t *testing.T) {
	f := newFixture(t, nil)
	ha, hb := newHook(t), newHook(t)
	f.slack(t, "a", ha.URL, nil)
	b := f.slack(t, "b", hb.URL, func(p *channels.Fields) { p.Default = ptr(false) })
	f.addSite(1, nil)
	f.route(t, 1, notify.EventDown)
	if got := ha.next(t); !strings.Contains(got, "is down") {
		t.Fatalf("a got %q", got)
	}
	// The site now names channel b only; its up still goes to a.
	f.addSite(1, func(s *site.Site) { s.Channels = []int64{b.ID} })
	f.route(t, 1, notify.EventUp)
	if got := ha.next(t); !strings.Contains(got, "is back up") {
		t.Fatalf("a got %q", got)
	}
	// The next down follows the new routing.
	f.route(t, 1, notify.EventDown)
	if got := hb.next(t); !strings.Contains(got, "is down") {
		t.Fatalf("b got %q", got)
	}
	if n := ha.attempts(); n != 2 {
		t.Fatalf("a got %d messages, want 2", n)
	}
}

func TestTagsRouteAndDefaultsServeTheRest(t *testing.T) {
	f := newFixture(t, nil)
	hd, ht := newHook(t), newHook(t)
	f.slack(t, "default", hd.URL, nil)
	f.slack(t, "eu", ht.URL, func(p *channels.Fields) { p.Default = ptr(false); p.Tags = &[]string{"eu"} })
	f.addSite(1, func(s *site.Site) { s.Tags = []string{"eu"} })
	f.addSite(2, nil)
	f.route(t, 1, notify.EventDown)
	f.route(t, 2, notify.EventDown)
	if got := ht.next(t); !strings.Contains(got, "site1") {
		t.Fatalf("tagged channel got %q", got)
	}
	if got := hd.next(t); !strings.Contains(got, "site2") {
		t.Fatalf("default channel got %q", got)
	}
}

func TestRetryAfterThenDelivered(t *testing.T) {
	f := newFixture(t, nil)
	h := newHook(t)
	h.answer = func(n int, w http.ResponseWriter) bool {
		if n == 0 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			return true
		}
		return false
	}
	c := f.slack(t, "ops", h.URL, nil)
	f.addSite(1, nil)
	f.route(t, 1, notify.EventDown)
	h.next(t)
	if n := h.attempts(); n != 2 {
		t.Fatalf("attempts = %d, want 2", n)
	}
	got := waitStatus(t, f, c.ID, func(s channels.Status) bool { return s.LastSuccessAt != nil && s.Pending == 0 })
	if !strings.Contains(got.LastError, "429") || strings.Contains(got.LastError, "SECRET") {
		t.Fatalf("last error = %q", got.LastError)
	}
}

func TestPermanentRefusalIsDeadAtOnce(t *testing.T) {
	f := newFixture(t, nil)
	h := newHook(t)
	h.answer = func(_ int, w http.ResponseWriter) bool { w.WriteHeader(http.StatusNotFound); return true }
	c := f.slack(t, "ops", h.URL, nil)
	f.addSite(1, nil)
	f.route(t, 1, notify.EventDown)
	// The dead letter and the last error are recorded one after the
	// other: wait for both.
	st := waitStatus(t, f, c.ID, func(s channels.Status) bool { return s.DeadLetters == 1 && s.LastError != "" })
	if h.attempts() != 1 || st.Pending != 0 || !strings.Contains(st.LastError, "404") {
		t.Fatalf("attempts %d, status %+v", h.attempts(), st)
	}
	dl, err := f.svc.DeadLetters(context.Background(), &channels.IDParams{ID: c.ID})
	if err != nil || len(dl.DeadLetters) != 1 || dl.DeadLetters[0].Message.SiteID != 1 {
		t.Fatalf("dead letters %+v, %v", dl, err)
	}
}

func asAPI(err error, target **api.Error) bool {
	ae, ok := err.(*api.Error)
	if ok {
		*target = ae
	}
	return ok
}

// A channel disabled after it was told of a down still gets the up.
func TestDisabledChannelStillGetsTheEnd(t *testing.T) {
	f := newFixture(t, nil)
	h := newHook(t)
	c := f.slack(t, "ops", h.URL, nil)
	f.addSite(1, nil)
	f.route(t, 1, notify.EventDown)
	h.next(t)
	if _, err := f.svc.Update(context.Background(), &channels.UpdateParams{ID: c.ID, Fields: channels.Fields{Enabled: ptr(false)}}); err != nil {
		t.Fatal(err)
	}
	f.route(t, 1, notify.EventUp)
	if got := h.next(t); !strings.Contains(got, "back up") {
		t.Fatalf("got %q", got)
	}
	f.route(t, 1, notify.EventDown) // a new problem: not routed to a disabled channel
	f.addSite(2, nil)
	h2 := newHook(t)
	f.slack(t, "other", h2.URL, nil)
	f.route(t, 2, notify.EventDown)
	h2.next(t)
	if n := h.attempts(); n != 2 {
		t.Fatalf("the disabled channel got %d messages, want 2", n)
	}
}

// A site naming only a deleted channel is served by the defaults, not
// silenced.
func TestSiteNamingADeletedChannelFallsBackToDefaults(t *testing.T) {
	f := newFixture(t, nil)
	hd := newHook(t)
	f.slack(t, "default", hd.URL, nil)
	gone := f.slack(t, "gone", newHook(t).URL, func(p *channels.Fields) { p.Default = ptr(false) })
	if _, err := f.svc.Delete(context.Background(), &channels.IDParams{ID: gone.ID}); err != nil {
		t.Fatal(err)
	}
	f.addSite(1, func(s *site.Site) { s.Channels = []int64{gone.ID} })
	f.route(t, 1, notify.EventDown)
	if got := hd.next(t); !strings.Contains(got, "is down") {
		t.Fatalf("default got %q", got)
	}
}
