package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"upmon/internal/app"
	"upmon/internal/app/apptest"
)

// signInBrowserToken signs the browser in with token through the sign-in
// page's token form (#token-login; the page also has a password form).
func signInBrowserToken(b *browser, base, token string) {
	b.t.Helper()
	b.do(chromedp.Navigate(base + "/login"))
	b.waitFor(`!!document.getElementById("token")`, 10*time.Second)
	eval[bool](b, `(() => { document.getElementById("token").value = `+jsString(token)+`;
		document.getElementById("token-login").submit(); return true })()`)
	b.waitFor(`location.pathname !== "/login" && document.readyState === "complete"`, 10*time.Second)
}

// sendOp picks an operation in the explorer, fills fields (by element id)
// and sends it, waiting for the answer's status.
func sendOp(b *browser, base, op string, fields map[string]string) {
	b.t.Helper()
	b.open(base + "/frontend/api?op=" + op)
	b.waitFor(`document.getElementById("api-op").value === `+jsString(op), 10*time.Second)
	for id, v := range fields {
		eval[bool](b, `(() => { document.getElementById(`+jsString(id)+`).value = `+jsString(v)+`; return true })()`)
	}
	eval[bool](b, `(() => { document.getElementById("api-send").click(); return true })()`)
	b.waitFor(`document.getElementById("explorer").hasAttribute("data-status")`, 10*time.Second)
}

// TestBrowserAPIExplorer sends POST /site and GET /site from
// /frontend/api with an owner session (the service token) and reads the
// answers; with a viewer session (the read token) the page will not send
// POST /site, which needs an editor (api.RequiredRole, stated per
// operation in the OpenAPI document), and the server refuses it anyway.
// The page runs under the dashboard's strict CSP.
func TestBrowserAPIExplorer(t *testing.T) {
	t.Parallel()
	cfg := apptest.Config(t)
	cfg.APITokens = []string{"explorer-rw-token-0123456789"}
	cfg.ReadTokens = []string{"explorer-ro-token-0123456789"}
	m := apptest.Start(t, cfg, app.Hooks{})
	base := m.URL()
	target := apptest.NewTarget(t)

	b := newBrowser(t, 1366, 900)
	signInBrowserToken(b, base, cfg.APITokens[0])
	sendOp(b, base, "site_post_site", map[string]string{"f-body-url": target.URL + "/explored", "f-body-name": "explored"})
	status := `document.getElementById("explorer").getAttribute("data-status")`
	body := `document.getElementById("api-response").textContent`
	if got := eval[string](b, status); got != "200" {
		t.Fatalf("POST /site from the explorer: status %s: %s", got, eval[string](b, body))
	}
	if got := eval[string](b, body); !strings.Contains(got, `"url": "`+target.URL+`/explored"`) || !strings.Contains(got, `"id": 1`) {
		t.Fatalf("POST /site answer shown as %q", got)
	}
	b.screenshot("api-explorer")
	headers := eval[string](b, `document.getElementById("api-headers").textContent`)
	if !strings.Contains(headers, "content-type: application/json") {
		t.Errorf("headers shown as %q", headers)
	}
	// When the server tags answers with a trace (X-Trace-Id or
	// traceparent), the page shows its id.
	for _, line := range strings.Split(headers, "\n") {
		k, v, _ := strings.Cut(line, ": ")
		id := ""
		switch k {
		case "x-trace-id":
			id = v
		case "traceparent":
			if parts := strings.Split(v, "-"); len(parts) >= 3 {
				id = parts[1]
			}
		}
		if id != "" && eval[string](b, `(document.getElementById("api-trace-id") || {}).textContent || ""`) != id {
			t.Errorf("the answer carries trace %s (%s) but the page does not show it", id, k)
		}
	}
	sendOp(b, base, "site_get_site", nil)
	if got := eval[string](b, body); eval[string](b, status) != "200" || !strings.Contains(got, `"name": "explored"`) {
		t.Fatalf("GET /site answer shown as %q", got)
	}
	sendOp(b, base, "site_get_site_siteID", map[string]string{"f-path-siteID": "99"})
	if got := eval[string](b, body); eval[string](b, status) != "404" || !strings.Contains(got, `"code": "not_found"`) {
		t.Fatalf("GET /site/99 answer shown as %q", got)
	}
	b.noDialogs()

	// A viewer session: reads are sent, writes are not.
	r := newBrowser(t, 1366, 900)
	signInBrowserToken(r, base, cfg.ReadTokens[0])
	r.open(base + "/frontend/api?op=site_post_site")
	r.waitFor(`document.getElementById("api-op").value === "site_post_site"`, 10*time.Second)
	if !eval[bool](r, `document.getElementById("api-send").disabled && document.getElementById("api-denied").offsetParent !== null`) {
		t.Fatal("a viewer session may send POST /site from the explorer")
	}
	if got := eval[string](r, `document.getElementById("api-denied").textContent`); !strings.Contains(got, "needs the editor role") {
		t.Errorf("the refusal reads %q", got)
	}
	// A read that needs the owner (GET /users) is not sent either: the
	// page follows each operation's role, not its method.
	r.open(base + "/frontend/api?op=account_get_users")
	r.waitFor(`document.getElementById("api-op").value === "account_get_users"`, 10*time.Second)
	if !eval[bool](r, `document.getElementById("api-send").disabled`) ||
		!strings.Contains(eval[string](r, `document.getElementById("api-denied").textContent`), "needs the owner role") {
		t.Fatal("a viewer session may send GET /users from the explorer")
	}
	sendOp(r, base, "site_get_site", nil)
	if eval[string](r, status) != "200" {
		t.Fatalf("GET /site with a viewer session: %s", eval[string](r, body))
	}
	// The server refuses the write with this session whatever the page does.
	eval[bool](r, `(() => { window.__st = 0; fetch("/site", {method: "POST", credentials: "same-origin",
		headers: {"Content-Type": "application/json"}, body: JSON.stringify({url: `+jsString(target.URL+"/sneaky")+`})})
		.then(x => { window.__st = x.status }); return true })()`)
	r.waitFor(`window.__st !== 0`, 10*time.Second)
	if got := eval[float64](r, `window.__st`); got != 403 {
		t.Fatalf("POST /site with a viewer session answered %v, want 403", got)
	}
	r.noDialogs()
}
