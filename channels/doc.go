// Package channels is the notification channels service: channels as a
// resource (/channels), the routing of the monitor's events to them, and
// one delivery queue per channel.
//
// # Resource
//
// A channel is a kind (notify/kinds) with its settings, the events it
// wants, tags, default, enabled, group_after, concurrency, remind_every
// and an optional template. Its settings, secrets included, are stored in
// the service's own database ("channels"), in clear: that database has
// the same trust boundary as the data directory where platform/secrets
// keeps its 0600 file (or, on PostgreSQL, the database's own access
// control), and keeping them in one row lets every replica build the
// channel without a second store. Secrets never leave the service except
// to the sender: answers mask them (notify.Kind.Mask), logs and error
// texts are scrubbed of them (notify.Redact), and an update that sends a
// masked value back keeps the stored one.
//
// # Routing
//
// The router subscribes to uptime-transition, uptime-degraded and
// cert-expiring (durable subscriptions channels-transition,
// channels-degraded, channels-cert). For each event, in one transaction,
// it records the event id (a redelivered event is routed once), resolves
// the target channels (the site's named channels plus channels whose tags
// it has; else the default channels; enabled and wanting the event), and
// inserts one delivery row per channel. A problem (down, degraded) also
// records which channels were told (alerts); its end (up, recovered) goes
// to exactly those channels, whatever the routing says by then.
//
// # Delivery
//
// The queue is the deliveries table, not a JetStream subject per channel:
// grouping needs to see how many messages wait for a channel, the
// per-channel status (pending, dead letters) is a count, and dead letters
// stay listable and replayable per channel. Every replica runs one worker
// per channel (the channel list is reloaded every Poll, so a channel
// created on any replica is served everywhere); workers claim rows with a
// compare-and-set lease, so a row is sent by one replica at a time, and a
// replica that dies mid-send leaves a lease that runs out. Each worker
// has its own concurrency; per site only the oldest row may be in flight
// (order per site per channel). A retryable failure schedules the row
// after the backoff or the service's Retry-After (which also pauses the
// whole channel); a permanent refusal (400, 401, 403, 404, 410) or the
// last attempt makes it a dead letter.
//
// Storms: when more than group_after rows are ready for a channel whose
// slots are busy, the ready rows go as one grouped message with each
// site's latest state. The first message of a storm goes alone at once,
// and a channel that keeps up never has more than group_after waiting.
//
// Delivery is at least once: a row is deleted after the service accepted
// it; if the process dies between the acceptance and the delete, the row
// is sent again when its lease runs out (the one duplicate case).
//
// # Reminders and acknowledgement
//
// Remind (every RemindTick) queues "still down after …" for each open,
// unacknowledged down alert of a channel with remind_every; the delivery's
// event id names the reminder's number, so replicas do not double it.
// Ack marks the alerts acknowledged and sends PagerDuty an acknowledge.
package channels
