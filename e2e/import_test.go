package e2e

import (
	"bytes"
	"context"
	"database/sql"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"upmon/internal/app"
	"upmon/internal/app/apptest"
	"upmon/internal/cli"
	"upmon/monitor"
	"upmon/site"
)

// importCLI runs `upmon import ARGS…`.
func importCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	code := cli.Run(ctx, cli.IO{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb}, append([]string{"import"}, args...))
	return code, out.String(), errb.String()
}

func listSites(c apptest.Client) []*site.Site {
	var l site.ListResponse
	c.JSON("GET", "/site", "", &l)
	return l.Sites
}

func listMaintenance(c apptest.Client) []*monitor.Maintenance {
	var l monitor.MaintenanceList
	c.JSON("GET", "/maintenance", "", &l)
	return l.Maintenance
}

// TestImportGatus brings a Gatus configuration over to a real server: a
// dry run changes nothing, the import creates the sites with their
// mapped settings and the maintenance window, a second run changes
// nothing, and a file with losses is refused without --accept-losses.
func TestImportGatus(t *testing.T) {
	t.Parallel()
	a := apptest.Start(t, apptest.Config(t), app.Hooks{})
	c := apptest.Client{Base: a.URL(), TB: t}
	target := apptest.NewTarget(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	dir := t.TempDir()
	config := `
endpoints:
  - name: api
    group: prod
    url: "` + target.URL + `/health"
    conditions:
      - "[STATUS] == 200"
      - "[BODY].status == UP"
      - "[RESPONSE_TIME] < 800"
    alerts: []
  - name: db
    url: "tcp://` + ln.Addr().String() + `"
    interval: 30s
    conditions:
      - "[CONNECTED] == true"
external-endpoints:
  - name: nightly
    heartbeat:
      interval: 24h
maintenance:
  start: "02:00"
  duration: 1h
  every: [Sunday]
`
	file := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(file, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	server := []string{"--server", a.URL()}

	code, out, errOut := importCLI(t, append([]string{"gatus", file, "--dry-run"}, server...)...)
	if code != 0 || !strings.Contains(out, "dry run, nothing changed: 4 create") {
		t.Fatalf("dry run: %d\n%s%s", code, out, errOut)
	}
	if n, m := len(listSites(c)), len(listMaintenance(c)); n != 0 || m != 0 {
		t.Fatalf("dry run created %d sites, %d windows", n, m)
	}

	if code, out, errOut = importCLI(t, append([]string{"gatus", file}, server...)...); code != 0 {
		t.Fatalf("import: %d\n%s%s", code, out, errOut)
	}
	sites := listSites(c)
	if len(sites) != 3 {
		t.Fatalf("sites %+v", sites)
	}
	byURL := map[string]*site.Site{}
	for _, s := range sites {
		byURL[s.URL] = s
	}
	api := byURL[target.URL+"/health"]
	if api == nil || api.Name != "api" || api.Interval.D() != time.Minute || strings.Join(api.ExpectedStatus, ",") != "200" ||
		api.MaxLatency.D() != 800*time.Millisecond || strings.Join(api.Tags, ",") != "prod" ||
		len(api.JSONPath) != 1 || api.JSONPath[0].Path != "$.status" || string(api.JSONPath[0].Value) != `"UP"` {
		t.Errorf("api site %+v", api)
	}
	if db := byURL["tcp://"+ln.Addr().String()]; db == nil || db.Interval.D() != 30*time.Second {
		t.Errorf("db site %+v", db)
	}
	if push := byURL["push:nightly"]; push == nil || push.Kind != site.KindPush || push.Interval.D() != 24*time.Hour {
		t.Errorf("push site %+v", push)
	}
	windows := listMaintenance(c)
	if len(windows) != 1 || windows[0].Start.Format(time.RFC3339) != "2024-01-07T02:00:00Z" || windows[0].Recurrence != "weekly" || len(windows[0].Sites) != 3 {
		t.Fatalf("maintenance %+v", windows)
	}

	code, out, errOut = importCLI(t, append([]string{"gatus", file}, server...)...)
	if code != 0 || !strings.HasSuffix(out, "4 unchanged\n") {
		t.Fatalf("second import: %d\n%s%s", code, out, errOut)
	}
	if n, m := len(listSites(c)), len(listMaintenance(c)); n != 3 || m != 1 {
		t.Fatalf("second import: %d sites, %d windows", n, m)
	}

	// A changed setting is an update of that site only.
	changed := strings.Replace(config, "interval: 30s", "interval: 45s", 1)
	if err := os.WriteFile(file, []byte(changed), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out, _ = importCLI(t, append([]string{"gatus", file}, server...)...); code != 0 || !strings.Contains(out, "3 unchanged, 1 update") {
		t.Fatalf("changed import: %d\n%s", code, out)
	}

	// Something without an equivalent: refused (nothing changes) unless accepted.
	lossy := strings.Replace(changed, "endpoints:\n", "endpoints:\n  - name: ping\n    url: icmp://127.0.0.1\n  - name: extra\n    url: \""+target.URL+"/extra\"\n", 1)
	if err := os.WriteFile(file, []byte(lossy), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = importCLI(t, append([]string{"gatus", file}, server...)...)
	if code != 1 || !strings.Contains(out, "endpoints[0] (ping).url: icmp://127.0.0.1") || !strings.Contains(errOut, "--accept-losses") {
		t.Fatalf("lossy import: %d\n%s%s", code, out, errOut)
	}
	if n := len(listSites(c)); n != 3 {
		t.Fatalf("a refused import created sites: %d", n)
	}
	if code, out, errOut = importCLI(t, append([]string{"gatus", file, "--accept-losses"}, server...)...); code != 0 || len(listSites(c)) != 4 {
		t.Fatalf("accepted import: %d\n%s%s", code, out, errOut)
	}
}

// TestImportKumaDB brings an Uptime Kuma database over to a real server,
// twice.
func TestImportKumaDB(t *testing.T) {
	t.Parallel()
	a := apptest.Start(t, apptest.Config(t), app.Hooks{})
	c := apptest.Client{Base: a.URL(), TB: t}
	target := apptest.NewTarget(t)
	file := filepath.Join(t.TempDir(), "kuma.db")
	db, err := sql.Open("sqlite", file)
	if err != nil {
		t.Fatal(err)
	}
	schema, err := os.ReadFile("../internal/importer/testdata/kuma-schema.sql")
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{string(schema),
		`INSERT INTO monitor (id, name, interval, url, type, keyword, maxretries, accepted_statuscodes_json, timeout) VALUES
		 (1, 'Web', 60, '` + target.URL + `/', 'keyword', 'Welcome', 2, '["200-299"]', 5),
		 (2, 'Job', 3600, NULL, 'push', NULL, 0, '["200-299"]', 0)`,
		`INSERT INTO tag (id, name, color) VALUES (1, 'prod', '#f00')`,
		`INSERT INTO monitor_tag (monitor_id, tag_id, value) VALUES (1, 1, 'eu')`,
		`INSERT INTO maintenance (id, title, description, strategy, start_date, end_date, timezone) VALUES
		 (1, 'Move', '', 'single', '2026-12-24 20:00:00', '2026-12-24 22:00:00', 'Europe/Berlin')`,
		`INSERT INTO monitor_maintenance (monitor_id, maintenance_id) VALUES (1, 1), (2, 1)`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	server := []string{"--server", a.URL()}
	if code, out, errOut := importCLI(t, append([]string{"kuma", file}, server...)...); code != 0 {
		t.Fatalf("import: %d\n%s%s", code, out, errOut)
	}
	sites := listSites(c)
	if len(sites) != 2 {
		t.Fatalf("sites %+v", sites)
	}
	for _, s := range sites {
		switch s.URL {
		case target.URL + "/":
			if s.Keyword != "Welcome" || s.FailureThreshold != 3 || s.Timeout.D() != 5*time.Second || strings.Join(s.Tags, ",") != "prod:eu" {
				t.Errorf("web site %+v", s)
			}
		case "push:Job":
			if s.Interval.D() != time.Hour {
				t.Errorf("push site %+v", s)
			}
		default:
			t.Errorf("unexpected site %s", s.URL)
		}
	}
	w := listMaintenance(c)
	if len(w) != 1 || w[0].Start.Format(time.RFC3339) != "2026-12-24T19:00:00Z" || w[0].End.Format(time.RFC3339) != "2026-12-24T21:00:00Z" || len(w[0].Sites) != 2 {
		t.Fatalf("maintenance %+v", w)
	}
	if code, out, _ := importCLI(t, append([]string{"kuma", file}, server...)...); code != 0 || !strings.HasSuffix(out, "3 unchanged\n") {
		t.Fatalf("second import: %d\n%s", code, out)
	}
}
