package app

import (
	"bytes"
	"encoding/json"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"upmon/monitor"
	"upmon/web"
)

// Live updates cross replicas on a plain NATS subject (not a stream:
// they are worth nothing a second later): every replica publishes its
// committed checks there and feeds its own dashboard hub from it, so a
// page open on any replica sees every check. Checks go out in batches
// (a JSON array, at most liveFlush after the first of them), not one
// message per check: at thousands of checks a second the per-message
// encoding and delivery to every replica cost more than the checks'
// other bookkeeping. A replica with no dashboard stream open skips the
// messages it receives without decoding them.

// liveFlush is the longest a committed check waits to be published.
const liveFlush = 200 * time.Millisecond

// liveMaxBatch is the most checks one live message carries.
const liveMaxBatch = 512

func (m *Main) liveSubject() string { return m.broker.Prefix() + ".live.checks" }

// startLive subscribes the dashboard hub to the live subject.
func (m *Main) startLive() error {
	if m.Web == nil {
		return nil
	}
	sub, err := m.broker.Conn().Subscribe(m.liveSubject(), func(msg *nats.Msg) {
		hub := m.Web.Hub()
		if hub.Clients() == 0 {
			return // nobody watches here
		}
		for _, r := range decodeLive(msg.Data) {
			hub.Publish(web.EventOf(r))
		}
	})
	if err != nil {
		return err
	}
	// Live updates may be dropped under load, never block the broker.
	return sub.SetPendingLimits(65536, 64<<20)
}

// decodeLive reads a live message: a batch (JSON array) or one check (as
// replicas before batching sent them).
func decodeLive(data []byte) []monitor.Recorded {
	if b := bytes.TrimLeft(data, " \t\r\n"); len(b) > 0 && b[0] == '[' {
		var rs []monitor.Recorded
		if json.Unmarshal(b, &rs) != nil {
			return nil
		}
		return rs
	}
	var r monitor.Recorded
	if json.Unmarshal(data, &r) != nil {
		return nil
	}
	return []monitor.Recorded{r}
}

// onRecorded queues each committed check for the live subject.
func (m *Main) onRecorded(r monitor.Recorded) {
	if m.Web == nil {
		return
	}
	m.live.add(r)
}

// publishLive sends a batch to the live subject; when the broker is
// unreachable, this replica's own pages still get it.
func (m *Main) publishLive(rs []monitor.Recorded) {
	if m.broker != nil && m.broker.Conn().IsConnected() {
		if data, err := json.Marshal(rs); err == nil && m.broker.Conn().Publish(m.liveSubject(), data) == nil {
			return
		}
	}
	hub := m.Web.Hub()
	for _, r := range rs {
		hub.Publish(web.EventOf(r))
	}
}

// liveBatcher collects checks and hands them to send in batches: when
// liveMaxBatch are queued, or liveFlush after the first of a batch.
type liveBatcher struct {
	send func([]monitor.Recorded)

	mu  sync.Mutex
	buf []monitor.Recorded
}

// add queues r.
func (b *liveBatcher) add(r monitor.Recorded) {
	b.mu.Lock()
	b.buf = append(b.buf, r)
	n := len(b.buf)
	var full []monitor.Recorded
	if n >= liveMaxBatch {
		full, b.buf = b.buf, nil
	}
	b.mu.Unlock()
	switch {
	case full != nil:
		b.send(full)
	case n == 1:
		time.AfterFunc(liveFlush, b.flush)
	}
}

// flush sends whatever is queued.
func (b *liveBatcher) flush() {
	b.mu.Lock()
	rs := b.buf
	b.buf = nil
	b.mu.Unlock()
	if len(rs) > 0 {
		b.send(rs)
	}
}
