//go:build race

package monitor

// schedTestRace is true under the race detector; the scheduler test then
// runs fewer sites.
const schedTestRace = true
