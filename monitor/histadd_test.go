package monitor

import (
	"context"
	"math/rand/v2"
	"testing"

	"upmon/platform/sqldb"
	"upmon/platform/sqldb/sqldbtest"
)

// TestHistAddInSQLMergesAsGo checks the database's upmon_hist_add (the
// Go function registered with SQLite, or the PostgreSQL function of the
// migration when UPMON_TEST_POSTGRES_URL is set) against the Go merge of
// the decoded histograms, on random histograms and the edge cases (empty,
// the open last bin, counts past 32 bits).
func TestHistAddInSQLMergesAsGo(t *testing.T) {
	db, err := sqldb.Open(context.Background(), sqldbtest.Config(t), "monitor", Migrations())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rnd := rand.New(rand.NewPCG(1, 2))
	randHist := func() map[int]int64 {
		h := map[int]int64{}
		for range rnd.IntN(5) {
			h[rnd.IntN(len(latencyBounds)+1)] += 1 + rnd.Int64N(1000)
		}
		return h
	}
	cases := [][2]map[int]int64{
		{{}, {}},
		{{}, {3: 1}},
		{{25: 7}, {}},
		{{0: 1, 25: 1}, {0: 2, 12: 5}},
		{{4: 1 << 40}, {4: 1 << 40, 5: 1}},
	}
	for range 200 {
		cases = append(cases, [2]map[int]int64{randHist(), randHist()})
	}
	for _, c := range cases {
		a, b := encodeHist(c[0]), encodeHist(c[1])
		want := &rollup{}
		want.merge(&rollup{Hist: c[0]})
		want.merge(&rollup{Hist: c[1]})
		var got string
		if err := db.QueryRowContext(context.Background(), `SELECT `+histAddFunc+`($1, $2)`, a, b).Scan(&got); err != nil {
			t.Fatalf("%s(%q, %q): %v", histAddFunc, a, b, err)
		}
		if w := encodeHist(want.Hist); got != w {
			t.Fatalf("%s %s(%q, %q) = %q, want %q", db.Dialect, histAddFunc, a, b, got, w)
		}
	}
}
