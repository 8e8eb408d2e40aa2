package app

import (
	"os"
	"runtime/debug"
)

// Go's garbage collector lets the heap grow to twice what is live before
// it collects (GOGC=100), and a sweep of every site's schedule (the
// check-all job) briefly holds the whole site list: at 100,000 sites the
// process peaked near 500 MB of resident memory with about 135 MB live.
// Unless the operator sets GOMEMLIMIT, upmon sets Go's soft memory limit
// from the number of sites (after each sweep), so the collector runs
// earlier as the heap nears what that many sites need instead of letting
// it double. It is soft: past it the collector works harder (its CPU
// share is capped by the runtime), nothing fails. GOMEMLIMIT=off turns
// it off.

// memoryLimitBase is the soft memory limit's part for the program itself.
const memoryLimitBase = 192 << 20

// memoryLimitPerSite is the soft memory limit's part for each site.
const memoryLimitPerSite = 1 << 10

// memoryLimitFor is the soft memory limit for n sites.
func memoryLimitFor(n int) int64 {
	return memoryLimitBase + int64(max(n, 0))*memoryLimitPerSite
}

// setMemoryLimit sets the soft memory limit for n sites, unless the
// environment's GOMEMLIMIT sets (or turns off) one.
func setMemoryLimit(n int) {
	if _, ok := os.LookupEnv("GOMEMLIMIT"); ok {
		return
	}
	debug.SetMemoryLimit(memoryLimitFor(n))
}
