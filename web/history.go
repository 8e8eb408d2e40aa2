package web

import "upmon/monitor"

// The monitor's history API, as the dashboard reads it. *monitor.Service
// implements MonitorSource with these types directly.
type (
	// SiteOverview is one site's latest state and recent history.
	SiteOverview = monitor.SiteOverview
	// RecentCheck is one check in SiteOverview.Recent.
	RecentCheck = monitor.RecentCheck
	// Check is one recorded check.
	Check = monitor.Check
	// ChecksParams select a site's recent checks.
	ChecksParams = monitor.ChecksParams
	// ChecksResponse is the answer of SiteChecks.
	ChecksResponse = monitor.ChecksResponse
	// UptimeParams select a site's uptime window.
	UptimeParams = monitor.UptimeParams
	// UptimeResponse is the answer of SiteUptime.
	UptimeResponse = monitor.UptimeResponse
	// Incident is one down period of a site.
	Incident = monitor.Incident
	// IncidentsParams select a site's incidents.
	IncidentsParams = monitor.IncidentsParams
	// IncidentsResponse is the answer of SiteIncidents.
	IncidentsResponse = monitor.IncidentsResponse
	// LatencyPoint aggregates the checks of one step of a latency series.
	LatencyPoint = monitor.LatencyPoint
	// LatencyParams select a latency series.
	LatencyParams = monitor.LatencyParams
	// LatencyResponse is the answer of SiteLatency.
	LatencyResponse = monitor.LatencyResponse
)

// The states a site can be in.
const (
	StateUp       = monitor.StateUp
	StateDown     = monitor.StateDown
	StateDegraded = monitor.StateDegraded
	StateUnknown  = monitor.StateUnknown
)

// EventOf converts a committed check, as the monitor reports it through
// monitor.Options.OnRecorded, into the event the live pages receive.
func EventOf(r monitor.Recorded) LiveEvent {
	return LiveEvent{SiteID: r.SiteID, State: r.State, CheckedAt: r.CheckedAt, LatencyMS: r.LatencyMS,
		StatusCode: r.StatusCode, Error: r.Error, Transition: r.Transition}
}
