package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"upmon/internal/app"
	"upmon/internal/app/apptest"
)

// Channel settings are encrypted with a key that outlives a restart (kept
// in the broker when no ChannelsKey is given); a server given another
// ChannelsKey refuses to read them with a message naming the key.
func TestChannelsKeyAcrossRestarts(t *testing.T) {
	t.Parallel()
	hook := apptest.NewSlack(t)
	cfg := apptest.Config(t)
	a := apptest.Start(t, cfg, app.Hooks{})
	c := apptest.Client{Base: a.URL(), TB: t}
	var ch struct {
		ID int64 `json:"id"`
	}
	c.JSON("POST", "/channels", `{"name":"ops","kind":"slack","settings":{"webhook_url":"`+hook.URL+`/T0/B0/secret"}}`, &ch)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}

	b := apptest.Start(t, cfg, app.Hooks{})
	c = apptest.Client{Base: b.URL(), TB: t}
	var res struct {
		Status string `json:"status"`
	}
	c.JSON("POST", fmt.Sprintf("/channels/%d/test", ch.ID), "", &res)
	if res.Status != "sent" || len(hook.WaitFor(1, 10*time.Second)) != 1 {
		t.Fatalf("after a restart the channel's settings do not work: %+v", res)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}

	wrong := cfg
	wrong.Env = append(append([]string{}, cfg.Env...), "CHANNELS_KEY="+strings.Repeat("ab", 32))
	w := apptest.Start(t, wrong, app.Hooks{})
	status, body := apptest.Client{Base: w.URL(), TB: t}.Do("GET", "/channels", "")
	if status < 400 || status >= 500 || !strings.Contains(body, "ChannelsKey") {
		t.Fatalf("GET /channels with another ChannelsKey = %d %s, want a 4xx naming ChannelsKey", status, body)
	}
}
