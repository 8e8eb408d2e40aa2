-- +goose Up
-- Counts the changes of a site's settings (site-updated events handled),
-- so every replica knows when its cached copy of the site is stale.
ALTER TABLE site_state ADD COLUMN site_version BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE site_state DROP COLUMN site_version;
