-- +goose Up
-- The sites the dashboard's overview lists first (not up, or never
-- checked) or counts (paused) are few: this partial index lets it read
-- them without scanning every state row.
CREATE INDEX site_state_attention ON site_state (site_id) WHERE checked_at = 0 OR state <> 'up' OR paused;

-- +goose Down
DROP INDEX site_state_attention;
