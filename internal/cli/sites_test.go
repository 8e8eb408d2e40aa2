package cli_test

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"upmon/internal/app"
	"upmon/internal/app/apptest"
	"upmon/internal/cli"
	"upmon/site"
)

// sitesRun runs `upmon sites ARGS…` and returns its exit code and output.
func sitesRun(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	code = cli.Run(ctx, cli.IO{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb}, append([]string{"sites"}, args...))
	return code, out.String(), errb.String()
}

// siteList returns GET /site as generic JSON.
func siteList(t *testing.T, c apptest.Client) []map[string]any {
	t.Helper()
	var out struct {
		Sites []map[string]any `json:"sites"`
	}
	c.JSON("GET", "/site", "", &out)
	return out.Sites
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSitesExportImportRoundTrip(t *testing.T) {
	t.Parallel()
	a := apptest.Start(t, apptest.Config(t), app.Hooks{})
	ca := apptest.Client{Base: a.URL(), TB: t}
	target := apptest.NewTarget(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })

	for _, body := range []string{
		`{"url":"` + target.URL + `/plain"}`,
		`{"url":"` + target.URL + `/api","name":"API","interval":"30s","timeout":"5s","method":"POST","headers":{"Authorization":"Bearer x"},` +
			`"body":"{\"ping\":1}","expected_status":["200-299","301"],"follow_redirects":false,"keyword":"ok","keyword_mode":"absent",` +
			`"json_path":[{"path":"$.status","op":"==","value":"UP"},{"path":"$.n","op":">=","value":3},{"path":"$.r","op":"<","value":0.5},{"path":"$.x","op":"exists"}],` +
			`"max_latency":"1.5s","failure_threshold":3,"success_threshold":2,"retries":2,"tags":["prod","eu"],"reuse_connections":true}`,
		`{"url":"tcp://` + ln.Addr().String() + `","interval":"1m"}`,
		`{"url":"dns:example.com?type=A&expect=1.2.3.4&server=127.0.0.1:1","paused":true}`,
		`{"kind":"push","name":"nightly-backup","interval":"24h","grace":"1h"}`,
	} {
		ca.JSON("POST", "/site", body, nil)
	}
	server := []string{"--server", a.URL()}

	code, exported, stderr := sitesRun(t, "", append([]string{"export"}, server...)...)
	if code != 0 || stderr != "" {
		t.Fatalf("export: %d %q", code, stderr)
	}
	var doc struct {
		Sites []map[string]any `yaml:"sites"`
	}
	if err := yaml.Unmarshal([]byte(exported), &doc); err != nil || len(doc.Sites) != 5 {
		t.Fatalf("export is not a sites list (%v):\n%s", err, exported)
	}
	for _, e := range doc.Sites {
		for _, k := range []string{"id", "push_token", "push_url"} {
			if _, ok := e[k]; ok {
				t.Errorf("exported entry has %s: %v", k, e)
			}
		}
	}
	// Defaults are left out (interval and timeout, the server's, stay).
	if plain := doc.Sites[0]; len(plain) != 3 || plain["url"] != target.URL+"/plain" || plain["interval"] != "1h" || plain["timeout"] != "2s" {
		t.Errorf("plain site exported as %v", plain)
	}
	if push := doc.Sites[4]; len(push) != 4 || push["name"] != "nightly-backup" || push["kind"] != "push" || push["grace"] != "1h" || push["url"] != nil {
		t.Errorf("push monitor exported as %v", push)
	}
	if api := doc.Sites[1]; len(api) != 18 || api["follow_redirects"] != false || api["retries"] != 2 {
		t.Errorf("API site exported as %d fields: %v", len(api), api)
	}
	if !strings.Contains(exported, "expected_status: [200-299, \"301\"]") || !strings.Contains(exported, "value: 0.5") ||
		!strings.Contains(exported, "value: 3\n") || !strings.Contains(exported, "value: UP") {
		t.Errorf("export:\n%s", exported)
	}
	dir := t.TempDir()
	file := writeFile(t, dir, "sites.yaml", exported)

	// Importing into the server it came from changes nothing.
	code, out, stderr := sitesRun(t, "", append(append([]string{"import"}, server...), file)...)
	if code != 0 || out != "0 added, 0 updated, 5 unchanged\n" || stderr != "" {
		t.Fatalf("import into the same server: %d %q %q", code, out, stderr)
	}

	// Into an empty server: everything is added, with the same settings.
	b := apptest.Start(t, apptest.Config(t), app.Hooks{})
	cb := apptest.Client{Base: b.URL(), TB: t}
	serverB := []string{"--server", b.URL()}
	code, out, stderr = sitesRun(t, "", append(append([]string{"import"}, serverB...), file)...)
	if code != 0 || out != "5 added, 0 updated, 0 unchanged\n" || stderr != "" {
		t.Fatalf("import into an empty server: %d %q %q", code, out, stderr)
	}
	sitesA, sitesB := siteList(t, ca), siteList(t, cb)
	for i := range sitesA {
		for _, k := range []string{"id", "push_token", "push_url"} {
			delete(sitesA[i], k)
			delete(sitesB[i], k)
		}
	}
	if ja, jb := mustYAML(t, sitesA), mustYAML(t, sitesB); ja != jb {
		t.Fatalf("settings differ after the import:\nA %s\nB %s", ja, jb)
	}
	if _, again, _ := sitesRun(t, "", append([]string{"export"}, serverB...)...); again != exported {
		t.Fatalf("export of the copy differs:\n%s\nvs\n%s", again, exported)
	}
	// Idempotent: the second import changes nothing.
	code, out, _ = sitesRun(t, "", append(append([]string{"import"}, serverB...), file)...)
	if code != 0 || out != "0 added, 0 updated, 5 unchanged\n" {
		t.Fatalf("second import: %d %q", code, out)
	}

	// Edit the file: a changed interval, a setting removed (back to its
	// default) and a new site; read from standard input.
	edited := strings.Replace(exported, "interval: 1m\n", "interval: 2m\n", 1)
	edited = strings.Replace(edited, "    tags: [prod, eu]\n", "", 1)
	edited += "  - url: " + target.URL + "/new\n    expected_status: [200]\n    headers:\n      X-Num: 5\n"
	code, out, stderr = sitesRun(t, edited, append(append([]string{"import"}, serverB...), "-")...)
	if code != 0 || out != "1 added, 2 updated, 3 unchanged\n" {
		t.Fatalf("import of the edited file: %d %q %q", code, out, stderr)
	}
	after := siteList(t, cb)
	if len(after) != 6 || after[2]["interval"] != "2m" || len(after[1]["tags"].([]any)) != 0 || after[1]["retries"] != 2.0 ||
		mustYAML(t, after[5]["expected_status"]) != "- \"200\"\n" || mustYAML(t, after[5]["headers"]) != "X-Num: \"5\"\n" {
		t.Fatalf("after the edited import: %v", after)
	}
	code, out, _ = sitesRun(t, edited, append(append([]string{"import"}, serverB...), "-")...)
	if code != 0 || out != "0 added, 0 updated, 6 unchanged\n" {
		t.Fatalf("edited file again: %d %q", code, out)
	}
}

func TestSitesImportRefusesInvalidFilesWhole(t *testing.T) {
	t.Parallel()
	m := apptest.Start(t, apptest.Config(t), app.Hooks{})
	c := apptest.Client{Base: m.URL(), TB: t}
	target := apptest.NewTarget(t)
	c.JSON("POST", "/site", `{"url":"`+target.URL+`/existing","retries":1}`, nil)
	server := []string{"--server", m.URL()}
	dir := t.TempDir()

	valid := "  - url: " + target.URL + "/new\n  - url: " + target.URL + "/existing\n    retries: 3\n"
	tests := []struct {
		name, content string
		stderr        []string // substrings of the one error line
	}{
		{"bad json_path op", "sites:\n" + valid + "  - url: " + target.URL + "/bad\n    json_path:\n      - {path: $.a, op: exists}\n      - {path: $.b, op: '~', value: 1}\n",
			[]string{"sites[2] (" + target.URL + "/bad)", "json_path[1].op"}},
		{"bad interval", "sites:\n" + valid + "  - url: " + target.URL + "/slow\n    interval: 1ms\n", []string{"sites[2]", "interval: must be between 1s and 24h"}},
		{"explicit zero threshold", "sites:\n" + valid + "  - url: " + target.URL + "/zero\n    failure_threshold: 0\n", []string{"sites[2]", "failure_threshold: must be between 1 and 100"}},
		{"explicit zero interval", "sites:\n" + valid + "  - url: " + target.URL + "/zero\n    interval: 0s\n", []string{"sites[2]", "interval: must be between 1s and 24h"}},
		{"interval not a duration", "sites:\n" + valid + "  - url: " + target.URL + "/x\n    interval: 30\n", []string{"sites[2]", "interval:"}},
		{"bad expected_status", "sites:\n" + valid + "  - url: " + target.URL + "/x\n    expected_status: [\"200\", 700]\n", []string{"sites[2]", "expected_status[1]"}},
		{"bad header", "sites:\n" + valid + "  - url: " + target.URL + "/x\n    headers: {\"a b\": c}\n", []string{"sites[2]", "headers:"}},
		{"unknown field", "sites:\n" + valid + "  - url: " + target.URL + "/x\n    colour: blue\n", []string{"sites[2]", "colour: unknown field"}},
		{"server fields", "sites:\n" + valid + "  - url: " + target.URL + "/x\n    id: 4\n", []string{"sites[2]", "id: unknown field"}},
		{"bad url", "sites:\n" + valid + "  - url: ftp://example.com\n", []string{"sites[2]", "url: scheme must be"}},
		{"no url", "sites:\n" + valid + "  - name: nameless\n", []string{"sites[2]", "url: must not be empty"}},
		{"push without name", "sites:\n" + valid + "  - kind: push\n", []string{"sites[2]", "name: a push monitor needs a name"}},
		{"kind mismatch", "sites:\n" + valid + "  - url: tcp://127.0.0.1:9\n    kind: dns\n", []string{"sites[2]", "kind:"}},
		{"duplicate", "sites:\n" + valid + "  - url: " + target.URL + "/new\n", []string{"sites[2] (" + target.URL + "/new)", "the same site as sites[0]"}},
		{"bad YAML", "sites:\n  - url: [unclosed\n", []string{"yaml:"}},
		{"not a list", "sites: {url: x}\n", []string{"sites must be a list"}},
		{"unknown top-level key", "site:\n" + valid, []string{`unknown top-level key "site"`}},
		{"empty file", "", []string{"empty"}},
		{"entry not a mapping", "sites:\n  - just a string\n", []string{"sites[0]: must be a mapping"}},
	}
	for _, tc := range tests {
		file := writeFile(t, dir, strings.ReplaceAll(tc.name, " ", "-")+".yaml", tc.content)
		code, out, stderr := sitesRun(t, "", append(append([]string{"import"}, server...), file)...)
		if code != 1 || out != "" || !strings.HasPrefix(stderr, "upmon: "+file+": ") || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%s: exit %d, stdout %q, stderr %q", tc.name, code, out, stderr)
			continue
		}
		t.Logf("%s: %s", tc.name, strings.TrimSpace(stderr))
		for _, want := range tc.stderr {
			if !strings.Contains(stderr, want) {
				t.Errorf("%s: stderr %q lacks %q", tc.name, stderr, want)
			}
		}
	}
	// Nothing was applied: the valid entries before the bad one neither.
	list := siteList(t, c)
	if len(list) != 1 || list[0]["retries"] != 1.0 {
		t.Fatalf("sites after refused imports: %v", list)
	}

	// Usage mistakes exit 2; a missing file or server exits 1.
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{nil, 2, "sites needs a subcommand"},
		{[]string{"frob"}, 2, `unknown sites subcommand "frob"`},
		{[]string{"import"}, 2, "usage: upmon sites import"},
		{[]string{"export", "extra"}, 2, "usage: upmon sites export"},
		{[]string{"export", "--server", "ftp://x"}, 2, "invalid --server"},
		{[]string{"export", "--nope"}, 2, "flag provided but not defined"},
		{append(append([]string{"import"}, server...), filepath.Join(dir, "missing.yaml")), 1, "no such file"},
		{[]string{"export", "--server", "http://127.0.0.1:1"}, 1, "cannot reach the upmon server"},
	} {
		code, out, stderr := sitesRun(t, "", tc.args...)
		if code != tc.code || out != "" || !strings.Contains(stderr, tc.msg) || strings.Count(stderr, "\n") != 1 {
			t.Errorf("sites %q: exit %d, stdout %q, stderr %q; want %d and %q", tc.args, code, out, stderr, tc.code, tc.msg)
		}
	}
}

func mustYAML(t *testing.T, v any) string {
	t.Helper()
	b, err := yaml.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestSitesExportWithReadOnlyToken: a read-only export shows no secrets
// (they are the redaction marker), and importing it is refused naming
// the field instead of writing the marker back as a secret.
func TestSitesExportWithReadOnlyToken(t *testing.T) {
	t.Parallel()
	const rw, ro = "rw-token-0123456789abcdef", "ro-token-0123456789abcdef"
	cfg := apptest.Config(t)
	cfg.APITokens, cfg.ReadTokens = []string{rw}, []string{ro}
	m := apptest.Start(t, cfg, app.Hooks{})
	target := apptest.NewTarget(t)
	body := `{"url":"` + target.URL + `/api?token=t0k","headers":{"Authorization":"Bearer s3cr3t"},"method":"POST","body":"hunter2"}`
	req, err := http.NewRequest("POST", m.URL()+"/site", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+rw)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("add: %d", resp.StatusCode)
	}
	code, exported, stderr := sitesRun(t, "", "export", "--server", m.URL(), "--token", ro)
	if code != 0 || stderr != "" {
		t.Fatalf("export: %d %q", code, stderr)
	}
	for _, secret := range []string{"t0k", "s3cr3t", "hunter2"} {
		if strings.Contains(exported, secret) {
			t.Errorf("read-only export shows %q:\n%s", secret, exported)
		}
	}
	if !strings.Contains(exported, "Authorization: "+site.Redacted) || !strings.Contains(exported, "read-only") {
		t.Errorf("read-only export does not say what it hides:\n%s", exported)
	}
	file := writeFile(t, t.TempDir(), "ro.yaml", exported)
	code, out, stderr := sitesRun(t, "", "import", "--server", m.URL(), "--token", rw, file)
	if code != 1 || out != "" || !strings.Contains(stderr, "redaction marker") {
		t.Errorf("import of a read-only export: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
	_, full, _ := sitesRun(t, "", "export", "--server", m.URL(), "--token", rw)
	if !strings.Contains(full, "Bearer s3cr3t") || !strings.Contains(full, "token=t0k") || !strings.Contains(full, "hunter2") {
		t.Errorf("read-write export hides secrets:\n%s", full)
	}
}
