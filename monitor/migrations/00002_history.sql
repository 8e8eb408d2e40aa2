-- +goose Up
ALTER TABLE checks ADD COLUMN state TEXT NOT NULL DEFAULT '';
ALTER TABLE checks ADD COLUMN dns_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE checks ADD COLUMN connect_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE checks ADD COLUMN tls_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE checks ADD COLUMN first_byte_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE checks ADD COLUMN tls_days_left INTEGER;
ALTER TABLE checks ADD COLUMN attempts INTEGER NOT NULL DEFAULT 1;
CREATE INDEX checks_time ON checks (checked_at);

-- The reported state with its streaks, the schedule, and a ring of the
-- latest checks for the overview.
ALTER TABLE site_state ADD COLUMN state TEXT NOT NULL DEFAULT 'up';
ALTER TABLE site_state ADD COLUMN degraded BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE site_state ADD COLUMN dseq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE site_state ADD COLUMN fail_streak INTEGER NOT NULL DEFAULT 0;
ALTER TABLE site_state ADD COLUMN ok_streak INTEGER NOT NULL DEFAULT 0;
ALTER TABLE site_state ADD COLUMN slow_streak INTEGER NOT NULL DEFAULT 0;
ALTER TABLE site_state ADD COLUMN fast_streak INTEGER NOT NULL DEFAULT 0;
ALTER TABLE site_state ADD COLUMN last_up BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE site_state ADD COLUMN cert_notified INTEGER NOT NULL DEFAULT 0;
ALTER TABLE site_state ADD COLUMN recent TEXT NOT NULL DEFAULT '';
ALTER TABLE site_state ADD COLUMN kind TEXT NOT NULL DEFAULT 'http';
ALTER TABLE site_state ADD COLUMN interval_ms BIGINT NOT NULL DEFAULT 0;
ALTER TABLE site_state ADD COLUMN lease_ms BIGINT NOT NULL DEFAULT 0;
ALTER TABLE site_state ADD COLUMN paused BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE site_state ADD COLUMN next_check_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE site_state ADD COLUMN lease_until BIGINT NOT NULL DEFAULT 0;
ALTER TABLE site_state ADD COLUMN last_push_at BIGINT NOT NULL DEFAULT 0;
CREATE INDEX site_state_due ON site_state (next_check_at);

-- Per-site rollups: res is 'm' (minute), 'h' (hour) or 'd' (day); hist
-- counts latencies of successful checks per bucket of latencyBounds.
CREATE TABLE rollups (
	site_id BIGINT NOT NULL,
	res TEXT NOT NULL,
	bucket BIGINT NOT NULL,
	up_count INTEGER NOT NULL,
	down_count INTEGER NOT NULL,
	slow_count INTEGER NOT NULL,
	latency_sum BIGINT NOT NULL,
	latency_max BIGINT NOT NULL,
	hist TEXT NOT NULL,
	PRIMARY KEY (site_id, res, bucket)
);
CREATE INDEX rollups_time ON rollups (res, bucket);

-- Down periods, opened and closed in the transaction of the transition.
CREATE TABLE incidents (
	id {{ID}},
	site_id BIGINT NOT NULL,
	started_at BIGINT NOT NULL,
	ended_at BIGINT,
	reason TEXT NOT NULL,
	end_reason TEXT NOT NULL DEFAULT ''
);
CREATE INDEX incidents_site ON incidents (site_id, started_at);

CREATE TABLE maintenance (
	id {{ID}},
	site_ids TEXT NOT NULL,
	tags TEXT NOT NULL,
	starts_at BIGINT NOT NULL,
	ends_at BIGINT NOT NULL,
	weekly BOOLEAN NOT NULL,
	note TEXT NOT NULL,
	created_at BIGINT NOT NULL
);

-- +goose Down
DROP TABLE maintenance;
DROP TABLE incidents;
DROP TABLE rollups;
