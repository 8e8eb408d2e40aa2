package channels

import (
	"testing"
	"time"
)

func TestDecideOrder(t *testing.T) {
	const wait = 30 * time.Second
	cases := []struct {
		name     string
		known    bool
		cur, seq int64
		waited   time.Duration
		want     orderVerdict
	}{
		{"first event of a site", false, 0, 1, 0, orderRoute},
		{"first event seen, later in its sequence: its predecessors may be in flight", false, 0, 2, time.Second, orderWait},
		{"first event seen, later in its sequence, waited out", false, 0, 57, wait, orderRoute},
		{"the next one", true, 4, 5, 0, orderRoute},
		{"a gap: wait for the predecessor", true, 4, 6, time.Second, orderWait},
		{"a gap waited out: go without it", true, 4, 6, wait, orderRoute},
		{"the same again", true, 5, 5, 0, orderStale},
		{"older", true, 5, 3, time.Hour, orderStale},
	}
	for _, tc := range cases {
		if got := decideOrder(tc.known, tc.cur, tc.seq, tc.waited, wait); got != tc.want {
			t.Errorf("%s: decideOrder(%v, %d, %d, %v) = %v, want %v", tc.name, tc.known, tc.cur, tc.seq, tc.waited, got, tc.want)
		}
	}
}
