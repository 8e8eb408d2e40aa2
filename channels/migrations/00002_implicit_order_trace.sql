-- +goose Up
-- managed_by names what owns a channel's name and settings: '' for a
-- channel made through the API, 'SlackWebhookURL' for the implicit Slack
-- channel that the secret of that name defines.
ALTER TABLE channels ADD COLUMN managed_by TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX channels_managed_by ON channels (managed_by) WHERE managed_by <> '';

-- The highest state sequence routed per site and family (down, degraded):
-- an older event that arrives after a newer one (two replicas routing a
-- site's events at once) is stale and dropped, so a channel never tells
-- a site's states out of order.
CREATE TABLE route_seqs (
	site_id BIGINT NOT NULL,
	family TEXT NOT NULL,
	seq BIGINT NOT NULL,
	PRIMARY KEY (site_id, family)
);

-- The W3C traceparent of the routing that queued a delivery, so its send
-- joins the trace of the check that caused it.
ALTER TABLE deliveries ADD COLUMN traceparent TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE deliveries DROP COLUMN traceparent;
DROP TABLE route_seqs;
DROP INDEX channels_managed_by;
ALTER TABLE channels DROP COLUMN managed_by;
