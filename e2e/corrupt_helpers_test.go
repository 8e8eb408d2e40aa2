package e2e

import (
	"context"
	"strconv"
	"testing"
	"time"

	"upmon/internal/app"
	"upmon/internal/app/apptest"
	"upmon/monitor"
	"upmon/platform/pubsub"
)

// publishCorruptTransition publishes, on m's broker, a transition without
// a site, as a broken producer might: the channels router refuses it
// permanently, so it becomes a dead letter of channels-transition.
func publishCorruptTransition(t *testing.T, m *app.Main, seq int64) {
	t.Helper()
	topic, err := pubsub.NewTopic[*monitor.TransitionEvent](m.Broker(), monitor.TopicUptimeTransition, pubsub.TopicConfig{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	id := "corrupt-" + strconv.FormatInt(seq, 10) + "-" + strconv.FormatInt(time.Now().UnixNano(), 10)
	if err := topic.PublishWithID(ctx, id, &monitor.TransitionEvent{ID: id, Seq: seq, CheckedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
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
