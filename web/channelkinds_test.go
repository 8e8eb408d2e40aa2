package web

import (
	"testing"

	"upmon/notify/kinds"
)

// TestKindSpecs: the channel forms' fields come from each kind's
// settings struct, secrets from its Secrets, required settings and
// defaults from validating it.
func TestKindSpecs(t *testing.T) {
	reg, err := kinds.Registry()
	if err != nil {
		t.Fatal(err)
	}
	type want struct {
		label, input, def string
		secret, required  bool
	}
	tests := map[string]map[string]want{
		"webhook": {
			"url":     {"URL", inText, "", true, true},
			"method":  {"Method", inText, "POST", false, false},
			"headers": {"Headers", inMap, "", true, false},
			"secret":  {"Secret", inText, "", true, false},
		},
		"email": {
			"host": {"Host", inText, "", false, true},
			"port": {"Port", inInt, "587", false, false},
			"from": {"From", inText, "", false, true},
			"to":   {"To", inList, "", false, true},
		},
		"ntfy": {
			"topic":    {"Topic", inText, "", true, true},
			"priority": {"Priority", inInt, "", false, false},
			"api_url":  {"API URL", inText, "https://ntfy.sh", false, false},
		},
		"gotify":   {"priority": {"Priority", inOptInt, "", false, false}, "server_url": {"Server URL", inText, "", false, true}},
		"telegram": {"disable_notification": {"Disable notification", inBool, "", false, false}, "bot_token": {"Bot token", inText, "", true, true}},
	}
	for kind, fields := range tests {
		k, ok := reg.Kind(kind)
		if !ok {
			t.Fatalf("no kind %s", kind)
		}
		ks := specOf(k)
		for name, w := range fields {
			found := false
			for _, s := range ks.Settings {
				if s.Name != name {
					continue
				}
				found = true
				if got := (want{s.Label, s.Input, s.Default, s.Secret, s.Required}); got != w {
					t.Errorf("%s.%s = %+v, want %+v", kind, name, got, w)
				}
			}
			if !found {
				t.Errorf("%s has no setting %s", kind, name)
			}
		}
	}
}
