package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"upmon/account"
	"upmon/channels"
	"upmon/internal/app"
	"upmon/internal/app/apptest"
	"upmon/platform/api"
	"upmon/site"
)

// hookReceiver is a loopback webhook receiver: it records each delivery
// (path, Authorization header, whether the document is a test) and
// answers status.
type hookReceiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	got    []string
	status int
}

func newHookReceiver(t *testing.T) *hookReceiver {
	t.Helper()
	h := &hookReceiver{status: http.StatusOK}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var doc struct {
			Test bool `json:"test"`
		}
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		_ = json.Unmarshal(body, &doc)
		h.mu.Lock()
		rec := r.URL.Path + " " + r.Header.Get("Authorization")
		if doc.Test {
			rec += " test"
		}
		h.got = append(h.got, rec)
		code := h.status
		h.mu.Unlock()
		w.WriteHeader(code)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hookReceiver) deliveries() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.got...)
}

func (h *hookReceiver) answer(code int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.status = code
}

// The browser test's channel secrets: no page may show them.
const (
	hookSecretPath = "/in/browser-path-secret-4b1d"
	hookSecretAuth = "Bearer browser-header-secret-93ce"
	hookSecretSign = "browser-signing-secret-27aa"
)

// pageHasNoSecret fails if the current page's HTML holds a secret.
func pageHasNoSecret(b *browser, where string) {
	b.t.Helper()
	html := eval[string](b, `document.documentElement.outerHTML`)
	for _, s := range []string{hookSecretPath, "browser-path-secret-4b1d", "browser-header-secret-93ce", hookSecretSign} {
		if strings.Contains(html, s) {
			b.t.Errorf("%s: the page shows the secret %q", where, s)
		}
	}
}

// TestBrowserChannels drives the channels page in chromium as an editor:
// add a webhook channel through the form (to a loopback receiver), see it
// listed, press Test and see the receiver get the test and the page the
// result, edit it (the secrets stay, never shown), see a failed test's
// error, choose it on a site's settings form and see it on the site
// page, and delete it after the confirmation. A viewer sees the list and
// the channel with no form or button, and the server refuses a viewer's
// token, a wrong token and a cross-site form. No page and no audit
// record ever holds a secret.
func TestBrowserChannels(t *testing.T) {
	t.Parallel()
	cfg := apptest.Config(t)
	cfg.RateLimit, cfg.RateBurst = 1000, 1000
	m := apptest.Start(t, cfg, app.Hooks{})
	r := &channelsRun{t: t, m: m, ctx: context.Background(), base: m.URL(), rc: newHookReceiver(t), users: map[string]*account.User{}}
	for _, u := range []account.AddUserParams{
		{Name: "eve", Email: "eve@example.com", Role: "editor", Password: "editor's long password"},
		{Name: "vic", Email: "vic@example.com", Role: "viewer", Password: "viewer's long password"},
		{Name: "ada", Email: "ada@example.com", Role: "owner", Password: "owner's long password"},
	} {
		created, err := m.Accounts.AddUser(r.ctx, &u)
		if err != nil {
			t.Fatal(err)
		}
		r.users[u.Name] = created
	}
	target := apptest.NewTarget(t)
	if _, err := m.Site.Add(r.ctx, &site.AddParams{URL: target.URL + "/health"}); err != nil {
		t.Fatal(err)
	}
	r.b = newBrowser(t, 1280, 900)
	signInBrowser(r.b, r.base, "eve", "editor's long password")
	r.addWebhook()
	r.testAndEdit()
	r.chooseOnSitePage()
	r.screenshot()
	r.viewerSeesNoControls()
	r.refusals()
	r.deleteChannel()
	r.auditHoldsNoSecret()
}

// channelsRun is the state TestBrowserChannels's steps share.
type channelsRun struct {
	t     *testing.T
	m     *app.Main
	ctx   context.Context
	base  string
	b     *browser
	rc    *hookReceiver
	users map[string]*account.User
}

// addWebhook adds a webhook channel through the form.
func (r *channelsRun) addWebhook() {
	t, b, base, rc := r.t, r.b, r.base, r.rc
	b.open(base + "/frontend/channels")
	if got := eval[string](b, `document.querySelector('nav a[aria-current="page"]').textContent`); got != "Channels" {
		t.Errorf("current nav entry = %q", got)
	}
	b.do(chromedp.SetValue(chromedp.CSS("#new-kind"), "webhook"), chromedp.Click(chromedp.CSS("#add-channel button[type=submit]")))
	b.waitFor(`location.pathname === "/frontend/channels/new" && document.querySelector("#channel-form")`, 10*time.Second)
	if got := eval[string](b, `document.querySelector("h1").textContent`); got != "New Webhook channel" {
		t.Errorf("form heading = %q", got)
	}
	b.do(chromedp.SendKeys(chromedp.CSS("#c-name"), "ops hook"),
		chromedp.SendKeys(chromedp.CSS("#cs-url"), rc.srv.URL+hookSecretPath),
		chromedp.SetValue(chromedp.CSS("#cs-headers"), "Authorization: "+hookSecretAuth),
		chromedp.SendKeys(chromedp.CSS("#cs-secret"), hookSecretSign),
		chromedp.SendKeys(chromedp.CSS("#c-tags"), "prod"),
		chromedp.Click(chromedp.CSS("#ev-degraded")), // off: it wants down, up, … but not degraded
		chromedp.Click(chromedp.CSS("#channel-form button[type=submit]")))
	b.waitFor(`location.search.includes("msg=channel-added") && document.querySelector("#channel-1 .ch-name")`, 10*time.Second)
	row := eval[string](b, `document.querySelector("#channel-1").textContent`)
	for _, want := range []string{"ops hook", "Webhook", "all but degraded", "prod", "never", "none"} {
		if !strings.Contains(row, want) {
			t.Errorf("the new channel's row %q lacks %q", row, want)
		}
	}
	pageHasNoSecret(b, "list")
}

// testAndEdit presses Test (the receiver gets it), edits the channel
// (the secrets stay), shows a refused field, and a failed test.
func (r *channelsRun) testAndEdit() {
	t, b, base, rc := r.t, r.b, r.base, r.rc
	// Test: the receiver gets the test message, the page shows "sent".
	b.do(chromedp.Click(chromedp.CSS("#channel-1 form.ch-test button")))
	b.waitFor(`document.querySelector("#test-status") && document.querySelector("#test-status").textContent === "sent"`, 15*time.Second)
	if got := rc.deliveries(); len(got) != 1 || got[0] != hookSecretPath+" "+hookSecretAuth+" test" {
		t.Fatalf("receiver got %q", got)
	}
	if eval[string](b, `document.querySelector("#channel-1 time") ? document.querySelector("#channel-1 time").dateTime : ""`) == "" {
		t.Error("the row shows no last success after the test")
	}
	pageHasNoSecret(b, "test result")

	// Edit: the secrets show masked as placeholders and stay when blank.
	b.do(chromedp.Click(chromedp.CSS(`#channel-1 a[href="/frontend/channels/1"]`)))
	b.waitFor(`location.pathname === "/frontend/channels/1" && document.querySelector("#channel-form")`, 10*time.Second)
	if got := eval[string](b, `document.querySelector("#cs-url").value + "|" + document.querySelector("#cs-url").placeholder`); got != "|"+rc.srv.URL+"/in/••••" {
		t.Errorf("URL field = %q, want empty with the masked URL as placeholder", got)
	}
	pageHasNoSecret(b, "edit form")
	b.do(chromedp.SetValue(chromedp.CSS("#c-name"), "ops webhook"), chromedp.SetValue(chromedp.CSS("#c-remind"), "1h"),
		chromedp.Click(chromedp.CSS("#channel-form button[type=submit]")))
	b.waitFor(`location.search.includes("msg=channel-saved") && document.querySelector("#channel-1 .ch-name").textContent.includes("ops webhook")`, 10*time.Second)

	// A bad value is shown next to its field, the secrets not sent back.
	b.open(base + "/frontend/channels/1")
	b.do(chromedp.SetValue(chromedp.CSS("#c-conc"), "500"), chromedp.SendKeys(chromedp.CSS("#cs-secret"), "typed-again-secret-5e"),
		chromedp.Click(chromedp.CSS("#channel-form button[type=submit]")))
	b.waitFor(`document.querySelector("#e-concurrency") && document.querySelector("#e-concurrency").textContent === "must be between 1 and 64"`, 10*time.Second)
	if html := eval[string](b, `document.documentElement.outerHTML`); strings.Contains(html, "typed-again-secret-5e") {
		t.Error("the refused form sends a typed secret back")
	}

	// A failing test shows the error, scrubbed of the secrets.
	rc.answer(http.StatusServiceUnavailable)
	b.open(base + "/frontend/channels")
	b.do(chromedp.Click(chromedp.CSS("#channel-1 form.ch-test button")))
	b.waitFor(`document.querySelector("#test-status") && document.querySelector("#test-status").textContent === "failed"`, 15*time.Second)
	if msg := eval[string](b, `document.querySelector("#test-error").textContent`); !strings.Contains(msg, "503") {
		t.Errorf("test error = %q", msg)
	}
	if got := rc.deliveries(); len(got) != 2 || got[1] != hookSecretPath+" "+hookSecretAuth+" test" {
		t.Fatalf("after the edit the receiver got %q (secrets not kept)", got)
	}
	pageHasNoSecret(b, "failed test")
	rc.answer(http.StatusOK)
}

// chooseOnSitePage chooses the channel on the site's settings form, sees
// it on the site page, and unticks it again.
func (r *channelsRun) chooseOnSitePage() {
	t, b, base, m, ctx := r.t, r.b, r.base, r.m, r.ctx
	// The site page: default channels (none is set), then the channel chosen.
	b.open(base + "/frontend/sites/1")
	if got := eval[string](b, `document.querySelector("#site-channels").textContent`); !strings.HasPrefix(got, "Default channels (none is set)") {
		t.Errorf("site channels = %q", got)
	}
	b.do(chromedp.Click(chromedp.CSS("#f-ch-1")), chromedp.Click(chromedp.CSS("#settings form.settings button[type=submit]")))
	b.waitFor(`location.search.includes("msg=saved") && document.querySelector('#site-channels a[href="/frontend/channels#channel-1"]')`, 10*time.Second)
	if got := eval[string](b, `document.querySelector("#site-channels").textContent`); got != "Channels: ops webhook (chosen)" {
		t.Errorf("site channels = %q", got)
	}
	if s, err := m.Site.Get(ctx, &site.GetParams{ID: 1}); err != nil || len(s.Settings.Channels) != 1 || s.Settings.Channels[0] != 1 {
		t.Errorf("the site's channels: %v %v", s, err)
	}
	pageHasNoSecret(b, "site page")

	// Unticked again: the site names none (sent as null), default channels.
	b.do(chromedp.Click(chromedp.CSS("#f-ch-1")), chromedp.Click(chromedp.CSS("#settings form.settings button[type=submit]")))
	b.waitFor(`location.search.includes("msg=saved") && document.querySelector("#site-channels").textContent.startsWith("Default channels (none is set)")`, 10*time.Second)
	if s, err := m.Site.Get(ctx, &site.GetParams{ID: 1}); err != nil || len(s.Settings.Channels) != 0 {
		t.Errorf("the site's channels after unticking: %v %v", s, err)
	}
}

// screenshot adds two channels and takes docs/screenshots/channels.png
// with a failed test's result.
func (r *channelsRun) screenshot() {
	t, b, base, m, ctx, rc := r.t, r.b, r.base, r.m, r.ctx, r.rc
	// More channels for the screenshot: a default Slack channel and one
	// whose last test failed.
	slackHook := apptest.NewSlack(t)
	for _, f := range []string{`{"name":"team slack","kind":"slack","default":true,"events":["down","up"],"settings":{"webhook_url":"` + slackHook.URL + `"}}`,
		`{"name":"status relay","kind":"webhook","tags":["public"],"remind_every":"30m","settings":{"url":"` + rc.srv.URL + `/relay/tok-relay-77"}}`} {
		var p channels.Fields
		if err := json.Unmarshal([]byte(f), &p); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Channels.Create(ctx, &p); err != nil {
			t.Fatal(err)
		}
	}
	rc.answer(http.StatusGone)
	b.open(base + "/frontend/channels")
	b.do(chromedp.Click(chromedp.CSS("#channel-3 form.ch-test button")))
	b.waitFor(`document.querySelector("#test-status") && document.querySelector("#test-status").textContent === "failed"`, 15*time.Second)
	rc.answer(http.StatusOK)
	b.screenshot("channels")
}

// viewerSeesNoControls signs in as the viewer.
func (r *channelsRun) viewerSeesNoControls() {
	t, b, base := r.t, r.b, r.base
	// A viewer: the list and the channel read-only, no form or button.
	b.do(chromedp.Click(chromedp.CSS("#user-menu button[type=submit]")))
	b.waitFor(`location.pathname === "/login"`, 10*time.Second)
	signInBrowser(b, base, "vic", "viewer's long password")
	b.open(base + "/frontend/channels")
	if n := eval[int](b, `document.querySelectorAll("main form, main button, main a.ch-del").length`); n != 0 || !eval[bool](b, `!!document.querySelector("#channel-1")`) {
		t.Errorf("the viewer's channels page has %d controls (or no channel 1)", n)
	}
	b.open(base + "/frontend/channels/1")
	if n := eval[int](b, `document.querySelectorAll("main form, main button").length`); n != 0 || !eval[bool](b, `document.querySelector("#channel-readonly").disabled`) {
		t.Errorf("the viewer's channel page has %d controls or is not read-only", n)
	}
	pageHasNoSecret(b, "viewer's channel page")
	if got := fetchStatus(b, "POST", "/frontend/channels/1/test"); got != http.StatusForbidden {
		t.Errorf("viewer's test from the page = %d", got)
	}
}

// refusals: the server refuses a viewer's token, a wrong token and a
// cross-site form; none reaches the receiver.
func (r *channelsRun) refusals() {
	t, base, m, ctx, rc, users := r.t, r.base, r.m, r.ctx, r.rc, r.users
	// The server refuses a viewer's token, a wrong token, and a form
	// posted from another site with the editor's session.
	vctx := account.WithPrincipal(ctx, &account.Principal{UserID: users["vic"].ID, Name: "vic", Role: api.Viewer})
	vtok, err := m.Accounts.AddToken(vctx, &account.AddTokenParams{Name: "vic's token", Role: "viewer"})
	if err != nil {
		t.Fatal(err)
	}
	esess, err := m.Accounts.OpenSession(ctx, users["eve"].ID, "", "127.0.0.1", "channels-test")
	if err != nil {
		t.Fatal(err)
	}
	before := len(rc.deliveries())
	for _, c := range []struct {
		name string
		hdr  map[string]string
		want int
	}{
		{"viewer token", map[string]string{"Authorization": "Bearer " + vtok.Token}, http.StatusForbidden},
		{"wrong token", map[string]string{"Authorization": "Bearer upm_not-a-real-token-0000"}, http.StatusUnauthorized},
		{"cross-site form", map[string]string{"Cookie": app.SessionCookie + "=" + esess, "Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}, http.StatusForbidden},
	} {
		for _, p := range []string{"/frontend/channels/1/test", "/frontend/channels/1/delete"} {
			req, _ := http.NewRequest("POST", base+p, strings.NewReader(""))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			for k, v := range c.hdr {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != c.want {
				t.Errorf("%s: POST %s = %d, want %d", c.name, p, resp.StatusCode, c.want)
			}
		}
	}
	if got := len(rc.deliveries()); got != before {
		t.Errorf("refused requests sent %d test messages", got-before)
	}
}

// deleteChannel signs the editor in again and deletes the channel.
func (r *channelsRun) deleteChannel() {
	t, b, base, m, ctx := r.t, r.b, r.base, r.m, r.ctx
	// The editor deletes the channel after the confirmation page.
	b.do(chromedp.Click(chromedp.CSS("#user-menu button[type=submit]")))
	b.waitFor(`location.pathname === "/login"`, 10*time.Second)
	signInBrowser(b, base, "eve", "editor's long password")
	b.open(base + "/frontend/channels")
	b.do(chromedp.Click(chromedp.CSS("#channel-1 a.ch-del")))
	b.waitFor(`location.pathname === "/frontend/channels/1/delete" && document.querySelector("#confirm-channel-delete button")`, 10*time.Second)
	b.do(chromedp.Click(chromedp.CSS("#confirm-channel-delete button")))
	b.waitFor(`location.search.includes("msg=channel-deleted") && !document.querySelector("#channel-1") && document.querySelector("#channel-2")`, 10*time.Second)
	if _, err := m.Channels.Get(ctx, &channels.IDParams{ID: 1}); !api.IsCode(err, api.NotFound) {
		t.Errorf("channel 1 after delete: %v", err)
	}
	b.noDialogs()
}

// auditHoldsNoSecret: the audit log names the editor and holds no secret.
func (r *channelsRun) auditHoldsNoSecret() {
	t, m, ctx, users := r.t, r.m, r.ctx, r.users
	// The audit log names the editor and holds no secret.
	octx := account.WithPrincipal(ctx, &account.Principal{UserID: users["ada"].ID, Name: "ada", Role: api.Owner})
	page, err := m.Accounts.Audit(octx, &account.AuditParams{Actor: "eve", Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	all, _ := json.Marshal(page)
	if !strings.Contains(string(all), "/frontend/channels") {
		t.Errorf("the audit log has no record of the channel forms: %s", all)
	}
	for _, s := range []string{"browser-path-secret-4b1d", "browser-header-secret-93ce", hookSecretSign, "typed-again-secret-5e"} {
		if strings.Contains(string(all), s) {
			t.Errorf("the audit log holds the secret %q", s)
		}
	}
}
