-- +goose Up
-- Compacted history (monitor/compact.go). The write path still inserts
-- one checks row per check and one rollups row per bucket; the hourly
-- prune job moves what is older than a few hours (checks, minute
-- rollups) or days (hour and day rollups) into these tables. Readers
-- read both, so rows written before this migration stay readable until
-- the job has moved them: nothing is converted here.

-- A site's checks of one UTC hour from one location, in one encoded
-- value: the runs of identical outcomes, and each check's id, time and
-- latencies (monitor/checkblock.go).
CREATE TABLE check_blocks (
	site_id BIGINT NOT NULL,
	hour BIGINT NOT NULL,
	location TEXT NOT NULL,
	n INTEGER NOT NULL,
	data {{BLOB}} NOT NULL,
	PRIMARY KEY (site_id, hour, location)
);
CREATE INDEX check_blocks_hour ON check_blocks (hour);

-- A site's rollup buckets of one resolution within one span (an hour of
-- minutes, a day of hours, 32 days of days), in one encoded value
-- (monitor/rolluppack.go).
CREATE TABLE rollup_packs (
	site_id BIGINT NOT NULL,
	res TEXT NOT NULL,
	start BIGINT NOT NULL,
	data {{BLOB}} NOT NULL,
	PRIMARY KEY (site_id, res, start)
);
CREATE INDEX rollup_packs_time ON rollup_packs (res, start);

-- +goose Down
DROP TABLE rollup_packs;
DROP TABLE check_blocks;
