package cli_test

import (
	"strings"
	"testing"

	"upmon/internal/app"
	"upmon/internal/app/apptest"
)

// TestSitesExportImportNewKinds: icmp, grpc and websocket sites, and a
// websocket's ws_send, survive export and import.
func TestSitesExportImportNewKinds(t *testing.T) {
	t.Parallel()
	a := apptest.Start(t, apptest.Config(t), app.Hooks{})
	ca := apptest.Client{Base: a.URL(), TB: t}
	for _, body := range []string{
		`{"url":"icmp:127.0.0.1","interval":"1m"}`,
		`{"url":"grpcs://127.0.0.1:1?service=pkg.Svc"}`,
		`{"url":"wss://127.0.0.1:1/live","ws_send":"{\"op\":\"subscribe\"}","keyword":"ack","headers":{"Authorization":"Bearer t"}}`,
	} {
		ca.JSON("POST", "/site", body, nil)
	}
	code, exported, stderr := sitesRun(t, "", "export", "--server", a.URL())
	if code != 0 || stderr != "" || !strings.Contains(exported, `ws_send: '{"op":"subscribe"}'`) {
		t.Fatalf("export: %d %q\n%s", code, stderr, exported)
	}
	file := writeFile(t, t.TempDir(), "sites.yaml", exported)

	b := apptest.Start(t, apptest.Config(t), app.Hooks{})
	cb := apptest.Client{Base: b.URL(), TB: t}
	code, out, stderr := sitesRun(t, "", "import", "--server", b.URL(), file)
	if code != 0 || out != "3 added, 0 updated, 0 unchanged\n" || stderr != "" {
		t.Fatalf("import into an empty server: %d %q %q", code, out, stderr)
	}
	sitesA, sitesB := siteList(t, ca), siteList(t, cb)
	if ja, jb := mustYAML(t, sitesA), mustYAML(t, sitesB); ja != jb {
		t.Fatalf("sites differ after the import:\nA %s\nB %s", ja, jb)
	}
	// Changing ws_send on the copy is an update; importing again restores it.
	cb.JSON("PATCH", "/site/3", `{"ws_send":"other"}`, nil)
	code, out, _ = sitesRun(t, "", "import", "--server", b.URL(), file)
	if code != 0 || out != "0 added, 1 updated, 2 unchanged\n" {
		t.Fatalf("import after a changed ws_send: %d %q", code, out)
	}
	if got := siteList(t, cb)[2]["ws_send"]; got != `{"op":"subscribe"}` {
		t.Fatalf("ws_send after the import = %v", got)
	}
}
