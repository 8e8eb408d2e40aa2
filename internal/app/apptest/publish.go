package apptest

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"upmon/internal/app"
)

// PublishRaw stores data on topic of m's broker under the message id id,
// bypassing the typed topics (which a program declares once), as a broken
// or hostile producer would: tests use it to feed the subscribers events
// they must refuse.
func PublishRaw(tb testing.TB, m *app.Main, topic, id string, data []byte) {
	tb.Helper()
	msg := nats.NewMsg(m.Broker().Prefix() + "." + topic)
	msg.Data = data
	msg.Header.Set(nats.MsgIdHdr, id)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := m.Broker().JetStream().PublishMsg(ctx, msg); err != nil {
		tb.Fatalf("publish to %s: %v", topic, err)
	}
}
