package monitor

import (
	"math/rand/v2"
	"slices"
	"time"
)

// A simulated history for the compaction tests: sites checked from one
// or several locations through phases of long runs, flapping, outages
// and gaps, at intervals from an hour down to seconds; some agent
// results arrive hours late; prune and compaction run at random moments.

// Kinds of simulation events.
const (
	simRecord = iota
	simPrune
	simCompact
	simCompare
)

// simEvent is one step of the simulation, taken at arrive.
type simEvent struct {
	arrive time.Time
	kind   int
	site   int // index into simSites
	loc    string
	at     time.Time
	res    Result
	probe  *simProbe
}

// simProbe is what a comparison asks, chosen once for both services.
type simProbe struct {
	limits        [3]int // pages newest first, oldest first, before a time
	since, before time.Time
	step          string // a latency step besides the default and the window
}

// simSite is a site of the simulation: its settings (for the site
// service) and the locations it is checked from.
type simSite struct {
	url, settings string
	locs          []string
	https         bool
}

var simSites = []simSite{
	{url: "https://long.upmon.test", locs: []string{LocationLocal}, https: true},
	{url: "http://flap.upmon.test", locs: []string{LocationLocal}},
	{url: "https://world.upmon.test", settings: `{"locations":["local","eu","us"],"quorum":2}`, locs: []string{LocationLocal, "eu", "us"}, https: true},
	{url: "http://gaps.upmon.test", locs: []string{LocationLocal}},
}

// simPhase is a stretch of one stream: checks every interval behaving
// one way, or nothing (a gap).
type simPhase struct {
	interval time.Duration
	span     time.Duration
	behave   string // up, down, flap, slow, gap
}

func randDur(rng *rand.Rand, lo, hi time.Duration) time.Duration {
	return lo + time.Duration(rng.Int64N(int64(hi-lo)))
}

// nextPhase picks a stream's next phase; dense phases are short so that
// a stream makes a few hundred checks over weeks.
func nextPhase(rng *rand.Rand) simPhase {
	switch x := rng.IntN(20); {
	case x < 7:
		return simPhase{6 * time.Hour, randDur(rng, 12*time.Hour, 4*24*time.Hour), "up"}
	case x < 10:
		return simPhase{45 * time.Minute, randDur(rng, 2*time.Hour, 8*time.Hour), []string{"up", "down", "slow"}[rng.IntN(3)]}
	case x < 13:
		return simPhase{time.Minute, randDur(rng, 5*time.Minute, 20*time.Minute), []string{"flap", "down", "up"}[rng.IntN(3)]}
	case x < 15:
		return simPhase{7 * time.Second, randDur(rng, time.Minute, 3*time.Minute), "flap"}
	case x < 17:
		return simPhase{0, randDur(rng, 6*time.Hour, 3*24*time.Hour), "gap"}
	}
	return simPhase{2 * time.Hour, randDur(rng, 6*time.Hour, 2*24*time.Hour), []string{"down", "slow", "flap"}[rng.IntN(3)]}
}

var simErrors = []struct {
	code int
	err  string
}{{503, "HTTP 503"}, {500, "HTTP 500"}, {0, "timeout after 10s"}, {0, "connection refused"}, {404, "HTTP 404"}}

// simResult is one check's result in a phase.
func simResult(rng *rand.Rand, behave string, at time.Time, https bool) Result {
	if behave == "flap" {
		behave = []string{"up", "down", "slow", "down"}[rng.IntN(4)]
	}
	if behave == "up" && rng.IntN(40) == 0 {
		behave = "down"
	}
	lat := time.Duration(rng.ExpFloat64()*120) * time.Millisecond
	if rng.IntN(50) == 0 {
		lat = time.Duration(rng.Int64N(70000)) * time.Millisecond
	}
	r := Result{Up: true, StatusCode: 200, Latency: lat, Attempts: 1}
	if lat > 20*time.Millisecond {
		r.DNS, r.Connect = lat/10, lat/5
		r.FirstByte = lat * 9 / 10
		if https {
			r.TLS = lat / 4
		}
	}
	switch behave {
	case "down":
		e := simErrors[rng.IntN(len(simErrors))]
		r.Up, r.StatusCode, r.Err, r.Attempts = false, e.code, e.err, 1+rng.IntN(3)
	case "slow":
		r.Slow, r.Latency = true, 1500*time.Millisecond+lat
		r.Err = "slow: " + r.Latency.Round(time.Millisecond).String() + " > max 1s"
	}
	if https && r.StatusCode != 0 {
		expires := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
		d := int(expires.Sub(at) / (24 * time.Hour))
		r.TLSDaysLeft, r.TLSExpires = &d, expires
	}
	return r
}

// simulate returns the events of a simulated history from t0 over span,
// ordered by arrival.
func simulate(seed uint64, t0 time.Time, span time.Duration) []simEvent {
	rng := rand.New(rand.NewPCG(seed, seed^0x5eed))
	var evs []simEvent
	end := t0.Add(span)
	for si, st := range simSites {
		for _, loc := range st.locs {
			at := t0.Add(time.Duration(rng.Int64N(int64(time.Hour))))
			for at.Before(end) {
				ph := nextPhase(rng)
				stop := at.Add(ph.span)
				if ph.behave == "gap" {
					at = stop
					continue
				}
				for ; at.Before(stop) && at.Before(end); at = at.Add(ph.interval + time.Duration(rng.IntN(900))*time.Millisecond) {
					res := simResult(rng, ph.behave, at, st.https)
					arrive := at.Add(res.Latency)
					if loc != LocationLocal {
						arrive = at.Add(time.Duration(rng.IntN(3000)) * time.Millisecond)
						if rng.IntN(40) == 0 { // a result hours late
							arrive = at.Add(randDur(rng, time.Hour, 5*time.Hour))
						}
					}
					evs = append(evs, simEvent{arrive: arrive, kind: simRecord, site: si, loc: loc, at: at, res: res})
				}
			}
		}
	}
	for at := t0.Add(randDur(rng, time.Hour, 5*time.Hour)); at.Before(end); at = at.Add(randDur(rng, 3*time.Hour, 14*time.Hour)) {
		evs = append(evs, simEvent{arrive: at, kind: simPrune})
		if rng.IntN(3) == 0 {
			evs = append(evs, simEvent{arrive: at.Add(randDur(rng, time.Minute, 3*time.Hour)), kind: simCompact})
		}
	}
	compares := []time.Time{end}
	for range 4 {
		compares = append(compares, t0.Add(randDur(rng, span/4, span)))
	}
	for _, at := range compares {
		p := &simProbe{
			limits: [3]int{5 + rng.IntN(300), 3 + rng.IntN(120), 2 + rng.IntN(50)},
			since:  t0.Add(time.Duration(rng.Int64N(int64(span)))),
			before: t0.Add(time.Duration(rng.Int64N(int64(span)))),
			step:   []string{"7m", "3h", "2d", "90m", "1d"}[rng.IntN(5)],
		}
		evs = append(evs, simEvent{arrive: at, kind: simCompare, probe: p})
	}
	slices.SortStableFunc(evs, func(a, b simEvent) int { return a.arrive.Compare(b.arrive) })
	return evs
}
