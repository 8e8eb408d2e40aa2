package outbox

import (
	"maps"
	"slices"
)

// Service returns the name of the database (and so of the service) whose
// outbox the relay publishes.
func (r *Relay) Service() string { return r.cfg.DB.Name }

// Topics returns the topics the relay publishes to, sorted.
func (r *Relay) Topics() []string { return slices.Sorted(maps.Keys(r.cfg.Publishers)) }
