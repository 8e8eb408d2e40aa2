package slack

import (
	"container/list"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// DefaultMaxTracked is the default Options.MaxTracked.
const DefaultMaxTracked = 10000

// seqKey names one kind of event of one site.
type seqKey struct {
	kind string
	site int64
}

// seqEntry is one remembered last-notified sequence number.
type seqEntry struct {
	key seqKey
	seq int64
}

// seqs remembers the sequence number of the last event posted per kind and
// site, for at most max keys: posting for a key beyond the bound forgets
// the least recently posted one (whose older events, should any still
// arrive, are then posted rather than dropped as stale).
type seqs struct {
	max     int
	tracked prometheus.Gauge
	evicted prometheus.Counter

	mu    sync.Mutex
	byKey map[seqKey]*list.Element // of *seqEntry
	order list.List                // most recently posted first
}

func newSeqs(max int, tracked prometheus.Gauge, evicted prometheus.Counter) *seqs {
	return &seqs{max: max, tracked: tracked, evicted: evicted, byKey: map[seqKey]*list.Element{}}
}

// stale reports whether an event of k with sequence seq is older than (or
// as old as) one already posted by this process.
func (s *seqs) stale(k seqKey, seq int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.byKey[k]
	return seq > 0 && ok && e.Value.(*seqEntry).seq >= seq
}

// markSent records that an event of k with sequence seq was posted. Events
// without a sequence number (seq 0) are not remembered.
func (s *seqs) markSent(k seqKey, seq int64) {
	if seq <= 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.byKey[k]; ok {
		ent := e.Value.(*seqEntry)
		ent.seq = max(ent.seq, seq)
		s.order.MoveToFront(e)
		return
	}
	s.byKey[k] = s.order.PushFront(&seqEntry{key: k, seq: seq})
	for s.order.Len() > s.max {
		oldest := s.order.Back()
		s.order.Remove(oldest)
		delete(s.byKey, oldest.Value.(*seqEntry).key)
		s.evicted.Inc()
	}
	s.tracked.Set(float64(s.order.Len()))
}
