package cron

import (
	"context"
	"sync"
	"time"
)

// Locker claims a tick of a job cluster-wide: for a given (job, tick),
// exactly one Claim call in the cluster returns true; the others return
// false. A non-nil error means the claim could not be decided; the tick is
// then skipped by the caller.
type Locker interface {
	Claim(ctx context.Context, job string, tick time.Time) (bool, error)
}

// localRetention is how long a LocalLocker remembers a claimed tick, measured
// from the newest tick it has seen.
const localRetention = 25 * time.Hour

// LocalLocker is an in-process Locker, for a single node (or several
// schedulers in one process). Its zero value is ready to use.
type LocalLocker struct {
	mu      sync.Mutex
	claimed map[localKey]struct{}
	newest  time.Time
}

type localKey struct {
	job  string
	tick int64 // Unix nanoseconds
}

// Claim returns true the first time it is called for (job, tick) and false
// afterwards. It never fails.
func (l *LocalLocker) Claim(_ context.Context, job string, tick time.Time) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.claimed == nil {
		l.claimed = make(map[localKey]struct{})
	}
	k := localKey{job: job, tick: tick.UnixNano()}
	if _, ok := l.claimed[k]; ok {
		return false, nil
	}
	l.claimed[k] = struct{}{}
	if tick.After(l.newest) {
		l.newest = tick
		l.prune()
	}
	return true, nil
}

// prune forgets ticks older than localRetention before the newest one.
func (l *LocalLocker) prune() {
	cutoff := l.newest.Add(-localRetention).UnixNano()
	for k := range l.claimed {
		if k.tick < cutoff {
			delete(l.claimed, k)
		}
	}
}
