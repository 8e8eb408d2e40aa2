-- +goose Up
-- The dashboard's overview summary used to read site_state, which every
-- check rewrites: on PostgreSQL its dead row versions and its statistics
-- (autovacuum's work) decided whether that read took 1 ms or 100. These
-- two small tables hold what the summary needs and change only when a
-- site's state row is created or deleted, its reported state changes or
-- its schedule settings change (monitor/attention.go):
--   site_attention: the sites not up, never checked or paused;
--   state_rows: the number of site_state rows, the sum of n over 16
--   shards (site_id mod 16; platform/sqldb/counter.go).
CREATE TABLE site_attention (
	site_id BIGINT PRIMARY KEY,
	state TEXT NOT NULL,
	paused BOOLEAN NOT NULL
);
INSERT INTO site_attention (site_id, state, paused)
	SELECT site_id, CASE WHEN checked_at = 0 THEN 'unknown' ELSE state END, paused FROM site_state
	WHERE checked_at = 0 OR state <> 'up' OR paused;
CREATE TABLE state_rows (
	shard INTEGER PRIMARY KEY,
	n BIGINT NOT NULL
);
INSERT INTO state_rows (shard, n) SELECT site_id % 16, COUNT(*) FROM site_state GROUP BY site_id % 16;
DROP INDEX site_state_attention;

-- +goose Down
CREATE INDEX site_state_attention ON site_state (site_id) WHERE checked_at = 0 OR state <> 'up' OR paused;
DROP TABLE state_rows;
DROP TABLE site_attention;
