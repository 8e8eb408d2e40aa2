-- +goose Up
ALTER TABLE sites ADD COLUMN name TEXT NOT NULL DEFAULT '';
ALTER TABLE sites ADD COLUMN kind TEXT NOT NULL DEFAULT 'http';
ALTER TABLE sites ADD COLUMN settings TEXT NOT NULL DEFAULT '{}';
ALTER TABLE sites ADD COLUMN push_token TEXT;
CREATE UNIQUE INDEX sites_push_token ON sites (push_token);

-- +goose Down
DROP INDEX sites_push_token;
ALTER TABLE sites DROP COLUMN push_token;
ALTER TABLE sites DROP COLUMN settings;
ALTER TABLE sites DROP COLUMN kind;
ALTER TABLE sites DROP COLUMN name;
