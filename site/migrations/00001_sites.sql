-- +goose Up
CREATE TABLE sites (
	id {{ID}},
	url TEXT NOT NULL UNIQUE,
	created_at BIGINT NOT NULL
);

CREATE TABLE outbox (
	id {{ID}},
	event_id TEXT NOT NULL UNIQUE,
	topic TEXT NOT NULL,
	payload TEXT NOT NULL,
	created_at BIGINT NOT NULL
);

-- +goose Down
DROP TABLE outbox;
DROP TABLE sites;
