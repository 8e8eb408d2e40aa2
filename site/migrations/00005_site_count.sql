-- +goose Up
-- The number of sites, the sum of n over 16 shards (id mod 16;
-- platform/sqldb/counter.go), written by every insert and delete of a
-- site in its transaction: the dashboard's overview reads it on every
-- request, and on PostgreSQL COUNT(*) FROM sites reads every row version.
CREATE TABLE site_count (
	shard INTEGER PRIMARY KEY,
	n BIGINT NOT NULL
);
INSERT INTO site_count (shard, n) SELECT id % 16, COUNT(*) FROM sites GROUP BY id % 16;

-- +goose Down
DROP TABLE site_count;
