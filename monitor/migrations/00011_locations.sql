-- +goose Up
-- Checks from several locations (docs/locations.md): each check names the
-- location it ran from; a site checked from more than one location keeps
-- one state row per location (its own streaks, thresholds applied), and
-- the site's state in site_state is decided by quorum over them.
ALTER TABLE checks ADD COLUMN location TEXT NOT NULL DEFAULT 'local';
CREATE TABLE location_state (
	site_id BIGINT NOT NULL,
	location TEXT NOT NULL,
	up BOOLEAN NOT NULL DEFAULT TRUE,
	degraded BOOLEAN NOT NULL DEFAULT FALSE,
	last_up BOOLEAN NOT NULL DEFAULT TRUE,
	checked_at BIGINT NOT NULL DEFAULT 0,
	seq BIGINT NOT NULL DEFAULT 0,
	dseq BIGINT NOT NULL DEFAULT 0,
	fail_streak INTEGER NOT NULL DEFAULT 0,
	ok_streak INTEGER NOT NULL DEFAULT 0,
	slow_streak INTEGER NOT NULL DEFAULT 0,
	fast_streak INTEGER NOT NULL DEFAULT 0,
	state TEXT NOT NULL DEFAULT 'unknown',
	latency_ms INTEGER NOT NULL DEFAULT 0,
	status_code INTEGER NOT NULL DEFAULT 0,
	error TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (site_id, location)
);

-- +goose Down
DROP TABLE location_state;
ALTER TABLE checks DROP COLUMN location;
