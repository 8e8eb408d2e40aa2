package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"upmon/account"
	"upmon/internal/app"
	"upmon/internal/app/apptest"
	"upmon/platform/catalog"
)

// catalogEndpointKey names one route and method.
func catalogEndpointKey(method, path string) string { return method + " " + path }

// TestCatalogListsEverything compares GET /admin/catalog with what the
// running program really has: the routes its server answers, the streams
// and durable consumers on NATS, the cron jobs in /metrics, the databases
// and the declared secret (set, value never shown).
func TestCatalogListsEverything(t *testing.T) {
	t.Parallel()
	cfg := apptest.Config(t)
	const webhook = "http://127.0.0.1:9/hooks/catalog-secret-value"
	cfg.Env = append(cfg.Env, "SLACK_WEBHOOK_URL="+webhook)
	m := apptest.Start(t, cfg, app.Hooks{})
	c := apptest.Client{Base: m.URL(), TB: t}

	// Every declared subscription has its durable consumer before we
	// compare (consumers are created in the background after Start).
	js := m.Broker().JetStream()
	prefix := m.Broker().Prefix() + "_"
	consumers := func() map[string][]string {
		out := map[string][]string{}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for name := range js.StreamNames(ctx).Name() {
			topic, ok := strings.CutPrefix(name, prefix)
			if !ok || strings.HasPrefix(name, "KV_") {
				continue
			}
			out[topic] = []string{}
			s, err := js.Stream(ctx, name)
			if err != nil {
				continue
			}
			for cn := range s.ConsumerNames(ctx).Name() {
				out[topic] = append(out[topic], cn)
			}
		}
		return out
	}
	declared := len(m.Broker().Subscriptions())
	apptest.Eventually(t, 20*time.Second, "every subscription's consumer exists", func() bool {
		n := 0
		for _, cs := range consumers() {
			n += len(cs)
		}
		return n >= declared
	})

	status, body := c.Do("GET", "/admin/catalog", "")
	if status != http.StatusOK {
		t.Fatalf("GET /admin/catalog: %d %s", status, body)
	}
	if strings.Contains(body, webhook) || strings.Contains(body, "catalog-secret-value") {
		t.Fatalf("the catalog shows a secret's value: %s", body)
	}
	var cat catalog.Catalog
	c.JSON("GET", "/admin/catalog", "", &cat)

	listed := map[string]bool{}
	subs := map[string]bool{}
	jobs := map[string]bool{}
	dbs := map[string]catalog.Database{}
	var secrets []catalog.Secret
	for _, s := range cat.Services {
		for _, e := range s.Endpoints {
			listed[catalogEndpointKey(e.Method, e.Path)] = true
		}
		for _, sub := range s.Subscriptions {
			subs[sub.Topic+"/"+sub.Name] = true
			if sub.Pending == nil || sub.DeadLetters == nil || sub.Retry.MaxAttempts != cfg.RetryMaxAttempts {
				t.Errorf("subscription %s: pending %v, dead letters %v, retry %+v", sub.Name, sub.Pending, sub.DeadLetters, sub.Retry)
			}
		}
		for _, j := range s.Jobs {
			jobs[j.Name] = true
			if j.NextRun.IsZero() || j.Every == 0 {
				t.Errorf("job %s: next run %v, every %v", j.Name, j.NextRun, j.Every)
			}
		}
		for _, d := range s.Databases {
			dbs[d.Service] = d
		}
		secrets = append(secrets, s.Secrets...)
	}

	// Routes: every route the server answers is listed, and nothing else.
	srv := m.API()
	served := 0
	for _, ep := range srv.Endpoints() {
		for _, method := range catalog.Methods(ep) {
			served++
			if !listed[catalogEndpointKey(method, ep.Path)] {
				t.Errorf("route %s %s is served but not in the catalog", method, ep.Path)
			}
		}
	}
	if len(listed) != served {
		t.Errorf("catalog lists %d routes, the server answers %d", len(listed), served)
	}
	for key := range listed {
		method, path, _ := strings.Cut(key, " ")
		req, _ := http.NewRequest(method, concretePath(catalog.OpenAPIPath(path)), nil)
		if ep, ok := srv.Route(req); !ok || ep.Path != path {
			t.Errorf("catalog lists %s, but the server routes %s to %q (found %v)", key, req.URL.Path, ep.Path, ok)
		}
	}

	// Topics and subscriptions: the streams and consumers on NATS.
	topics := map[string]bool{}
	for _, tp := range cat.Topics {
		topics[tp.Name] = true
		if tp.MessageType == "" || tp.Delivery != catalog.DeliveryGuarantee || len(tp.Publishers) == 0 {
			t.Errorf("topic %+v lacks its message type, guarantee or publishers", tp)
		}
	}
	onNATS := consumers()
	for topic, cs := range onNATS {
		if !topics[topic] {
			t.Errorf("stream of topic %s exists on NATS but is not in the catalog", topic)
		}
		for _, cn := range cs {
			if !subs[topic+"/"+cn] {
				t.Errorf("consumer %s on %s exists on NATS but is not in the catalog", cn, topic)
			}
		}
	}
	if len(topics) != len(onNATS) || len(subs) != declared {
		t.Errorf("catalog: %d topics, %d subscriptions; NATS: %d streams; declared %d subscriptions",
			len(topics), len(subs), len(onNATS), declared)
	}

	// Cron jobs: every job the scheduler exports metrics for.
	_, metrics := c.Do("GET", "/metrics", "")
	jobRE := regexp.MustCompile(`upmon_cron_runs_total\{[^}]*job="([^"]+)"`)
	inMetrics := map[string]bool{}
	for _, mm := range jobRE.FindAllStringSubmatch(metrics, -1) {
		inMetrics[mm[1]] = true
	}
	if len(inMetrics) == 0 || !mapsEqual(inMetrics, jobs) {
		t.Errorf("jobs in /metrics %v, in the catalog %v", inMetrics, jobs)
	}

	// Databases and secrets.
	engine := "sqlite"
	if cfg.DatabaseURL != "" {
		engine = "postgres"
	}
	for _, svc := range []string{"site", "monitor", "channels", "account"} {
		d, ok := dbs[svc]
		if !ok || d.Engine != engine || d.MigrationVersion == nil || *d.MigrationVersion < 1 {
			t.Errorf("database of %s: %+v (engine %s)", svc, d, engine)
		}
	}
	if !slices.Contains(secrets, catalog.Secret{Service: "slack", Name: "SlackWebhookURL", Set: true}) {
		t.Errorf("secrets %+v: want SlackWebhookURL of slack, set", secrets)
	}
	if !slices.Contains(cat.Calls, catalog.Call{From: "monitor", To: "site", Via: "monitor.Sites"}) {
		t.Errorf("calls %+v: want monitor → site", cat.Calls)
	}
}

// TestCatalogAccessMatchesTheGuard checks, with service tokens and users,
// that the access the catalog gives each route is what the server
// enforces: "none" and "push" routes answer without a credential; a route
// needing a role refuses a caller without one, answers a caller holding
// exactly that role (a viewer's read-only service token, an editor's
// session, the owner's service token) and refuses the role below it with
// 403. The catalog itself needs the viewer role.
func TestCatalogAccessMatchesTheGuard(t *testing.T) {
	t.Parallel()
	cfg := apptest.Config(t)
	const rw, ro = "write-token-catalog", "read-token-catalog"
	cfg.APITokens, cfg.ReadTokens = []string{rw}, []string{ro}
	cfg.RateLimit, cfg.RateBurst = 1000, 1000
	m := apptest.Start(t, cfg, app.Hooks{})
	var cat catalog.Catalog
	status, _ := doAuth(t, "GET", m.URL()+"/admin/catalog", "", "")
	if status != http.StatusUnauthorized {
		t.Fatalf("catalog without a token: %d", status)
	}
	req, _ := http.NewRequest("GET", m.URL()+"/admin/catalog", nil)
	req.Header.Set("Authorization", "Bearer "+ro)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.NewDecoder(resp.Body).Decode(&cat); err != nil || resp.StatusCode != 200 {
		t.Fatalf("catalog with a read-only token: %d %v", resp.StatusCode, err)
	}
	resp.Body.Close()
	// User 1 is the one the sample paths name (/users/1 is deleted).
	if _, err := m.Accounts.AddUser(context.Background(), &account.AddUserParams{Name: "cat-spare", Email: "cat-spare@example.com", Role: "viewer"}); err != nil {
		t.Fatal(err)
	}
	editor, err := m.Accounts.AddUser(context.Background(), &account.AddUserParams{Name: "cat-editor", Email: "cat-editor@example.com", Role: "editor"})
	if err != nil {
		t.Fatal(err)
	}
	// A fresh session per request: /logout ends the one it is called with.
	editorCookie := func() string {
		c, err := m.Accounts.OpenSession(context.Background(), editor.ID, "", "127.0.0.1", "catalog-test")
		if err != nil {
			t.Fatal(err)
		}
		return "cookie:" + c
	}
	as := map[string]func() string{
		"viewer": func() string { return ro },
		"editor": editorCookie,
		"owner":  func() string { return rw },
	}
	below := map[string]string{"editor": "viewer", "owner": "editor"}

	const needCredential, needRole = "sign in or send a valid token", "this needs the "
	// A dashboard page sends a browser without a session to sign in.
	refused := func(answer string) bool {
		return strings.Contains(answer, needCredential) || strings.HasPrefix(answer, "303 ") && strings.Contains(answer, "/login?next=")
	}
	n := 0
	for _, s := range cat.Services {
		for _, e := range s.Endpoints {
			n++
			url := m.URL() + strings.ReplaceAll(concretePath(e.OpenAPIPath), "example.com", "127.0.0.1:1")
			anon := guardAnswer(t, e.Method, url, "")
			var with, withBelow string
			var ok bool
			switch e.Access {
			case catalog.RequiresNone, catalog.RequiresPush:
				ok = !refused(anon)
			case "viewer", "editor", "owner":
				with = guardAnswer(t, e.Method, url, as[e.Access]())
				ok = refused(anon) && !refused(with) && !strings.Contains(with, needRole)
				if b, has := below[e.Access]; has {
					withBelow = guardAnswer(t, e.Method, url, as[b]())
					ok = ok && strings.HasPrefix(withBelow, "403 ") && strings.Contains(withBelow, needRole)
				}
			}
			if !ok {
				t.Errorf("%s %s: catalog says %q; without a credential %q, with that role %q, with the role below %q",
					e.Method, e.Path, e.Access, anon, with, withBelow)
			}
		}
	}
	if n < 40 {
		t.Fatalf("only %d endpoints in the catalog", n)
	}
}

// guardAnswer sends a request with a bearer token, or a session cookie
// ("cookie:" and its value), and returns the start of its answer (the
// headers of a stream are enough).
func guardAnswer(t *testing.T, method, url, credential string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c, ok := strings.CutPrefix(credential, "cookie:"); ok {
		req.AddCookie(&http.Cookie{Name: app.SessionCookie, Value: c})
	} else if credential != "" {
		req.Header.Set("Authorization", "Bearer "+credential)
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		return fmt.Sprint(resp.StatusCode, " stream")
	}
	b := make([]byte, 512)
	k, _ := io.ReadFull(resp.Body, b)
	return fmt.Sprint(resp.StatusCode, " ", string(b[:k]))
}

// concretePath fills an OpenAPI path's parameters with sample values.
func concretePath(p string) string {
	return regexp.MustCompile(`\{[^}]+\}`).ReplaceAllStringFunc(p, func(s string) string {
		switch s {
		case "{url}":
			return "example.com"
		case "{file}":
			return "app.css"
		}
		return "1"
	})
}

func mapsEqual(a, b map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

// TestCatalogNamesTheCronReplica runs two replicas on one NATS: each tick
// of check-all runs on one of them, and both catalogs name that replica.
func TestCatalogNamesTheCronReplica(t *testing.T) {
	t.Parallel()
	cfg := apptest.Config(t)
	if cfg.NATSURL == "" {
		t.Skip("needs UPMON_TEST_NATS_URL: replicas share the cron claims on an external NATS")
	}
	cfg.CheckInterval = time.Second
	cfgB := cfg
	cfgB.DataDir = t.TempDir()
	a := apptest.Start(t, cfg, app.Hooks{})
	b := apptest.Start(t, cfgB, app.Hooks{})
	job := func(m *app.Main) (catalog.Job, string) {
		var cat catalog.Catalog
		apptest.Client{Base: m.URL(), TB: t}.JSON("GET", "/admin/catalog", "", &cat)
		for _, s := range cat.Services {
			for _, j := range s.Jobs {
				if j.Name == "check-all" {
					return j, cat.Replica
				}
			}
		}
		t.Fatal("no check-all job in the catalog")
		return catalog.Job{}, ""
	}
	var last string
	apptest.Eventually(t, 20*time.Second, "both catalogs name the replica of the same tick", func() bool {
		ja, ra := job(a)
		jb, rb := job(b)
		if ra == rb {
			t.Fatalf("both replicas are called %q", ra)
		}
		last = fmt.Sprintf("a: %v by %q; b: %v by %q", ja.LastTick, ja.LastReplica, jb.LastTick, jb.LastReplica)
		return ja.LastTick != nil && jb.LastTick != nil && ja.LastTick.Equal(*jb.LastTick) &&
			ja.LastReplica == jb.LastReplica && (ja.LastReplica == ra || ja.LastReplica == rb)
	})
	t.Log(last)
}
