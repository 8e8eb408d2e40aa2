// Package web is upmon's dashboard: server-rendered pages under
// /frontend/, the public status page (/status-page), SVG badges
// (/badge/{siteID}/status.svg and uptime.svg) and a live event stream
// (/frontend/events).
//
// Pages are html/template with the templates and static assets embedded;
// there is no build step. Every page works without JavaScript: adding,
// deleting (after a confirmation page), checking and editing settings are
// plain forms that redirect (303) or re-render with the service's error
// next to its field. The one script, static/app.js, only enhances: live
// updates, in-place forms through fetch, a delete dialog, the chart's
// readout. A strict Content-Security-Policy allows no inline script or
// style, and user data reaches pages only through contextual escaping
// (never template.HTML), SSE only through encoding/json.
//
// Data comes through narrow interfaces (SiteSource, MonitorSource,
// SettingsSource, ChannelSource) that the site, monitor and channels
// services implement (the last two through SiteSettingsStore and
// ChannelsStore). A page
// costs a fixed number of calls whatever the number of sites: the
// overview lists the sites and reads the monitor's Overview once (the two
// at the same time), sorts down-first, and renders only one page of 100
// rows; a site's page and its badges read that site's row alone
// (SiteOverviewOf). docs/performance.md has the overview's cost at 5,000
// sites.
//
// The settings forms show what a site has set (StoredSettings): a setting
// left unset is an empty field with its default as the placeholder. A
// save sends only the fields that changed, an emptied one as null, so an
// unset setting stays unset and keeps following the configured defaults.
//
// The channels page (/frontend/channels) builds each kind's form from
// the kinds registry: the fields of the kind's settings struct, its
// secrets, and which settings are required and what empty ones default
// to, found by validating (probeRequired). Secrets are write-only: a
// field never carries one, a stored one is its masked placeholder, and
// an empty field keeps it (the service skips omitted and masked
// secrets). Channel answers are read through their JSON (ChannelInfo), so
// fields the service adds, such as managed_by, are seen as they come.
//
// Live updates: the monitor reports each committed check (EventOf
// converts it) to Hub.Publish, which never blocks; each open stream has a
// bounded buffer, drops events when it is full and then tells the page to
// resync from /frontend/state.json. Streams send a retry hint and
// heartbeats; the page resyncs whenever its stream (re)opens, so a server
// restart loses nothing it shows.
//
// Protect wraps the whole server: http.CrossOriginProtection for every
// state-changing request (pages and JSON API), with the --cors-origins
// trusted, and CORS answers for exactly those origins on /site,
// /site/{id} and /status.
package web
