package pubsub

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// TestUnchangedStreamsCompareEqual creates a topic's stream and the
// dead-letter bucket, then reads their configuration back: it compares
// equal to the wanted one, so starting again or recovering updates
// neither.
func TestUnchangedStreamsCompareEqual(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b, err := Open(ctx, Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	tp := &topic{b: b, name: "cmp", stream: "upmon_cmp", subject: "upmon.cmp", cfg: TopicConfig{MaxAge: time.Hour, DuplicateWindow: time.Minute}}
	if _, err := tp.ensureStream(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := b.deadLetters(ctx); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]jetstream.StreamConfig{tp.stream: tp.streamConfig(), b.bucketStream(): b.bucketConfig()} {
		st, err := b.js.Stream(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if have := st.CachedInfo().Config; !sameStream(have, want) {
			t.Errorf("stream %s as stored:\n%+v\ndiffers from the wanted\n%+v", name, have, want)
		}
	}
}
