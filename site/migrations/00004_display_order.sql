-- +goose Up
-- The dashboard's overview lists sites by display name (the name, else the
-- URL, case-folded) and reads one page of them in this order.
CREATE INDEX sites_display_order ON sites ((lower(CASE WHEN name <> '' THEN name ELSE url END)), id);

-- +goose Down
DROP INDEX sites_display_order;
