-- +goose Up
CREATE TABLE channels (
	id {{ID}},
	name TEXT NOT NULL UNIQUE,
	kind TEXT NOT NULL,
	settings TEXT NOT NULL,
	events TEXT NOT NULL,
	tags TEXT NOT NULL,
	is_default INTEGER NOT NULL,
	enabled INTEGER NOT NULL,
	group_after INTEGER NOT NULL,
	concurrency INTEGER NOT NULL,
	remind_every BIGINT NOT NULL,
	template TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL,
	last_success_at BIGINT,
	last_error TEXT NOT NULL DEFAULT '',
	last_error_at BIGINT
);

-- One row per event routed, so a redelivered event is routed once.
CREATE TABLE routed_events (
	event_id TEXT PRIMARY KEY,
	routed_at BIGINT NOT NULL
);

-- Which channels were told a problem of a site began (family down or
-- degraded), so its end goes to the same ones; also the reminder and
-- acknowledgement state.
CREATE TABLE alerts (
	site_id BIGINT NOT NULL,
	family TEXT NOT NULL,
	channel_id BIGINT NOT NULL,
	incident TEXT NOT NULL,
	opened_at BIGINT NOT NULL,
	reminded_at BIGINT NOT NULL,
	acked_at BIGINT,
	message TEXT NOT NULL,
	PRIMARY KEY (site_id, family, channel_id)
);

-- The per-channel queue: pending until sent (then deleted) or dead.
CREATE TABLE deliveries (
	id {{ID}},
	channel_id BIGINT NOT NULL,
	event_id TEXT NOT NULL,
	site_id BIGINT NOT NULL,
	message TEXT NOT NULL,
	status TEXT NOT NULL,
	attempts INTEGER NOT NULL DEFAULT 0,
	next_at BIGINT NOT NULL,
	claimed_until BIGINT NOT NULL DEFAULT 0,
	last_error TEXT NOT NULL DEFAULT '',
	created_at BIGINT NOT NULL,
	UNIQUE (channel_id, event_id)
);
CREATE INDEX deliveries_channel ON deliveries (channel_id, status, id);

-- +goose Down
DROP TABLE deliveries;
DROP TABLE alerts;
DROP TABLE routed_events;
DROP TABLE channels;
