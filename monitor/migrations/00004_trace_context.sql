-- +goose Up
-- The W3C traceparent of the transaction that inserted the event (empty
-- when tracing is off); the relay publishes the event under it.
ALTER TABLE outbox ADD COLUMN trace_context TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE outbox DROP COLUMN trace_context;
