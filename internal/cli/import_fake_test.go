package cli_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"upmon/internal/app/apptest"
	"upmon/monitor"
	"upmon/notify/kinds"
	"upmon/site"
)

// fakeUpmon stands in for an upmon server with the planned channel API
// (POST /channels validates settings with notify/kinds as the server
// will), sites that name channels, and maintenance windows.
type fakeUpmon struct {
	t        *testing.T
	mu       sync.Mutex
	sites    []map[string]any
	channels []map[string]any
	maint    []*monitor.Maintenance
	writes   int
}

func newFakeUpmon(t *testing.T) (*fakeUpmon, string) {
	f := &fakeUpmon{t: t}
	reg, err := kinds.Registry()
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	reply := func(w http.ResponseWriter, v any) { _ = json.NewEncoder(w).Encode(v) }
	fail := func(w http.ResponseWriter, msg string) {
		w.WriteHeader(http.StatusBadRequest)
		reply(w, map[string]any{"code": "invalid_argument", "message": msg})
	}
	mux.HandleFunc("GET /site", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		reply(w, map[string]any{"sites": f.sites})
	})
	mux.HandleFunc("POST /site", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		st, err := fakeSite(int64(len(f.sites)+1), body)
		if err != nil {
			fail(w, err.Error())
			return
		}
		f.writes++
		f.sites = append(f.sites, st)
		reply(w, map[string]any{"id": st["id"], "url": st["url"]})
	})
	mux.HandleFunc("PATCH /site/{id}", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		id, _ := strconv.Atoi(r.PathValue("id"))
		var patch map[string]any
		_ = json.NewDecoder(r.Body).Decode(&patch)
		cur := f.sites[id-1]
		for k, v := range patch {
			if v == nil {
				delete(cur, k)
			} else {
				cur[k] = v
			}
		}
		st, err := fakeSite(int64(id), cur)
		if err != nil {
			fail(w, err.Error())
			return
		}
		f.writes++
		f.sites[id-1] = st
		reply(w, st)
	})
	mux.HandleFunc("GET /channels", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		reply(w, map[string]any{"channels": f.channels})
	})
	mux.HandleFunc("POST /channels", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		var body struct {
			Name     string          `json:"name"`
			Kind     string          `json:"kind"`
			Settings json.RawMessage `json:"settings"`
			Events   []string        `json:"events"`
			Default  bool            `json:"default"`
			Enabled  bool            `json:"enabled"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			fail(w, err.Error())
			return
		}
		if _, err := reg.Decode(body.Kind, body.Settings); err != nil {
			fail(w, "settings."+err.Error())
			return
		}
		if body.Name == "" || len(body.Events) == 0 {
			fail(w, "name and events are required")
			return
		}
		f.writes++
		ch := map[string]any{"id": len(f.channels) + 1, "name": body.Name, "kind": body.Kind, "settings": body.Settings,
			"events": body.Events, "default": body.Default, "enabled": body.Enabled}
		f.channels = append(f.channels, ch)
		w.WriteHeader(http.StatusCreated)
		reply(w, ch)
	})
	mux.HandleFunc("GET /maintenance", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		reply(w, monitor.MaintenanceList{Maintenance: f.maint})
	})
	mux.HandleFunc("POST /maintenance", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		var p monitor.MaintenanceParams
		_ = json.NewDecoder(r.Body).Decode(&p)
		f.writes++
		f.maint = append(f.maint, &monitor.Maintenance{ID: int64(len(f.maint) + 1), Sites: p.Sites, Tags: p.Tags,
			Start: p.Start, End: p.End, Recurrence: p.Recurrence, Note: p.Note})
		reply(w, f.maint[len(f.maint)-1])
	})
	return f, apptest.NewHandlerServer(t, mux)
}

// fakeSite decodes and fills a site as the server would, keeping its
// channels.
func fakeSite(id int64, body map[string]any) (map[string]any, error) {
	fields := map[string]any{}
	for k, v := range body {
		if k != "channels" && k != "id" && k != "push_token" && k != "push_url" {
			fields[k] = v
		}
	}
	raw, _ := json.Marshal(fields)
	var p site.AddParams
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, err
	}
	if err := p.Settings.Validate(); err != nil {
		return nil, err
	}
	st := site.Site{ID: id, URL: p.URL, Name: p.Name, Kind: p.Kind,
		Settings: p.Settings.Filled(site.Defaults{Interval: 5 * time.Minute, Timeout: 10 * time.Second})}
	if p.Kind == site.KindPush {
		st.URL = "push:" + p.Name
	} else {
		kind, err := site.KindOf(p.URL)
		if err != nil {
			return nil, err
		}
		st.Kind = kind
	}
	out := map[string]any{}
	raw, _ = json.Marshal(st)
	_ = json.Unmarshal(raw, &out)
	if ch, ok := body["channels"]; ok {
		out["channels"] = ch
	}
	return out, nil
}

func (f *fakeUpmon) channelIDs(names ...string) []any {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []any
	for _, n := range names {
		for _, c := range f.channels {
			if c["name"] == n {
				out = append(out, float64(c["id"].(int)))
			}
		}
	}
	return out
}

func (f *fakeUpmon) site(url string) map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, s := range f.sites {
		if s["url"] == url {
			return s
		}
	}
	f.t.Fatalf("no site %s", url)
	return nil
}

func importRun(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	r := run(t, nil, "", append([]string{"import"}, args...)...)
	return r.code, r.stdout, r.stderr
}

// TestImportGatusChannels imports the Gatus fixture into a stand-in
// server: every provider becomes a channel whose settings the notify
// kinds accept, sites name their channels, and a second run writes
// nothing.
func TestImportGatusChannels(t *testing.T) {
	t.Parallel()
	f, url := newFakeUpmon(t)
	file := "../importer/testdata/gatus.yaml"
	code, out, errOut := importRun(t, "gatus", file, "--server", url, "--accept-losses")
	if code != 0 {
		t.Fatalf("import: %d\n%s\n%s", code, out, errOut)
	}
	if len(f.channels) != 14 {
		t.Fatalf("%d channels created:\n%s", len(f.channels), out)
	}
	if got, want := f.site("https://example.org/")["channels"], f.channelIDs("gatus-pagerduty", "gatus-slack"); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("website channels %v, want %v", got, want)
	}
	if got, want := f.site("push:nightly-backup")["channels"], f.channelIDs("gatus-slack"); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("push channels %v, want %v", got, want)
	}
	if len(f.maint) != 2 || len(f.maint[0].Sites) != 7 {
		t.Errorf("maintenance %+v", f.maint)
	}
	writes := f.writes
	code, out, errOut = importRun(t, "gatus", file, "--server", url, "--accept-losses")
	if code != 0 || f.writes != writes {
		t.Fatalf("second import: %d, %d writes\n%s\n%s", code, f.writes-writes, out, errOut)
	}
	if !strings.Contains(out, "23 unchanged") || strings.Contains(out, "  create ") {
		t.Errorf("second import output:\n%s", out)
	}
}

// TestImportKumaChannels imports the Kuma backup fixture into a stand-in
// server.
func TestImportKumaChannels(t *testing.T) {
	t.Parallel()
	f, url := newFakeUpmon(t)
	file := "../importer/testdata/kuma-backup.json"
	code, out, errOut := importRun(t, "kuma", file, "--server", url, "--accept-losses")
	if code != 0 {
		t.Fatalf("import: %d\n%s\n%s", code, out, errOut)
	}
	if len(f.channels) != 7 || len(f.sites) != 2 {
		t.Fatalf("%d channels, %d sites:\n%s", len(f.channels), len(f.sites), out)
	}
	if got, want := f.site("tcp://cache.internal:6379")["channels"], f.channelIDs("pushover", "mm", "gchat", "teams"); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("cache channels %v, want %v", got, want)
	}
	writes := f.writes
	if code, out, _ = importRun(t, "kuma", file, "--server", url, "--accept-losses"); code != 0 || f.writes != writes {
		t.Fatalf("second import wrote %d times:\n%s", f.writes-writes, out)
	}
}

func TestImportUsage(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{}, {"gatus"}, {"nagios", "x.cfg"}, {"gatus", "a.yaml", "b.yaml"}, {"gatus", "a.yaml", "--server", "ftp://x"}} {
		code, _, errOut := importRun(t, args...)
		if code != 2 || !strings.HasPrefix(errOut, "upmon: ") || strings.Count(errOut, "\n") != 1 {
			t.Errorf("import %q: %d %q", args, code, errOut)
		}
	}
	code, _, errOut := importRun(t, "gatus", "/nonexistent/config.yaml")
	if code != 1 || !strings.Contains(errOut, "no such file") {
		t.Errorf("missing file: %d %q", code, errOut)
	}
}

// TestImportWithoutChannelAPI: a server without /channels is named as
// the reason, and nothing is created.
func TestImportWithoutChannelAPI(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /site", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(`{"sites":[]}`)) })
	url := apptest.NewHandlerServer(t, mux)
	code, _, errOut := importRun(t, "gatus", "../importer/testdata/gatus.yaml", "--server", url, "--accept-losses")
	if code != 1 || !strings.Contains(errOut, "no /channels API") {
		t.Errorf("%d %q", code, errOut)
	}
}
