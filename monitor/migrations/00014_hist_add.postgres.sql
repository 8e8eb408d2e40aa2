-- upmon_hist_add merges two encoded latency histograms ("bin:count,…",
-- bins ascending), as the Go function of the same name does on SQLite
-- (monitor/rollup.go): the rollups upsert adds a batch's histogram to the
-- stored one without reading the row first. PostgreSQL only: SQLite gets
-- the function from the driver.

-- +goose Up
-- +goose StatementBegin
CREATE FUNCTION upmon_hist_add(a TEXT, b TEXT) RETURNS TEXT
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
	SELECT COALESCE(string_agg(bin::text || ':' || n::text, ',' ORDER BY bin), '')
	FROM (SELECT split_part(part, ':', 1)::int AS bin, sum(split_part(part, ':', 2)::bigint) AS n
		FROM unnest(string_to_array(a || ',' || b, ',')) AS part
		WHERE part LIKE '%:%'
		GROUP BY 1) AS bins
$$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION upmon_hist_add(TEXT, TEXT);
