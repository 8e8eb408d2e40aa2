-- +goose Up
-- The up/down state last told to notifiers: maintenance windows hold
-- notifications back, and a state still different when the window ends
-- is notified then.
ALTER TABLE site_state ADD COLUMN notified_up BOOLEAN NOT NULL DEFAULT TRUE;

-- +goose Down
ALTER TABLE site_state DROP COLUMN notified_up;
