package cli_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"upmon/internal/app"
	"upmon/internal/app/apptest"
)

// serverState is what an import may change on a real server: the
// channels (as GET /channels shows them, status left out) and the sites
// with their channels.
func serverState(t *testing.T, c apptest.Client) string {
	t.Helper()
	var chans struct {
		Channels []map[string]any `json:"channels"`
	}
	c.JSON("GET", "/channels", "", &chans)
	for _, ch := range chans.Channels {
		delete(ch, "status")
	}
	var sites struct {
		Sites []map[string]any `json:"sites"`
	}
	c.JSON("GET", "/site", "", &sites)
	return fmt.Sprint(chans.Channels, sites.Sites)
}

func channelIDs(t *testing.T, c apptest.Client, names ...string) []int64 {
	t.Helper()
	var chans struct {
		Channels []struct {
			ID   int64  `json:"id"`
			Name string `json:"name"`
		} `json:"channels"`
	}
	c.JSON("GET", "/channels", "", &chans)
	var out []int64
	for _, ch := range chans.Channels {
		if slices.Contains(names, ch.Name) {
			out = append(out, ch.ID)
		}
	}
	slices.Sort(out)
	return out
}

func siteChannels(t *testing.T, c apptest.Client, url string) []int64 {
	t.Helper()
	var sites struct {
		Sites []struct {
			URL      string  `json:"url"`
			Channels []int64 `json:"channels"`
		} `json:"sites"`
	}
	c.JSON("GET", "/site", "", &sites)
	for _, s := range sites.Sites {
		if s.URL == url {
			out := slices.Clone(s.Channels)
			slices.Sort(out)
			return out
		}
	}
	t.Fatalf("no site %s", url)
	return nil
}

// importReal runs an import against a real server: a dry run changes
// nothing, the import creates channels the server validates and sites
// that name them, and a second run changes nothing.
func importReal(t *testing.T, source, file string, prepare func(c apptest.Client)) (apptest.Client, string) {
	t.Helper()
	a := apptest.Start(t, apptest.Config(t), app.Hooks{})
	c := apptest.Client{Base: a.URL(), TB: t}
	if prepare != nil {
		prepare(c)
	}
	before := serverState(t, c)
	if code, out, errOut := importRun(t, source, file, "--server", a.URL(), "--accept-losses", "--dry-run"); code != 0 {
		t.Fatalf("dry run: %d\n%s\n%s", code, out, errOut)
	}
	if after := serverState(t, c); after != before {
		t.Fatalf("the dry run changed the server:\nbefore %s\nafter  %s", before, after)
	}
	code, out, errOut := importRun(t, source, file, "--server", a.URL(), "--accept-losses")
	if code != 0 {
		t.Fatalf("import: %d\n%s\n%s", code, out, errOut)
	}
	state := serverState(t, c)
	code, again, errOut := importRun(t, source, file, "--server", a.URL(), "--accept-losses")
	if code != 0 || strings.Contains(again, "  create ") || strings.Contains(again, "  update ") {
		t.Fatalf("second import: %d\n%s\n%s", code, again, errOut)
	}
	if after := serverState(t, c); after != state {
		t.Fatalf("the second import changed the server:\nbefore %s\nafter  %s", state, after)
	}
	return c, out
}

// TestImportGatusChannelsRealServer imports the Gatus fixture into a real
// server; a channel of the same name with other settings is updated.
func TestImportGatusChannelsRealServer(t *testing.T) {
	t.Parallel()
	c, out := importReal(t, "gatus", "../importer/testdata/gatus.yaml", func(c apptest.Client) {
		c.JSON("POST", "/channels", `{"name":"gatus-slack","kind":"slack","events":["down"],
			"settings":{"webhook_url":"http://127.0.0.1:9/old"}}`, nil)
	})
	if !strings.Contains(out, "  update    channel     gatus-slack (settings, events") {
		t.Errorf("the differing channel is not reported as updated:\n%s", out)
	}
	if n := len(channelIDs(t, c, "gatus-slack", "gatus-pagerduty")); n != 2 {
		t.Fatalf("%d of the channels exist:\n%s", n, out)
	}
	var ch struct {
		Settings map[string]any `json:"settings"`
		Events   []string       `json:"events"`
	}
	c.JSON("GET", fmt.Sprintf("/channels/%d", channelIDs(t, c, "gatus-slack")[0]), "", &ch)
	if u, _ := ch.Settings["webhook_url"].(string); !strings.Contains(u, "hooks.slack.com") || len(ch.Events) < 2 {
		t.Errorf("gatus-slack not updated: %+v", ch)
	}
	if got, want := siteChannels(t, c, "https://example.org/"), channelIDs(t, c, "gatus-pagerduty", "gatus-slack"); !slices.Equal(got, want) {
		t.Errorf("website channels %v, want %v", got, want)
	}
	if got, want := siteChannels(t, c, "push:nightly-backup"), channelIDs(t, c, "gatus-slack"); !slices.Equal(got, want) {
		t.Errorf("push channels %v, want %v", got, want)
	}
}

// TestImportKumaChannelsRealServer imports the Kuma backup fixture into a
// real server.
func TestImportKumaChannelsRealServer(t *testing.T) {
	t.Parallel()
	c, out := importReal(t, "kuma", "../importer/testdata/kuma-backup.json", nil)
	if n := len(channelIDs(t, c, "discord", "gotify", "matrix", "pushover", "mm", "gchat", "teams")); n != 7 {
		t.Fatalf("%d channels:\n%s", n, out)
	}
	if got, want := siteChannels(t, c, "tcp://cache.internal:6379"), channelIDs(t, c, "pushover", "mm", "gchat", "teams"); !slices.Equal(got, want) {
		t.Errorf("cache channels %v, want %v", got, want)
	}
}
