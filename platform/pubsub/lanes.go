package pubsub

import (
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// overflowDelay is how long a message released because its key's lane is
// full waits before the server offers it again.
const overflowDelay = time.Second

// capacity is how many messages the subscription holds at once (fetched and
// not yet settled). Without an ordering key every held message has a
// handler running; with one, messages wait in their key's lane without a
// handler, so the subscription holds twice its concurrency: room for the
// lanes of busy keys and for other keys' messages.
func (s *subscription) capacity() int {
	if s.key == nil {
		return s.concurrency
	}
	return 2 * s.concurrency
}

// laneLimit is how many messages of one key the subscription holds at once
// (running and queued): half its concurrency, at least one. One key can
// take no more than a quarter of the held messages, however fast it
// produces.
func (s *subscription) laneLimit() int {
	return max(1, s.concurrency/2)
}

// dispatch takes one fetched message, which holds one of slots until it is
// settled. From now until then it is kept alive (InProgress every third of
// the ack wait), whether its handler runs or it waits in its key's lane, so
// the server never redelivers a message this process still holds. A message
// whose key's lane is full is released at once with a short delay (it
// comes back, behind those of its key held meanwhile: ordering is per
// process and best effort, see SubscriptionConfig.OrderingKey).
func (s *subscription) dispatch(m jetstream.Msg, slots chan struct{}) {
	// A message this process released (full lane) or deferred comes back
	// by design: not a redelivery.
	if md, err := m.Metadata(); err == nil && md.NumDelivered > 1 && !s.lanes.wasReleased(md.Sequence.Stream) {
		s.b.metrics.redelivered.WithLabelValues(s.t.name, s.name).Inc()
	}
	stop := s.keepAlive(m)
	work := func() {
		defer release(slots, 1)
		defer stop()
		s.handle(m)
	}
	if s.key == nil {
		s.b.handlers.Go(work)
		return
	}
	key := s.key(m.Data())
	queued := s.lanes.submit(key, s.laneLimit(), s.b.handlers.Go, func() {
		s.busy <- struct{}{}
		defer func() { <-s.busy }()
		work()
	})
	if !queued {
		stop()
		if md, err := m.Metadata(); err == nil {
			s.lanes.release(md.Sequence.Stream, 4*s.capacity())
		}
		_ = m.NakWithDelay(overflowDelay)
		release(slots, 1)
		s.b.metrics.laneOverflow.WithLabelValues(s.t.name, s.name).Inc()
		s.b.log.Debug("ordering lane full; message released for later", "topic", s.t.name, "subscription", s.name)
	}
}

// keepAlive sends InProgress every third of the ack wait until the returned
// stop function is called, so that neither a message waiting in a lane, nor
// a handler overrunning its deadline (ignoring its context), nor a slow
// dead-letter write gets the message redelivered to another replica while
// this one still holds it.
func (s *subscription) keepAlive(m jetstream.Msg) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(s.ackWait / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				_ = m.InProgress()
			}
		}
	})
	return func() { close(done); wg.Wait() }
}

// lanes runs functions with equal keys one after another, in submission
// order, and functions with different keys concurrently.
type lanes struct {
	mu     sync.Mutex
	queues map[string][]func() // present while a key's lane is running
	// overflow counts, by stream sequence, how often a message was
	// released because its lane was full, so that those deliveries do
	// not count as attempts of the message here. It is cleared when it
	// passes a bound (a message released here may be handled by another
	// replica, leaving its entry behind).
	overflow map[uint64]int
}

// release records that the message with stream sequence seq was released
// from a full lane; bound caps the record's size.
func (l *lanes) release(seq uint64, bound int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.overflow == nil || len(l.overflow) >= bound {
		l.overflow = map[uint64]int{}
	}
	l.overflow[seq]++
}

// wasReleased reports whether this process released or deferred the
// message with stream sequence seq (without forgetting it).
func (l *lanes) wasReleased(seq uint64) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.overflow[seq] > 0
}

// released returns how often the message with stream sequence seq was
// released from a full lane or deferred by this process.
func (l *lanes) released(seq uint64) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.overflow[seq]
}

// forget drops the record of a settled message.
func (l *lanes) forget(seq uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.overflow, seq)
}

// submit queues fn behind the running work of key, or starts a lane for
// key with start. It returns false, doing nothing, when key already has
// limit functions running or queued.
func (l *lanes) submit(key string, limit int, start func(func()), fn func()) bool {
	l.mu.Lock()
	if l.queues == nil {
		l.queues = map[string][]func(){}
	}
	if q, busy := l.queues[key]; busy {
		if 1+len(q) >= limit {
			l.mu.Unlock()
			return false
		}
		l.queues[key] = append(q, fn)
		l.mu.Unlock()
		return true
	}
	l.queues[key] = nil
	l.mu.Unlock()
	start(func() {
		for {
			fn()
			l.mu.Lock()
			q := l.queues[key]
			if len(q) == 0 {
				delete(l.queues, key)
				l.mu.Unlock()
				return
			}
			fn, l.queues[key] = q[0], q[1:]
			l.mu.Unlock()
		}
	})
	return true
}
