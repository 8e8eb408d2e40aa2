package cron

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// JobStatus describes a job and its latest run, for the catalog.
type JobStatus struct {
	// Name, Title and Every are the job's declaration.
	Name    string
	Title   string
	Every   time.Duration
	Service string
	// NextRun is the next tick after now.
	NextRun time.Time
	// LastTick is the latest tick claimed cluster-wide (zero if unknown),
	// and LastReplica the replica that claimed it (empty if unknown).
	LastTick    time.Time
	LastReplica string
	// LastRunHere is when a run in this process last ended (zero if none),
	// and LastError its error text (empty when it succeeded).
	LastRunHere time.Time
	LastError   string
}

// ClaimReader is implemented by Lockers that can tell who claimed the
// latest tick of a job.
type ClaimReader interface {
	// LastClaim returns the latest claimed tick of job and the replica that
	// claimed it; ok is false when no claim is known.
	LastClaim(ctx context.Context, job string) (tick time.Time, replica string, ok bool, err error)
}

// lastRun is a job's latest run in this process.
type lastRun struct {
	mu   sync.Mutex
	tick time.Time
	end  time.Time
	err  string
}

func (l *lastRun) record(tick, end time.Time, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.tick, l.end, l.err = tick, end, ""
	if err != nil {
		l.err = err.Error()
	}
}

// Status describes every job of s, in the order added. The latest claim
// comes from the Locker when it is a ClaimReader (a lookup error leaves it
// to what this process ran itself).
func (s *Scheduler) Status(ctx context.Context, replica string) []JobStatus {
	now := s.now()
	reader, _ := s.locker.(ClaimReader)
	var out []JobStatus
	for _, j := range s.Jobs() {
		st := JobStatus{Name: j.name, Title: j.title, Every: j.every, Service: j.service, NextRun: nextTick(now, j.every)}
		j.last.mu.Lock()
		st.LastRunHere, st.LastError = j.last.end, j.last.err
		if !j.last.tick.IsZero() {
			st.LastTick, st.LastReplica = j.last.tick, replica
		}
		j.last.mu.Unlock()
		if reader != nil {
			if tick, who, ok, err := reader.LastClaim(ctx, j.name); err == nil && ok && !tick.Before(st.LastTick) {
				st.LastTick, st.LastReplica = tick, who
			}
		}
		out = append(out, st)
	}
	return out
}

// claim is the value stored under a NATS claim key.
type claim struct {
	Tick    time.Time `json:"tick"`
	Replica string    `json:"replica,omitempty"`
}

func claimValue(tick time.Time, holder string) []byte {
	b, _ := json.Marshal(claim{Tick: tick.UTC(), Replica: holder})
	return b
}

// SetHolder names the replica this locker claims ticks for; the name is
// stored with each claim, so every replica can tell who ran a tick. Call
// it before the scheduler starts.
func (l *NATSLocker) SetHolder(replica string) { l.holder = replica }

// LastClaim implements ClaimReader: the newest key of job in the bucket.
// Claims expire after an hour, so a job with a longer period may have none.
func (l *NATSLocker) LastClaim(ctx context.Context, job string) (time.Time, string, bool, error) {
	lister, err := l.kv.ListKeysFiltered(ctx, job+".*")
	if errors.Is(err, jetstream.ErrNoKeysFound) {
		return time.Time{}, "", false, nil
	}
	if err != nil {
		return time.Time{}, "", false, err
	}
	var newest int64
	var key string
	for k := range lister.Keys() {
		n, err := strconv.ParseInt(strings.TrimPrefix(k, job+"."), 10, 64)
		if err == nil && (key == "" || n > newest) {
			newest, key = n, k
		}
	}
	if key == "" {
		return time.Time{}, "", false, nil
	}
	e, err := l.kv.Get(ctx, key)
	if err != nil {
		return time.Time{}, "", false, err
	}
	var c claim
	if json.Unmarshal(e.Value(), &c) != nil {
		c = claim{} // a claim written before replicas were named
	}
	return time.Unix(0, newest).UTC(), c.Replica, true, nil
}
