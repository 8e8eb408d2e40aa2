package kinds_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"upmon/notify"
	"upmon/notify/kinds"
)

// samples are valid settings of each kind, every secret set to a value
// holding "SECRET".
func samples() map[string]string {
	return map[string]string{
		"slack":      `{"webhook_url":"https://hooks.slack.com/services/T0/B0/SECRETxyz"}`,
		"discord":    `{"webhook_url":"https://discord.com/api/webhooks/1/SECRETxyz"}`,
		"teams":      `{"webhook_url":"https://x.logic.azure.com/workflows/w/triggers/manual/paths/invoke?sig=SECRETxyz"}`,
		"mattermost": `{"webhook_url":"https://chat.example.com/hooks/SECRETxyz"}`,
		"googlechat": `{"webhook_url":"https://chat.googleapis.com/v1/spaces/S/messages?key=SECRETkey&token=SECRETtok"}`,
		"telegram":   `{"bot_token":"123:SECRETxyz","chat_id":"1"}`,
		"ntfy":       `{"topic":"SECRETtopic","token":"tk_SECRETxyz"}`,
		"pushover":   `{"token":"SECRETapp","user_key":"SECRETuser"}`,
		"gotify":     `{"server_url":"https://gotify.example.com","token":"ASECRETxyz"}`,
		"matrix":     `{"homeserver_url":"https://matrix.example.org","access_token":"syt_SECRETxyz","room_id":"!r:example.org"}`,
		"pagerduty":  `{"routing_key":"SECRET0123456789abcdef0123456789"}`,
		"opsgenie":   `{"api_key":"SECRET-key"}`,
		"email":      `{"host":"smtp.example.com","username":"u","password":"SECRETpw","from":"a@example.com","to":["b@example.com"]}`,
		"webhook":    `{"url":"https://hooks.example.com/in/SECRETpath","headers":{"Authorization":"Bearer SECRETbearer"},"secret":"SECREThmac"}`,
	}
}

func TestEveryKindDeclaresAndMasksItsSecrets(t *testing.T) {
	r, err := kinds.Registry()
	if err != nil {
		t.Fatal(err)
	}
	samples := samples()
	if len(r.Kinds()) != len(samples) {
		t.Errorf("%d kinds, %d samples", len(r.Kinds()), len(samples))
	}
	for _, k := range r.Kinds() {
		raw, ok := samples[k.Name]
		if !ok {
			t.Errorf("%s: no sample", k.Name)
			continue
		}
		s, err := k.Decode([]byte(raw))
		if err != nil {
			t.Errorf("%s: %v", k.Name, err)
			continue
		}
		fields := jsonFields(s)
		for _, sec := range k.Secrets {
			if _, ok := fields[sec.Name]; !ok {
				t.Errorf("%s: secret %q is not a setting", k.Name, sec.Name)
			}
		}
		masked, err := k.Mask(s)
		if err != nil {
			t.Fatal(err)
		}
		if b, _ := json.Marshal(masked); strings.Contains(string(b), "SECRET") {
			t.Errorf("%s: masked settings show a secret: %s", k.Name, b)
		}
		if len(k.SecretValues(s)) == 0 {
			t.Errorf("%s: no secret values", k.Name)
		}
		if k.Title == "" {
			t.Errorf("%s: no title", k.Name)
		}
	}
}

func TestURLForms(t *testing.T) {
	r, err := kinds.Registry()
	if err != nil {
		t.Fatal(err)
	}
	for raw, kind := range map[string]string{
		"slack://hook:T00000000-B00000000-XXXXXXXXXXXXXXXXXXXXXXXX@webhook": "slack",
		"discord://token@123456": "discord",
		"teams://?host=https%3A%2F%2Fx.logic.azure.com%2Fworkflows%2Fw":        "teams",
		"mattermost://chat.example.com/KEY":                                    "mattermost",
		"googlechat://chat.googleapis.com/v1/spaces/S/messages?key=k&token=t":  "googlechat",
		"telegram://123:abc@telegram?chats=42":                                 "telegram",
		"ntfy://ntfy.sh/alerts":                                                "ntfy",
		"pushover://shoutrrr:app@user/":                                        "pushover",
		"gotify://gotify.example.com/Atoken":                                   "gotify",
		"matrix://:tok@matrix.example.org?rooms=!r:example.org":                "matrix",
		"pagerduty://events.pagerduty.com/eb243592faa24ba2a5511afdf565c889":    "pagerduty",
		"opsgenie://api.opsgenie.com/key":                                      "opsgenie",
		"smtp://u:p@mail.example.com:587/?from=a@example.com&to=b@example.com": "email",
		"generic://hooks.example.com/in":                                       "webhook",
	} {
		got, s, err := r.ParseURL(raw)
		if err != nil || got != kind || s == nil {
			t.Errorf("ParseURL(%s) = %q, %v; want %s", raw, got, err, kind)
		}
	}
	_, _, err = r.ParseURL("telegram://SECRETTOKEN@telegram")
	var fe *notify.FieldError
	if err == nil || strings.Contains(err.Error(), "SECRETTOKEN") || !errors.As(err, &fe) {
		t.Errorf("bad URL: %v", err)
	}
}

// jsonFields returns the JSON names of a settings struct's fields.
func jsonFields(s notify.Settings) map[string]bool {
	out := map[string]bool{}
	t := reflect.TypeOf(s).Elem()
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		out[name] = true
	}
	return out
}
