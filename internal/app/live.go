package app

import (
	"encoding/json"

	"github.com/nats-io/nats.go"

	"upmon/monitor"
	"upmon/web"
)

// Live updates cross replicas on a plain NATS subject (not a stream:
// they are worth nothing a second later): every replica publishes its
// committed checks there and feeds its own dashboard hub from it, so a
// page open on any replica sees every check.

func (m *Main) liveSubject() string { return m.broker.Prefix() + ".live.checks" }

// startLive subscribes the dashboard hub to the live subject.
func (m *Main) startLive() error {
	if m.Web == nil {
		return nil
	}
	sub, err := m.broker.Conn().Subscribe(m.liveSubject(), func(msg *nats.Msg) {
		var r monitor.Recorded
		if json.Unmarshal(msg.Data, &r) == nil {
			m.Web.Hub().Publish(web.EventOf(r))
		}
	})
	if err != nil {
		return err
	}
	// Live updates may be dropped under load, never block the broker.
	return sub.SetPendingLimits(65536, 64<<20)
}

// onRecorded publishes each committed check to the live subject; when the
// broker is unreachable, this replica's own pages still get it.
func (m *Main) onRecorded(r monitor.Recorded) {
	if m.Web == nil {
		return
	}
	if m.broker != nil {
		if data, err := json.Marshal(r); err == nil && m.broker.Conn().IsConnected() {
			if m.broker.Conn().Publish(m.liveSubject(), data) == nil {
				return
			}
		}
	}
	m.Web.Hub().Publish(web.EventOf(r))
}
