package monitor

import (
	"slices"
	"strings"
	"sync"
	"time"
)

// DefaultHeartbeat is how often agents announce themselves; a location
// none of whose agents was heard for LostAfter heartbeats is unavailable.
const DefaultHeartbeat = 5 * time.Second

// LostAfter is how many heartbeats a location may miss before it is
// unavailable.
const LostAfter = 3

// agentForget is how long an agent that stopped is still listed (as
// unavailable): agents get a new id at every start, so the list would
// otherwise grow with every restart. Its location stays known.
const agentForget = time.Hour

// Location states in GET /locations.
const (
	LocationLive        = "live"
	LocationUnavailable = "unavailable"
)

// LocationInfo is one location in GET /locations.
type LocationInfo struct {
	// Name is the location's name.
	Name string `json:"name"`
	// State is "live" or "unavailable": the cluster's decision, the same
	// on every replica (docs/locations.md#liveness).
	State string `json:"state"`
	// Own is true for the location the serve process checks from.
	Own bool `json:"own,omitempty"`
	// Agents are the agents heard from this location (those silent for an
	// hour are forgotten).
	Agents []AgentInfo `json:"agents"`
	// LastHeartbeat is the latest heartbeat of any of its agents (zero
	// for the serve process's own location when no agent runs there).
	LastHeartbeat time.Time `json:"last_heartbeat"`
}

// AgentInfo is one agent of a location.
type AgentInfo struct {
	// ID is the agent's id (unique per process start).
	ID string `json:"id"`
	// State is "live" or "unavailable" (heard within 3 heartbeats or not).
	State string `json:"state"`
	// LastHeartbeat is its latest heartbeat.
	LastHeartbeat time.Time `json:"last_heartbeat"`
}

// agentKey names one agent of one location.
type agentKey struct{ loc, agent string }

// locationRegistry is a replica's view of the agents' heartbeats: the
// ones it heard (every replica hears every heartbeat) merged with those
// in the monitor database (written by every replica's liveness pass). It
// answers the hot-path questions (is a location live, may a site name
// it) without a query; the decision that a location is lost or back, and
// GET /locations, are taken from the database (liveness.go), so that
// every replica agrees and each change is published once.
type locationRegistry struct {
	own   string
	every time.Duration
	// wake asks the liveness pass to run now: an agent or a location was
	// heard for the first time (or again after it went silent).
	wake chan struct{}

	mu      sync.Mutex
	agents  map[string]map[string]time.Time // location → agent → last heartbeat
	flushed map[agentKey]time.Time          // the latest heartbeat the database holds
}

func newLocationRegistry(own string, every time.Duration) *locationRegistry {
	if own == "" {
		own = LocationLocal
	}
	if every <= 0 {
		every = DefaultHeartbeat
	}
	return &locationRegistry{own: own, every: every, wake: make(chan struct{}, 1),
		agents: map[string]map[string]time.Time{}, flushed: map[agentKey]time.Time{}}
}

// heartbeat records an agent's heartbeat at at. A heartbeat from an agent
// or location not heard before, or from a location silent until now,
// wakes the liveness pass, so a new location is known (and a lost one
// back) at once rather than at the next pass.
func (r *locationRegistry) heartbeat(loc, agent string, at time.Time) {
	r.mu.Lock()
	m := r.agents[loc]
	if m == nil {
		m = map[string]time.Time{}
		r.agents[loc] = m
	}
	prev, seen := m[agent]
	news := !seen || !r.liveLocked(loc, at)
	if at.After(prev) {
		m[agent] = at
	}
	r.mu.Unlock()
	if news {
		select {
		case r.wake <- struct{}{}:
		default:
		}
	}
}

// known says whether loc is the own location or an agent announced it
// (to this replica or, through the database, to another).
func (r *locationRegistry) known(loc string) bool {
	if loc == r.own {
		return true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.agents[loc]
	return ok
}

// live says whether loc is the own location or one of its agents was
// heard within LostAfter heartbeats before now.
func (r *locationRegistry) live(loc string, now time.Time) bool {
	if loc == r.own {
		return true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.liveLocked(loc, now)
}

func (r *locationRegistry) liveLocked(loc string, now time.Time) bool {
	for _, at := range r.agents[loc] {
		if agentLive(at, now, r.every) {
			return true
		}
	}
	return false
}

// agentLive says whether an agent last heard at at is live at now.
func agentLive(at, now time.Time, every time.Duration) bool {
	return now.Sub(at) <= time.Duration(LostAfter)*every
}

// heartbeatRow is one agent's latest heartbeat, as the database keeps it.
type heartbeatRow struct {
	Location, Agent string
	At              int64 // unix ms
}

// pending returns the heartbeats heard here that the database does not
// hold yet, ordered by location and agent (the order the liveness pass
// writes, and so locks, them in).
func (r *locationRegistry) pending() []heartbeatRow {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []heartbeatRow
	for loc, m := range r.agents {
		for agent, at := range m {
			if at.After(r.flushed[agentKey{loc, agent}]) {
				out = append(out, heartbeatRow{Location: loc, Agent: agent, At: at.UnixMilli()})
			}
		}
	}
	slices.SortFunc(out, func(a, b heartbeatRow) int {
		if c := strings.Compare(a.Location, b.Location); c != 0 {
			return c
		}
		return strings.Compare(a.Agent, b.Agent)
	})
	return out
}

// merge takes in the database's view after a liveness pass: the
// locations it knows and every agent's latest heartbeat (written, the
// rows are flushed). Agents the database forgot, silent for agentForget
// before now, are forgotten here too.
func (r *locationRegistry) merge(locations []string, rows []heartbeatRow, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	inDB := make(map[agentKey]bool, len(rows))
	for _, loc := range locations {
		if r.agents[loc] == nil {
			r.agents[loc] = map[string]time.Time{}
		}
	}
	for _, row := range rows {
		at, k := time.UnixMilli(row.At), agentKey{row.Location, row.Agent}
		inDB[k] = true
		m := r.agents[row.Location]
		if m == nil {
			m = map[string]time.Time{}
			r.agents[row.Location] = m
		}
		if at.After(m[row.Agent]) {
			m[row.Agent] = at
		}
		if at.After(r.flushed[k]) {
			r.flushed[k] = at
		}
	}
	for loc, m := range r.agents {
		for agent, at := range m {
			if k := (agentKey{loc, agent}); !inDB[k] && now.Sub(at) > agentForget {
				delete(m, agent)
				delete(r.flushed, k)
			}
		}
	}
}
