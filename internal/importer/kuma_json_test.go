package importer

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"upmon/notify/kinds"
)

func TestKumaBackup(t *testing.T) {
	p := mustKuma(t, "testdata/kuma-backup.json")
	if got := keys(p); !reflect.DeepEqual(got, []string{"https://shop.example.com/", "tcp://cache.internal:6379"}) {
		t.Fatalf("sites %v", got)
	}
	wantFields(t, siteByKey(t, p, "https://shop.example.com/"), map[string]any{"url": "https://shop.example.com/", "name": "Shop",
		"interval": "45s", "timeout": "36s", "failure_threshold": 2, "expected_status": []string{"200-299"}, "tags": []string{"shop"}})
	if got := siteByKey(t, p, "https://shop.example.com/").Channels; !reflect.DeepEqual(got, []string{"discord", "gotify"}) {
		t.Errorf("routing %v", got)
	}
	if got := siteByKey(t, p, "tcp://cache.internal:6379").Channels; !reflect.DeepEqual(got, []string{"pushover", "mm", "gchat", "teams"}) {
		t.Errorf("routing %v", got)
	}
	kindsOf := map[string]string{}
	for _, c := range p.Channels {
		kindsOf[c.Name] = c.Kind
	}
	if !reflect.DeepEqual(kindsOf, map[string]string{"discord": "discord", "gotify": "gotify", "matrix": "matrix",
		"pushover": "pushover", "mm": "mattermost", "gchat": "googlechat", "teams": "teams"}) {
		t.Errorf("channels %v", kindsOf)
	}
	wantLosses(t, p, []string{
		"notificationList[0] (discord).config.discordPrefixMessage",
		"notificationList[7] (broken slack) — not a valid slack channel",
		"monitorList[1] (Cache).notifications: 8",
		"monitorList[1] (Cache).resendInterval",
		"monitorList[2] (Container).type: docker",
	})
	for _, l := range p.Losses {
		if l.Line == 0 {
			t.Errorf("a backup loss without its line: %s", l)
		}
	}
	// The docker monitor's type is on line 108 of the fixture.
	for _, l := range p.Losses {
		if strings.HasPrefix(l.Where, "monitorList[2]") && l.Line != lineOf(t, "testdata/kuma-backup.json", `"type": "docker"`) {
			t.Errorf("loss %s on line %d", l, l.Line)
		}
	}
}

// lineOf is the line of the first occurrence of s in file.
func lineOf(t *testing.T, file, s string) int {
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(string(b), s)
	return strings.Count(string(b[:i]), "\n") + 1
}

// TestKumaHostile checks that malformed backups and databases are
// refused with one clear line.
func TestKumaHostile(t *testing.T) {
	reg, err := kinds.Registry()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, tc := range []struct{ name, content, want string }{
		{"not kuma", `{"endpoints": []}`, "line 1: not an Uptime Kuma backup"},
		{"list wrong", `{"monitorList": {"a": 1}}`, "line 1: monitorList: must be a list"},
		{"monitor wrong", "{\"monitorList\": [\n 42\n]}", "line 2: monitorList[0]: must be a mapping"},
		{"notif ids wrong", "{\"monitorList\": [\n {\"id\": 1, \"type\": \"http\",\n  \"notificationIDList\": [1]}]}", "line 3: monitorList[0].notificationIDList: must be an object"},
		{"deep", `{"monitorList": ` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + "}", "nested more than 64 levels"},
		{"huge", `{"monitorList": []}` + strings.Repeat(" ", MaxFileBytes), "more than the"},
		{"corrupt db", "SQLite format 3\x00" + strings.Repeat("\xff", 4096), "not a readable SQLite database"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-"))
			if err := os.WriteFile(file, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := ParseKuma(file, reg)
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("err = %v, want one line containing %q", err, tc.want)
			}
		})
	}
}
