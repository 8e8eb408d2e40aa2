package cli_test

import (
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"upmon/internal/app"
	"upmon/internal/app/apptest"
)

// locationsOf maps each site's URL to its locations and quorum, as GET
// /site answers them.
func locationsOf(t *testing.T, c apptest.Client) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, s := range siteList(t, c) {
		out[s["url"].(string)] = mustYAML(t, map[string]any{"locations": s["locations"], "quorum": s["quorum"]})
	}
	return out
}

// TestSitesExportImportLocations: export writes each site's locations
// (a server with several) and its quorum (unless a majority); the file
// imported into a server with the same locations (through POST
// /site/bulk) gives the same sites, again nothing changes; a quorum
// removed from the file returns to a majority; a server that knows none
// of the locations refuses the file, naming the field.
func TestSitesExportImportLocations(t *testing.T) {
	t.Parallel()
	withLocations := func() app.Config {
		cfg := apptest.Config(t)
		cfg.Locations = []string{"eu", "us", "ap"}
		return cfg
	}
	a := apptest.Start(t, withLocations(), app.Hooks{})
	ca := apptest.Client{Base: a.URL(), TB: t}
	target := apptest.NewTarget(t)
	for _, body := range []string{
		`{"url":"` + target.URL + `/default"}`,
		`{"url":"` + target.URL + `/two","locations":["eu","us"],"quorum":1}`,
		`{"url":"` + target.URL + `/local","locations":["local"]}`,
		`{"url":"` + target.URL + `/all","locations":["ap","eu","us"],"quorum":3}`,
	} {
		ca.JSON("POST", "/site", body, nil)
	}
	code, exported, stderr := sitesRun(t, "", "export", "--server", a.URL())
	if code != 0 || stderr != "" {
		t.Fatalf("export: %d %q", code, stderr)
	}
	var doc struct {
		Sites []map[string]any `yaml:"sites"`
	}
	if err := yaml.Unmarshal([]byte(exported), &doc); err != nil || len(doc.Sites) != 4 {
		t.Fatalf("export (%v):\n%s", err, exported)
	}
	// Every site names its locations (one site on "local" alone too: the
	// default set is the server's); a majority quorum is left out.
	for _, want := range []string{"/default\n    interval: 1h\n    timeout: 2s\n    locations: [eu, us, ap]\n  - ",
		"locations: [eu, us]\n    quorum: 1\n", "locations: [local]\n  - ", "locations: [ap, eu, us]\n    quorum: 3\n"} {
		if !strings.Contains(exported, want) {
			t.Errorf("export lacks %q:\n%s", want, exported)
		}
	}
	file := writeFile(t, t.TempDir(), "sites.yaml", exported)
	if code, out, stderr := sitesRun(t, "", "import", "--server", a.URL(), file); code != 0 || out != "0 added, 0 updated, 4 unchanged\n" {
		t.Fatalf("import into the same server: %d %q %q", code, out, stderr)
	}

	b := apptest.Start(t, withLocations(), app.Hooks{})
	cb := apptest.Client{Base: b.URL(), TB: t}
	proxy, counts := countingProxy(t, b.URL())
	if code, out, stderr := sitesRun(t, "", "import", "--server", proxy, file); code != 0 || out != "4 added, 0 updated, 0 unchanged\n" {
		t.Fatalf("import into an empty server: %d %q %q", code, out, stderr)
	}
	if n := counts()["POST /site/bulk"]; n != 1 {
		t.Errorf("the sites were added with %d bulk requests, want 1", n)
	}
	la, lb := locationsOf(t, ca), locationsOf(t, cb)
	for u, want := range la {
		if got := lb[strings.Replace(u, a.URL(), b.URL(), 1)]; got != want {
			t.Errorf("%s on the copy: %s, want %s", u, got, want)
		}
	}
	if code, out, _ := sitesRun(t, "", "import", "--server", b.URL(), file); code != 0 || out != "0 added, 0 updated, 4 unchanged\n" {
		t.Fatalf("second import: %d %q", code, out)
	}
	// The quorum of the second site removed: back to a majority of two.
	edited := strings.Replace(exported, "locations: [eu, us]\n    quorum: 1\n", "locations: [eu, us]\n", 1)
	if code, out, stderr := sitesRun(t, edited, "import", "--server", b.URL(), "-"); code != 0 || out != "0 added, 1 updated, 3 unchanged\n" {
		t.Fatalf("import without the quorum: %d %q %q", code, out, stderr)
	}
	if got := locationsOf(t, cb)[target.URL+"/two"]; got != "locations:\n    - eu\n    - us\nquorum: 2\n" {
		t.Errorf("quorum removed from the file: %s", got)
	}

	// An entry without locations keeps the site's (they may be the
	// server's default set, which the file cannot know).
	edited = strings.Replace(edited, "timeout: 2s\n    locations: [eu, us, ap]\n", "timeout: 2s\n", 1)
	if code, out, stderr := sitesRun(t, edited, "import", "--server", b.URL(), "-"); code != 0 || out != "0 added, 0 updated, 4 unchanged\n" {
		t.Fatalf("import of an entry without locations: %d %q %q", code, out, stderr)
	}

	// A server that knows only its own location refuses the file whole.
	c := apptest.Start(t, apptest.Config(t), app.Hooks{})
	code, out, stderr := sitesRun(t, "", "import", "--server", c.URL(), file)
	if code == 0 || !strings.Contains(stderr, "locations[0]") || !strings.Contains(stderr, `unknown location "eu"`) {
		t.Fatalf("import into a server without the locations: %d %q %q", code, out, stderr)
	}
	if n := len(siteList(t, apptest.Client{Base: c.URL(), TB: t})); n != 0 {
		t.Errorf("a refused import stored %d sites", n)
	}
}
