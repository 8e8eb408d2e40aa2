package app

import (
	"encoding/json"
	"time"

	"github.com/nats-io/nats.go"

	"upmon/monitor"
)

// resultWorkers record agents' results side by side: each waits for its
// batch to commit, and one location alone can send hundreds a second.
const resultWorkers = 64

// assign publishes a check for a location's agents (core NATS: an
// assignment nobody hears is simply not checked from there this time;
// the location is unavailable anyway).
func (m *Main) assign(loc string, a *monitor.Assignment) error {
	b, err := json.Marshal(a)
	if err != nil {
		return err
	}
	return m.broker.Conn().Publish(monitor.AssignSubject(m.broker.Prefix(), loc), b)
}

// linkAgents subscribes to every location's heartbeats (each replica
// hears all of them; each writes them to the monitor database, where the
// replicas decide together whether a location is lost) and results (a queue
// group: one replica records each), and records results through a
// bounded pool of workers. The subscriptions end with the connection.
func (m *Main) linkAgents() error {
	nc, prefix := m.broker.Conn(), m.broker.Prefix()
	if _, err := nc.Subscribe(monitor.HeartbeatSubject(prefix, "*"), func(msg *nats.Msg) {
		var hb monitor.Heartbeat
		loc := monitor.LocationOfSubject(msg.Subject)
		if loc == "" || json.Unmarshal(msg.Data, &hb) != nil || hb.Agent == "" || len(hb.Agent) > 128 {
			return
		}
		// The serve process's clock judges liveness: agents' clocks may be off.
		m.Monitor.Heartbeat(loc, hb.Agent, time.Now())
	}); err != nil {
		return err
	}
	work := make(chan *nats.Msg, 4096)
	for range resultWorkers {
		go func() {
			for {
				select {
				case <-m.rootCtx.Done():
					return
				case msg := <-work:
					m.recordResult(msg)
				}
			}
		}()
	}
	_, err := nc.QueueSubscribe(monitor.ResultSubject(prefix, "*"), prefix+"-results", func(msg *nats.Msg) {
		select {
		case work <- msg:
		case <-m.rootCtx.Done():
		}
	})
	return err
}

func (m *Main) recordResult(msg *nats.Msg) {
	loc := monitor.LocationOfSubject(msg.Subject)
	var r monitor.AgentResult
	if loc == "" || json.Unmarshal(msg.Data, &r) != nil {
		return
	}
	if err := m.Monitor.HandleResult(m.rootCtx, loc, &r); err != nil && m.rootCtx.Err() == nil {
		m.Logger.Warn("cannot record an agent's result", "location", loc, "site", r.SiteID, "err", err)
	}
}
