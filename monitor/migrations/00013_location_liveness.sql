-- +goose Up
-- Liveness shared by the replicas (docs/locations.md#liveness): each
-- agent's latest heartbeat, as heard by any replica, and each location's
-- availability, flipped by compare-and-set so that one replica publishes
-- each location-lost and location-back event.
CREATE TABLE locations (
	name TEXT PRIMARY KEY,
	available BOOLEAN NOT NULL DEFAULT TRUE,
	changed_at BIGINT NOT NULL DEFAULT 0,
	last_heartbeat BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE location_agents (
	location TEXT NOT NULL,
	agent TEXT NOT NULL,
	last_heartbeat BIGINT NOT NULL,
	PRIMARY KEY (location, agent)
);

-- +goose Down
DROP TABLE location_agents;
DROP TABLE locations;
