package monitor

import (
	"bytes"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
)

// randomBlock returns checks of one hour with values from the ordinary
// to the extreme: any int64 must survive a block.
func randomBlock(rng *rand.Rand, hour int64, n int) []blockCheck {
	pick := func() int64 {
		switch rng.IntN(8) {
		case 0:
			return math.MaxInt64
		case 1:
			return math.MinInt64
		case 2:
			return -rng.Int64N(1000)
		}
		return rng.Int64N(3000)
	}
	errs := []string{"", "HTTP 503", "timeout after 10s", "слишком долго ⏱", "slow: 1.5s > max 1s"}
	id := rng.Int64N(1 << 40)
	cs := make([]blockCheck, n)
	for i := range cs {
		id += rng.Int64N(20000) - 100
		c := blockCheck{ID: id, At: hour + rng.Int64N(hourMS), LatencyMS: pick(), DNSMS: pick(), ConnectMS: pick(), TLSMS: pick(), FirstByte: pick()}
		c.Up = rng.IntN(3) > 0
		c.State = []string{"up", "down", "degraded", ""}[rng.IntN(4)]
		c.StatusCode = []int64{200, 503, 0, -1}[rng.IntN(4)]
		c.Error = errs[rng.IntN(len(errs))]
		c.Attempts = 1 + rng.Int64N(3)
		if rng.IntN(2) == 0 {
			c.HasDays, c.DaysLeft = true, pick()
		}
		if i > 0 && rng.IntN(3) > 0 { // runs of one outcome
			c.outcomeKey = cs[i-1].outcomeKey
		}
		cs[i] = c
	}
	sortBlockChecks(cs)
	return cs
}

func TestCheckBlockRoundTrip(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(7, 8))
	for _, n := range []int{1, 2, 3, 60, 500, 3600} {
		hour := blockHour(rng.Int64N(1<<42)) - int64(rng.IntN(2))*(1<<42) // before 1970 too
		cs := randomBlock(rng, hour, n)
		b := encodeBlock(hour, cs)
		got, err := decodeBlock(hour, b)
		if err != nil {
			t.Fatalf("%d checks: %v", n, err)
		}
		if !reflect.DeepEqual(got, cs) {
			t.Fatalf("%d checks: decoded differently", n)
		}
		for cut := range min(len(b), 40) { // every truncation is an error
			if _, err := decodeBlock(hour, b[:cut]); err == nil {
				t.Fatalf("%d checks: %d of %d bytes decoded", n, cut, len(b))
			}
		}
	}
	// A minute of identical checks at 60 s costs a few bytes each.
	var cs []blockCheck
	for i := range 60 {
		cs = append(cs, blockCheck{ID: 1000 + int64(i)*9973, At: int64(i)*60000 + 17, LatencyMS: 80 + int64(i%7), DNSMS: 2, ConnectMS: 11,
			TLSMS: 23, FirstByte: 75 + int64(i%5), outcomeKey: outcomeKey{Up: true, State: "up", StatusCode: 200, Attempts: 1, HasDays: true, DaysLeft: 60}})
	}
	if b := encodeBlock(0, cs); len(b) > 60*10 {
		t.Errorf("an hour of checks at 60 s takes %d bytes", len(b))
	}
}

func TestRollupPackRoundTrip(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(9, 10))
	for _, res := range []string{resMinute, resHour, resDay} {
		maxB := packSpan(res) / resSize(res)
		var bs []packBucket
		for idx := int64(0); idx < maxB; idx += 1 + rng.Int64N(3) {
			r := &rollup{Down: rng.Int64N(3), Slow: rng.Int64N(2), LatencyMax: rng.Int64N(70000), LatencySum: rng.Int64N(1 << 40)}
			if rng.IntN(3) > 0 {
				r.Hist = map[int]int64{}
				for range 1 + rng.IntN(8) {
					bin := rng.IntN(len(latencyBounds) + 1)
					r.Hist[bin] += rng.Int64N(100)
					r.Up += r.Hist[bin]
				}
			}
			switch rng.IntN(10) {
			case 0:
				r.Up++ // more up checks than the histogram counts
			case 1:
				r.Hist = map[int]int64{-3: 1, 70: 2, 5: 0} // bins no write makes
			case 2:
				r.LatencyMax, r.LatencySum = math.MinInt64, math.MaxInt64
			}
			bs = append(bs, packBucket{idx, r})
		}
		got, err := decodePack(encodePack(bs), maxB)
		if err != nil {
			t.Fatalf("%s: %v", res, err)
		}
		for i := range bs {
			w, g := bs[i].r, got[i].r
			if len(w.Hist) == 0 {
				w.Hist = nil
			}
			if got[i].idx != bs[i].idx || !reflect.DeepEqual(w, g) {
				t.Fatalf("%s bucket %d: %+v, decoded %+v", res, bs[i].idx, w, g)
			}
		}
		if _, err := decodePack(encodePack(bs), bs[len(bs)-1].idx); err == nil {
			t.Errorf("%s: a bucket past the span decoded", res)
		}
	}
}

// FuzzDecodeCompacted: a corrupt block or pack is an error, never a
// panic or an allocation larger than its input allows; what decodes
// encodes to something that decodes the same.
func FuzzDecodeCompacted(f *testing.F) {
	rng := rand.New(rand.NewPCG(1, 2))
	f.Add(encodeBlock(0, randomBlock(rng, 0, 5)))
	f.Add(encodePack([]packBucket{{0, &rollup{Up: 2, Hist: map[int]int64{3: 2}, LatencyMax: 5, LatencySum: 9}}, {7, &rollup{Down: 1}}}))
	f.Add([]byte{1, 0x80})
	f.Fuzz(func(t *testing.T, b []byte) {
		if cs, err := decodeBlock(hourMS, b); err == nil {
			again, err := decodeBlock(hourMS, encodeBlock(hourMS, cs))
			if err != nil || (len(cs) > 0 && !reflect.DeepEqual(again, cs)) {
				t.Fatalf("a decoded block does not survive encoding: %v", err)
			}
		}
		if bs, err := decodePack(b, 60); err == nil {
			again, err := decodePack(encodePack(bs), 60)
			if err != nil || !bytes.Equal(encodePack(again), encodePack(bs)) {
				t.Fatalf("a decoded pack does not survive encoding: %v", err)
			}
		}
	})
}
