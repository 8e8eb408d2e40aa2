package monitor

import (
	"cmp"
	"slices"
	"testing"
)

// readStoredRollups returns every rollup bucket as the readers see it:
// rollups rows and packed buckets added up.
func readStoredRollups(t *testing.T, s *Service) map[rollupKey]*rollup {
	t.Helper()
	out := readAllRollups(t, s)
	rows, err := s.db.Query(`SELECT site_id, res, start, data FROM rollup_packs`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			site, start int64
			res         string
			data        []byte
		)
		if err := rows.Scan(&site, &res, &start, &data); err != nil {
			t.Fatal(err)
		}
		bs, err := decodePack(data, packSpan(res)/resSize(res))
		if err != nil {
			t.Fatalf("pack %d/%s/%d: %v", site, res, start, err)
		}
		for _, b := range bs {
			k := rollupKey{site, res, start + b.idx*resSize(res)}
			if r := out[k]; r != nil {
				r.merge(b.r)
			} else {
				out[k] = b.r
			}
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// countBuckets counts the stored buckets of res before a time.
func countBuckets(t *testing.T, s *Service, res string, before int64) int {
	t.Helper()
	n := 0
	for k := range readStoredRollups(t, s) {
		if k.res == res && k.bucket < before {
			n++
		}
	}
	return n
}

// readStoredChecks returns every stored check, rows and blocks, by id.
func readStoredChecks(t testing.TB, s *Service) []storedCheck {
	t.Helper()
	rows, err := s.db.Query(`SELECT ` + checkCols + ` FROM checks`)
	if err != nil {
		t.Fatal(err)
	}
	var out []storedCheck
	for rows.Next() {
		c, err := scanCheck(rows)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	rows.Close()
	blocks, err := s.db.Query(`SELECT site_id, hour, location, n, data FROM check_blocks`)
	if err != nil {
		t.Fatal(err)
	}
	defer blocks.Close()
	for blocks.Next() {
		var (
			k    blockKey
			n    int
			data []byte
		)
		if err := blocks.Scan(&k.site, &k.hour, &k.loc, &n, &data); err != nil {
			t.Fatal(err)
		}
		cs, err := decodeBlock(k.hour, data)
		if err != nil || len(cs) != n {
			t.Fatalf("block %+v: %d checks of %d, %v", k, len(cs), n, err)
		}
		for _, c := range cs {
			if blockHour(c.At) != k.hour {
				t.Fatalf("block %+v holds a check at %d", k, c.At)
			}
			out = append(out, storedCheck{site: k.site, loc: k.loc, blockCheck: c})
		}
	}
	if err := blocks.Err(); err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(out, func(a, b storedCheck) int { return cmp.Compare(a.ID, b.ID) })
	return out
}
