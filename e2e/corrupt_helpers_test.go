package e2e

import (
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"upmon/internal/app"
	"upmon/internal/app/apptest"
	"upmon/monitor"
)

// publishCorruptTransition publishes, on m's broker, a transition without
// a site, as a broken producer might: the channels router refuses it
// permanently, so it becomes a dead letter of channels-transition.
func publishCorruptTransition(t *testing.T, m *app.Main, seq int64) {
	t.Helper()
	id := "corrupt-" + strconv.FormatInt(seq, 10) + "-" + strconv.FormatInt(time.Now().UnixNano(), 10)
	b, err := json.Marshal(&monitor.TransitionEvent{ID: id, Seq: seq, CheckedAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	apptest.PublishRaw(t, m, monitor.TopicUptimeTransition, id, b)
}

// implicitSlackID returns the id of the channel the SlackWebhookURL
// secret defines.
func implicitSlackID(t *testing.T, c apptest.Client) int64 {
	t.Helper()
	var l struct {
		Channels []struct {
			ID        int64  `json:"id"`
			ManagedBy string `json:"managed_by"`
		} `json:"channels"`
	}
	c.JSON("GET", "/channels", "", &l)
	for _, ch := range l.Channels {
		if ch.ManagedBy == "SlackWebhookURL" {
			return ch.ID
		}
	}
	t.Fatalf("no implicit Slack channel in %+v", l.Channels)
	return 0
}
