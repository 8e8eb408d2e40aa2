package cli_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"

	"upmon/internal/app"
	"upmon/internal/app/apptest"
)

// countingProxy forwards to base and counts requests by "METHOD /path".
func countingProxy(t *testing.T, base string) (string, func() map[string]int) {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu     sync.Mutex
		counts = map[string]int{}
	)
	rp := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		counts[r.Method+" "+r.URL.Path]++
		mu.Unlock()
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, func() map[string]int {
		mu.Lock()
		defer mu.Unlock()
		out := map[string]int{}
		for k, v := range counts {
			out[k] = v
		}
		return out
	}
}

func TestSitesImportAddsInBulkAndReadsInPages(t *testing.T) {
	t.Parallel()
	m := apptest.Start(t, apptest.Config(t), app.Hooks{})
	c := apptest.Client{Base: m.URL(), TB: t}
	target := apptest.NewTarget(t)
	c.JSON("POST", "/site", `{"url":"`+target.URL+`/s0"}`, nil)
	proxy, counts := countingProxy(t, m.URL())

	const n = 1200
	var b strings.Builder
	b.WriteString("sites:\n")
	for i := range n {
		fmt.Fprintf(&b, "  - url: %s/s%d\n", target.URL, i)
	}
	b.WriteString("  - kind: push\n    name: nightly\n")
	file := writeFile(t, t.TempDir(), "many.yaml", b.String())
	code, out, stderr := sitesRun(t, "", "import", "--server", proxy, file)
	if code != 0 || strings.TrimSpace(out) != fmt.Sprintf("%d added, 0 updated, 1 unchanged", n) {
		t.Fatalf("import: %d %q %q", code, out, stderr)
	}
	got := counts()
	// 1,200 new sites in chunks of 500 (3 requests), none one by one;
	// the current list read in pages.
	if got["POST /site/bulk"] != 3 || got["POST /site"] != 0 || got["GET /site"] != 1 {
		t.Fatalf("requests: %v", got)
	}
	if sites := siteList(t, c); len(sites) != n+1 {
		t.Fatalf("%d sites on the server, want %d", len(sites), n+1)
	}
	// Again: nothing to add.
	code, out, _ = sitesRun(t, "", "import", "--server", proxy, file)
	if code != 0 || strings.TrimSpace(out) != fmt.Sprintf("0 added, 0 updated, %d unchanged", n+1) {
		t.Fatalf("second import: %d %q", code, out)
	}
	if after := counts(); after["POST /site/bulk"] != 3 || after["GET /site"] != 1+2 {
		t.Fatalf("second import requests: %v", after)
	}
}
