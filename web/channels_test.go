package web

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"upmon/account"
	"upmon/channels"
	"upmon/notify"
	"upmon/notify/kinds"
	"upmon/platform/api"
	"upmon/platform/sqldb"
	"upmon/platform/sqldb/sqldbtest"
)

// chanEnv is the dashboard over the real channels service (SQLite), with
// a stand-in for the program's role guard: each request carries the
// principal of role, and a route needing more is refused as the
// program refuses it (api.RequiredRole).
type chanEnv struct {
	*env
	store *managedStore
	role  api.Role
}

// managedStore is the channels service as the dashboard sees it, with
// the channels named in managed answered as managed by a secret (what
// the service does for the SlackWebhookURL channel).
type managedStore struct {
	ChannelsStore
	mu      sync.Mutex
	managed map[int64]bool
	deletes int
}

func (m *managedStore) mark(c *ChannelInfo) *ChannelInfo {
	m.mu.Lock()
	defer m.mu.Unlock()
	if c != nil && m.managed[c.ID] {
		c.ManagedBy = "SlackWebhookURL"
	}
	return c
}

func (m *managedStore) ListChannels(ctx context.Context) ([]ChannelInfo, error) {
	l, err := m.ChannelsStore.ListChannels(ctx)
	for i := range l {
		m.mark(&l[i])
	}
	return l, err
}

func (m *managedStore) GetChannel(ctx context.Context, id int64) (*ChannelInfo, error) {
	c, err := m.ChannelsStore.GetChannel(ctx, id)
	return m.mark(c), err
}

func (m *managedStore) DeleteChannel(ctx context.Context, id int64) error {
	m.mu.Lock()
	m.deletes++
	m.mu.Unlock()
	return m.ChannelsStore.DeleteChannel(ctx, id)
}

func newChanEnv(t *testing.T) *chanEnv {
	t.Helper()
	ctx := context.Background()
	db, err := sqldb.Open(ctx, sqldbtest.Config(t), "channels", channels.Migrations())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	reg, err := kinds.Registry()
	if err != nil {
		t.Fatal(err)
	}
	e := &chanEnv{env: &env{t: t, sites: newFakeSites(), mon: newFakeMonitor()}, role: api.Editor}
	svc := channels.New(db, channels.Options{Kinds: reg, Sites: e.sites, SendTimeout: 5 * time.Second,
		Env: notify.Env{HTTP: notify.NewHTTPClient(notify.HTTPOptions{Timeout: 5 * time.Second})}})
	e.store = &managedStore{ChannelsStore: ChannelsStore{Service: svc, Registry: reg}, managed: map[int64]bool{}}
	e.h = New(Options{Sites: e.sites, Monitor: e.mon, Settings: e.sites, Channels: e.store, Now: func() time.Time { return testNow },
		Logger: slog.New(slog.NewTextHandler(tLog{t}, nil))})
	srv := api.NewServer(nil)
	srv.AddGuard(func(r *http.Request, ep api.Endpoint) error {
		need, ok := api.RequiredRole(ep)
		if !ok || account.PrincipalFrom(r.Context()).Role < need {
			return api.Errorf(api.PermissionDenied, "this needs the %s role", need)
		}
		return nil
	})
	e.h.Register(srv)
	e.srv = Protect(nil, srv)
	return e
}

// send makes a request as e.role, from the dashboard's own origin (as a
// browser submitting its form does) unless hdr says otherwise.
func (e *chanEnv) send(method, target string, form url.Values, hdr ...string) *httptest.ResponseRecorder {
	e.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req := httptest.NewRequest(method, target, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if method == http.MethodPost {
		req.Header.Set("Origin", "http://example.com")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	p := &account.Principal{UserID: 7, Name: "eve", Role: e.role}
	w := httptest.NewRecorder()
	e.srv.ServeHTTP(w, req.WithContext(account.WithPrincipal(req.Context(), p)))
	return w
}

// receiver is a loopback webhook receiver counting deliveries by path.
type receiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	paths  []string
	status int
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{status: http.StatusOK}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		rc.mu.Lock()
		rc.paths = append(rc.paths, r.URL.Path+" "+r.Header.Get("Authorization"))
		code := rc.status
		rc.mu.Unlock()
		w.WriteHeader(code)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) got() []string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]string(nil), rc.paths...)
}

// Secrets of the tests' webhook channel: none may appear in a page.
const (
	secretPath   = "/in/path-secret-7f3a9"
	secretHeader = "Bearer header-secret-51c2"
	secretSign   = "signing-secret-0d4e"
)

func webhookForm(name, hookURL string) url.Values {
	return url.Values{"kind": {"webhook"}, "name": {name}, "secret.url": {hookURL}, "set.method": {"POST"},
		"secret.headers": {"Authorization: " + secretHeader}, "secret.secret": {secretSign},
		"events": {"", "down", "up"}, "tags": {"prod, web"}, "default": {"", "1"}, "enabled": {"", "1"},
		"group_after": {"10"}, "concurrency": {"4"}, "remind_every": {""}, "template": {""}}
}

func noSecrets(t *testing.T, what, body string) {
	t.Helper()
	for _, s := range []string{secretPath, "path-secret-7f3a9", "header-secret-51c2", secretSign} {
		if strings.Contains(body, s) {
			t.Errorf("%s shows the secret %q", what, s)
		}
	}
}

// TestChannelPages: an editor adds a webhook channel through the form,
// sees it listed, tests it (the receiver gets the test at the secret
// path with the secret header), edits it leaving the secrets blank (they
// are kept), and deletes it after the confirmation page. No page ever
// shows a secret.
func TestChannelPages(t *testing.T) {
	e := newChanEnv(t)
	rc := newReceiver(t)
	w := e.send("POST", "/frontend/channels", webhookForm("ops hook", rc.srv.URL+secretPath))
	if w.Code != http.StatusSeeOther || !strings.HasPrefix(w.Header().Get("Location"), "/frontend/channels?msg=channel-added#channel-") {
		t.Fatalf("create = %d %q: %s", w.Code, w.Header().Get("Location"), w.Body)
	}
	list := e.send("GET", "/frontend/channels?msg=channel-added", nil)
	body := list.Body.String()
	for _, want := range []string{"Channel added.", `<strong>ops hook</strong>`, "<td>Webhook</td>", "<td>down, up</td>",
		`<span class="pill default">Default</span>`, `<span class="tag">prod</span>`, `action="/frontend/channels/1/test"`,
		`href="/frontend/channels/1/delete"`, `<td class="n ch-pending">0</td>`, `aria-current="page">Channels</a>`} {
		if !strings.Contains(body, want) {
			t.Errorf("list lacks %q", want)
		}
	}
	noSecrets(t, "the list", body)

	edit := e.send("GET", "/frontend/channels/1", nil).Body.String()
	for _, want := range []string{`placeholder="` + rc.srv.URL + `/in/••••"`, `placeholder="Authorization: ••••"`,
		`name="secret.url" type="password"`, `(secret: leave empty to keep it)`, `id="cc-secret"`, `value="ops hook"`} {
		if !strings.Contains(edit, want) {
			t.Errorf("edit form lacks %q", want)
		}
	}
	noSecrets(t, "the edit form", edit)

	w = e.send("POST", "/frontend/channels/1/test", url.Values{})
	if w.Code != 200 || !strings.Contains(w.Body.String(), `<span id="test-status">sent</span>`) {
		t.Fatalf("test = %d: %s", w.Code, w.Body)
	}
	noSecrets(t, "the test result", w.Body.String())
	if got := rc.got(); len(got) != 1 || got[0] != secretPath+" "+secretHeader {
		t.Fatalf("receiver got %q", got)
	}

	// Edit: rename, no secret typed: the stored ones are kept.
	f := webhookForm("ops hook 2", "")
	f.Set("secret.headers", "")
	f.Set("secret.secret", "")
	if w := e.send("POST", "/frontend/channels/1", f); w.Code != http.StatusSeeOther {
		t.Fatalf("update = %d: %s", w.Code, w.Body)
	}
	rc.mu.Lock()
	rc.status = http.StatusGone
	rc.mu.Unlock()
	w = e.send("POST", "/frontend/channels/1/test", url.Values{})
	body = w.Body.String()
	if !strings.Contains(body, `<span id="test-status">failed</span>`) || !strings.Contains(body, `id="test-error"`) ||
		!strings.Contains(body, "410") || !strings.Contains(body, "<strong>ops hook 2</strong>") {
		t.Errorf("failed test shows: %s", body)
	}
	noSecrets(t, "the failed test", body)
	if got := rc.got(); len(got) != 2 || got[1] != secretPath+" "+secretHeader {
		t.Fatalf("after the edit the receiver got %q (secrets not kept)", got)
	}

	// Clearing an optional secret removes it; the required URL stays.
	f.Set("clear.headers", "1")
	if w := e.send("POST", "/frontend/channels/1", f); w.Code != http.StatusSeeOther {
		t.Fatalf("update = %d: %s", w.Code, w.Body)
	}
	_ = e.send("POST", "/frontend/channels/1/test", url.Values{})
	if got := rc.got(); len(got) != 3 || got[2] != secretPath+" " {
		t.Fatalf("after clearing the headers the receiver got %q", got)
	}

	confirm := e.send("GET", "/frontend/channels/1/delete", nil).Body.String()
	if !strings.Contains(confirm, `<button type="submit" class="danger">Delete channel</button>`) {
		t.Errorf("confirm page: %s", confirm)
	}
	if w := e.send("POST", "/frontend/channels/1/delete", url.Values{}); w.Code != http.StatusSeeOther ||
		w.Header().Get("Location") != "/frontend/channels?msg=channel-deleted" {
		t.Fatalf("delete = %d %q", w.Code, w.Header().Get("Location"))
	}
	if body := e.send("GET", "/frontend/channels", nil).Body.String(); strings.Contains(body, "ops hook") || !strings.Contains(body, "No channels yet") {
		t.Errorf("after delete the list shows: %s", body)
	}
}

// TestManagedChannel: a channel the service answers as managed by the
// SlackWebhookURL secret shows its name and settings read-only with the
// note, has no delete button, and an edit sends neither.
func TestManagedChannel(t *testing.T) {
	e := newChanEnv(t)
	rc := newReceiver(t)
	name := "slack"
	if _, err := e.store.CreateChannel(context.Background(), &channels.Fields{Name: &name, Kind: ptr("slack"),
		Settings: []byte(`{"webhook_url":"` + rc.srv.URL + `/services/T0/B0/managed-secret-9"}`)}); err != nil {
		t.Fatal(err)
	}
	e.store.managed[1] = true
	body := e.send("GET", "/frontend/channels", nil).Body.String()
	if !strings.Contains(body, "managed by the SlackWebhookURL secret") || strings.Contains(body, `href="/frontend/channels/1/delete"`) {
		t.Errorf("list of a managed channel: %s", body)
	}
	edit := e.send("GET", "/frontend/channels/1", nil).Body.String()
	for _, want := range []string{`<fieldset id="c-settings" disabled>`, `id="managed-note"`, `value="slack" maxlength="100" required aria-describedby="e-name managed-note" disabled`} {
		if !strings.Contains(edit, want) {
			t.Errorf("edit form of a managed channel lacks %q", want)
		}
	}
	noSecrets(t, "managed", strings.ReplaceAll(edit, "managed-secret-9", secretPath))
	f := url.Values{"name": {"renamed"}, "set.username": {"bot"}, "events": {"", "down"}, "enabled": {"", "1"}, "tags": {"ops"}}
	if w := e.send("POST", "/frontend/channels/1", f); w.Code != http.StatusSeeOther {
		t.Fatalf("update = %d: %s", w.Code, w.Body)
	}
	c, err := e.store.GetChannel(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "slack" || c.Settings["username"] != nil || len(c.Tags) != 1 || c.Tags[0] != "ops" || len(c.Events) != 1 {
		t.Errorf("after the edit: name %q settings %v tags %v events %v", c.Name, c.Settings, c.Tags, c.Events)
	}
	if w := e.send("POST", "/frontend/channels/1/delete", url.Values{}); w.Code != http.StatusBadRequest || e.store.deletes != 0 ||
		!strings.Contains(w.Body.String(), "managed by the SlackWebhookURL secret and cannot be deleted") {
		t.Errorf("delete of a managed channel = %d, %d deletes: %s", w.Code, e.store.deletes, w.Body)
	}
}
