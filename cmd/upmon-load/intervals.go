package main

import (
	"context"
	"sync"
	"time"
)

// intervalRate is the stored checks per second of one interval of the
// window (the last one may be shorter), summed over the replicas.
type intervalRate struct {
	StartS          float64 `json:"start_s"` // from the window's start
	Seconds         float64 `json:"seconds"`
	StoredPerSecond float64 `json:"stored_per_s"`
}

// intervals samples upmon_checks_total (of every replica) at each check
// interval of the window, so a rate that sags or recovers inside a long
// window shows.
type intervals struct {
	read func(ctx context.Context) (float64, error)
	ws   time.Time

	mu     sync.Mutex
	at     time.Time
	total  float64
	rates  []intervalRate
	done   chan struct{}
	cancel context.CancelFunc
}

// startIntervals starts sampling every interval from ws, when the
// checks stored so far were total0.
func startIntervals(ctx context.Context, every time.Duration, ws time.Time, total0 float64, read func(ctx context.Context) (float64, error)) *intervals {
	ctx, cancel := context.WithCancel(ctx)
	iv := &intervals{read: read, ws: ws, at: ws, total: total0, done: make(chan struct{}), cancel: cancel}
	go func() {
		defer close(iv.done)
		for n := 1; ; n++ {
			if sleepCtx(ctx, time.Until(ws.Add(time.Duration(n)*every))) != nil {
				return
			}
			iv.sample(ctx)
		}
	}()
	return iv
}

// sample closes the interval that ends now (a failed reading leaves it
// open: the next one closes a longer interval).
func (iv *intervals) sample(ctx context.Context) {
	total, err := iv.read(ctx)
	now := time.Now()
	if err != nil {
		return
	}
	iv.mu.Lock()
	defer iv.mu.Unlock()
	if d := now.Sub(iv.at).Seconds(); d > 0.5 {
		iv.rates = append(iv.rates, intervalRate{StartS: iv.at.Sub(iv.ws).Seconds(), Seconds: d, StoredPerSecond: (total - iv.total) / d})
	}
	iv.at, iv.total = now, total
}

// stop closes the last (partial) interval and returns every interval's
// rate.
func (iv *intervals) stop(ctx context.Context) []intervalRate {
	iv.cancel()
	<-iv.done
	iv.sample(ctx)
	iv.mu.Lock()
	defer iv.mu.Unlock()
	return iv.rates
}

// sum adds up v.
func sum(v []float64) float64 {
	var n float64
	for _, x := range v {
		n += x
	}
	return n
}
