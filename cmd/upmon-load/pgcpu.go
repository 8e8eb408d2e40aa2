package main

import (
	"context"
	"database/sql"
	"net/url"
	"strings"
	"sync"
	"time"
)

// pgCPU measures the CPU time of the PostgreSQL server processes that
// serve one database (the backends listed in pg_stat_activity for it),
// from their /proc/<pid>/stat: the server must run on this machine. It
// samples every 500 ms; a backend that exits between two samples loses at
// most its last half second. Background processes shared by every
// database (checkpointer, WAL writer, autovacuum launcher) are not
// counted.
type pgCPU struct {
	db   *sql.DB
	name string

	mu    sync.Mutex
	base  map[int]time.Duration // CPU of a backend when the window opened (0 if it started later)
	last  map[int]time.Duration // latest sample
	open  bool
	total time.Duration // of backends gone since the window opened
	seen  int           // backends seen in the window
}

// newPGCPU samples the backends of the database of dbURL through a
// connection to baseURL.
func newPGCPU(baseURL, dbURL string) (*pgCPU, error) {
	u, err := url.Parse(dbURL)
	if err != nil {
		return nil, err
	}
	db, err := sql.Open("pgx", baseURL)
	if err != nil {
		return nil, err
	}
	return &pgCPU{db: db, name: strings.TrimPrefix(u.Path, "/"), last: map[int]time.Duration{}}, nil
}

// run samples until ctx ends.
func (p *pgCPU) run(ctx context.Context) {
	for sleepCtx(ctx, 500*time.Millisecond) == nil {
		p.sample(ctx)
	}
}

func (p *pgCPU) sample(ctx context.Context) {
	rows, err := p.db.QueryContext(ctx, `SELECT pid FROM pg_stat_activity WHERE datname = $1`, p.name)
	if err != nil {
		return
	}
	now := map[int]time.Duration{}
	for rows.Next() {
		var pid int
		if rows.Scan(&pid) == nil {
			if cpu, err := readCPU(pid); err == nil {
				now[pid] = cpu
			}
		}
	}
	rows.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.open {
		for pid, cpu := range p.last {
			if _, ok := now[pid]; !ok {
				p.total += cpu - p.base[pid] // exited
				delete(p.base, pid)
			}
		}
		for pid := range now {
			if _, ok := p.base[pid]; !ok {
				p.base[pid] = 0 // started in the window
				p.seen++
			}
		}
	}
	p.last = now
}

// start opens the window.
func (p *pgCPU) start(ctx context.Context) {
	p.sample(ctx)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.open = true
	p.total = 0
	p.base = map[int]time.Duration{}
	for pid, cpu := range p.last {
		p.base[pid] = cpu
	}
	p.seen = len(p.base)
}

// stop closes the window and returns the backends' CPU time in it and
// how many backends served the database in it.
func (p *pgCPU) stop(ctx context.Context) (time.Duration, int) {
	p.sample(ctx)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.open = false
	sum := p.total
	for pid, cpu := range p.last {
		sum += cpu - p.base[pid]
	}
	return sum, p.seen
}

func (p *pgCPU) close() { p.db.Close() }

// busiestSecond returns the busiest whole second's target hits in
// [ws, we) divided by the mean hits per second: 1 is a perfectly flat
// load.
func busiestSecond(tg *targets, ws, we time.Time) float64 {
	from, to := ws.Unix()+1, we.Unix() // whole seconds inside the window
	if to <= from {
		return 0
	}
	counts := make([]int, to-from)
	total := 0
	for i := range tg.n {
		for _, a := range tg.arrivals(i) {
			if s := a / 1e9; s >= from && s < to {
				counts[s-from]++
				total++
			}
		}
	}
	if total == 0 {
		return 0
	}
	busiest := 0
	for _, n := range counts {
		busiest = max(busiest, n)
	}
	return float64(busiest) / (float64(total) / float64(len(counts)))
}
