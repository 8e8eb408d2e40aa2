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

// Location states in GET /locations.
const (
	LocationLive        = "live"
	LocationUnavailable = "unavailable"
)

// LocationInfo is one location in GET /locations.
type LocationInfo struct {
	// Name is the location's name.
	Name string `json:"name"`
	// State is "live" or "unavailable".
	State string `json:"state"`
	// Own is true for the location the serve process checks from.
	Own bool `json:"own,omitempty"`
	// Agents are the agents heard from this location.
	Agents []AgentInfo `json:"agents"`
	// LastHeartbeat is the latest heartbeat of any of its agents (zero
	// for the serve process's own location).
	LastHeartbeat time.Time `json:"last_heartbeat"`
}

// AgentInfo is one agent of a location.
type AgentInfo struct {
	// ID is the agent's id (unique per process start).
	ID string `json:"id"`
	// State is "live" or "unavailable".
	State string `json:"state"`
	// LastHeartbeat is its latest heartbeat.
	LastHeartbeat time.Time `json:"last_heartbeat"`
}

// locationRegistry knows the locations: the process's own (always live)
// and every location an agent announced, with each agent's last
// heartbeat. It lives in memory: each replica hears every heartbeat.
type locationRegistry struct {
	own   string
	every time.Duration

	mu     sync.Mutex
	agents map[string]map[string]time.Time // location → agent → last heartbeat
	down   map[string]bool                 // locations last reported unavailable
}

func newLocationRegistry(own string, every time.Duration) *locationRegistry {
	if own == "" {
		own = LocationLocal
	}
	if every <= 0 {
		every = DefaultHeartbeat
	}
	return &locationRegistry{own: own, every: every, agents: map[string]map[string]time.Time{}, down: map[string]bool{}}
}

// heartbeat records an agent's heartbeat at at.
func (r *locationRegistry) heartbeat(loc, agent string, at time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.agents[loc]
	if m == nil {
		m = map[string]time.Time{}
		r.agents[loc] = m
	}
	if at.After(m[agent]) {
		m[agent] = at
	}
}

// known says whether loc is the own location or an agent announced it.
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
		if r.agentLive(at, now) {
			return true
		}
	}
	return false
}

func (r *locationRegistry) agentLive(at, now time.Time) bool {
	return now.Sub(at) <= time.Duration(LostAfter)*r.every
}

// changes returns the locations that became unavailable (lost) or live
// again (back) since the last call, in name order.
func (r *locationRegistry) changes(now time.Time) (lost, back []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for loc := range r.agents {
		live := r.liveLocked(loc, now)
		switch {
		case !live && !r.down[loc]:
			r.down[loc] = true
			lost = append(lost, loc)
		case live && r.down[loc]:
			delete(r.down, loc)
			back = append(back, loc)
		}
	}
	slices.Sort(lost)
	slices.Sort(back)
	return lost, back
}

// list describes every location, the own one first, then by name.
func (r *locationRegistry) list(now time.Time) []LocationInfo {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := []LocationInfo{{Name: r.own, State: LocationLive, Own: true, Agents: []AgentInfo{}}}
	names := make([]string, 0, len(r.agents))
	for loc := range r.agents {
		if loc != r.own {
			names = append(names, loc)
		}
	}
	slices.Sort(names)
	for _, loc := range names {
		li := LocationInfo{Name: loc, State: LocationUnavailable, Agents: []AgentInfo{}}
		for id, at := range r.agents[loc] {
			a := AgentInfo{ID: id, State: LocationUnavailable, LastHeartbeat: at.UTC()}
			if r.agentLive(at, now) {
				a.State = LocationLive
				li.State = LocationLive
			}
			if at.After(li.LastHeartbeat) {
				li.LastHeartbeat = at.UTC()
			}
			li.Agents = append(li.Agents, a)
		}
		slices.SortFunc(li.Agents, func(a, b AgentInfo) int { return strings.Compare(a.ID, b.ID) })
		out = append(out, li)
	}
	return out
}
