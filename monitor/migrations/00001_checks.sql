-- +goose Up
CREATE TABLE checks (
	id {{ID}},
	site_id BIGINT NOT NULL,
	up BOOLEAN NOT NULL,
	checked_at BIGINT NOT NULL,
	latency_ms INTEGER NOT NULL,
	status_code INTEGER NOT NULL,
	error TEXT NOT NULL
);
CREATE INDEX checks_site_time ON checks (site_id, checked_at);

-- site_state holds each site's current state, so /status never scans
-- checks. seq counts transitions; checked_at = 0 means never checked.
CREATE TABLE site_state (
	site_id BIGINT PRIMARY KEY,
	up BOOLEAN NOT NULL,
	checked_at BIGINT NOT NULL,
	seq BIGINT NOT NULL,
	latency_ms INTEGER NOT NULL,
	status_code INTEGER NOT NULL,
	error TEXT NOT NULL
);

CREATE TABLE outbox (
	id {{ID}},
	event_id TEXT NOT NULL UNIQUE,
	topic TEXT NOT NULL,
	payload TEXT NOT NULL,
	created_at BIGINT NOT NULL
);

-- +goose Down
DROP TABLE outbox;
DROP TABLE site_state;
DROP TABLE checks;
