package monitor

import (
	"reflect"
	"strings"
	"testing"
)

// quorumStep is one event of a quorum scenario: a check result from a
// location ("eu:down", "us:up", "ap:slow"), or a liveness change
// ("ap:lost", "ap:back").
type quorumStep string

// runQuorum drives decideQuorum the way the record transaction does:
// each result goes through the location's own thresholds first, then the
// site is decided over the live locations. It returns the site's
// transitions, each as "down (note)" or "up (note)", and the final
// verdict.
func runQuorum(t *testing.T, locs []string, quorum, fail, succ int, steps []quorumStep) ([]string, quorumVerdict) {
	t.Helper()
	views := make([]locationView, len(locs))
	idx := map[string]int{}
	for i, n := range locs {
		views[i] = locationView{Name: n, Live: true, State: siteState{Up: true}} // as ensureState creates it
		idx[n] = i
	}
	up, degraded := true, false
	var out []string
	var last quorumVerdict
	for at, s := range steps {
		name, what, _ := strings.Cut(string(s), ":")
		i, ok := idx[name]
		if !ok {
			t.Fatalf("step %q: unknown location", s)
		}
		switch what {
		case "lost":
			views[i].Live = false
		case "back":
			views[i].Live = true
		case "up", "down", "slow":
			r := Result{Up: what != "down", Slow: what == "slow"}
			views[i].State.apply(r, int64(at+1), fail, succ)
		default:
			t.Fatalf("step %q: unknown event", s)
		}
		last = decideQuorum(views, quorum)
		if !last.Decided {
			continue
		}
		if last.Up != up {
			out = append(out, map[bool]string{true: "up", false: "down"}[last.Up]+" ("+last.note()+")")
			up = last.Up
		}
		if last.Degraded != degraded {
			out = append(out, map[bool]string{true: "degraded", false: "fast"}[last.Degraded])
			degraded = last.Degraded
		}
	}
	return out, last
}

func TestDecideQuorum(t *testing.T) {
	three := []string{"eu", "us", "ap"}
	cases := []struct {
		name       string
		locs       []string
		quorum     int
		fail, succ int
		steps      []quorumStep
		want       []string
	}{
		{name: "one location is today's behaviour", locs: []string{"local"}, fail: 1, succ: 1,
			steps: []quorumStep{"local:down", "local:down", "local:up"},
			want:  []string{"down (1 of 1 location: local)", "up (1 of 1 location: local)"}},
		{name: "one of three down: no alert with quorum 2", locs: three, quorum: 2, fail: 1, succ: 1,
			steps: []quorumStep{"eu:down", "eu:down", "us:up", "ap:up"}},
		{name: "two of three down: exactly one alert, one recovery", locs: three, quorum: 2, fail: 1, succ: 1,
			steps: []quorumStep{"eu:down", "us:down", "ap:up", "eu:down", "us:down", "eu:up", "us:up"},
			want:  []string{"down (2 of 3 locations: eu, us)", "up (2 of 3 locations: eu, ap)"}},
		{name: "all three down and back", locs: three, fail: 1, succ: 1,
			steps: []quorumStep{"eu:down", "us:down", "ap:down", "eu:up", "us:up", "ap:up"},
			want:  []string{"down (2 of 3 locations: eu, us)", "up (2 of 3 locations: eu, us)"}},
		{name: "default quorum is a majority", locs: []string{"a", "b", "c", "d"}, fail: 1, succ: 1,
			steps: []quorumStep{"a:down", "b:down", "c:down"},
			want:  []string{"down (3 of 4 locations: a, b, c)"}},
		{name: "thresholds apply per location first", locs: three, quorum: 2, fail: 2, succ: 1,
			// eu and us each fail once, then eu twice: only eu crosses
			// its threshold, so no quorum until us fails again.
			steps: []quorumStep{"eu:down", "us:down", "eu:down", "us:up", "us:down", "us:down"},
			want:  []string{"down (2 of 3 locations: eu, us)"}},
		{name: "a dead agent leaves the quorum and never alerts", locs: three, quorum: 2, fail: 1, succ: 1,
			steps: []quorumStep{"eu:down", "eu:lost", "us:up", "ap:up", "eu:back"}},
		{name: "an unavailable location that saw it down no longer counts", locs: three, quorum: 2, fail: 1, succ: 1,
			steps: []quorumStep{"eu:down", "us:down", "us:lost"},
			want:  []string{"down (2 of 3 locations: eu, us)", "up (1 of 2 locations: ap)"}},
		{name: "quorum capped at the live locations", locs: three, quorum: 3, fail: 1, succ: 1,
			steps: []quorumStep{"ap:lost", "eu:down", "us:down"},
			want:  []string{"down (2 of 2 locations: eu, us)"}},
		{name: "no live location keeps the state", locs: []string{"eu", "us"}, quorum: 1, fail: 1, succ: 1,
			steps: []quorumStep{"eu:down", "eu:lost", "us:lost", "us:back"},
			want:  []string{"down (1 of 2 locations: eu)", "up (1 of 1 location: us)"}},
		{name: "degraded by quorum", locs: three, quorum: 2, fail: 1, succ: 1,
			steps: []quorumStep{"eu:slow", "us:slow", "eu:up"},
			want:  []string{"degraded", "fast"}},
		{name: "a location not checked yet counts as up", locs: three, quorum: 2, fail: 1, succ: 1,
			steps: []quorumStep{"eu:down"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, _ := runQuorum(t, c.locs, c.quorum, c.fail, c.succ, c.steps)
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("transitions = %q, want %q", got, c.want)
			}
		})
	}
}

func TestEffectiveQuorum(t *testing.T) {
	for _, c := range []struct{ quorum, n, want int }{
		{0, 1, 1}, {0, 2, 2}, {0, 3, 2}, {0, 4, 3}, {0, 5, 3}, {1, 3, 1}, {3, 3, 3},
	} {
		if got := effectiveQuorum(c.quorum, c.n); got != c.want {
			t.Errorf("effectiveQuorum(%d, %d) = %d, want %d", c.quorum, c.n, got, c.want)
		}
	}
}
