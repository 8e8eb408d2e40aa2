package monitor

import (
	"cmp"
	"slices"
)

// A check block holds a site's checks of one UTC hour from one location
// (a check_blocks row) in one value, instead of one checks row (≈ 70
// bytes with its two index entries) each. Every field of every check is
// kept, so GET /site/{id}/checks answers exactly what the rows answered,
// ids included:
//
//   - the outcome (up, state, status code, error, attempts, days left of
//     the certificate) is the same for long runs of checks: the block
//     lists the distinct outcomes once and the runs as (outcome, length);
//   - the times and ids advance by nearly the same step from one check to
//     the next: each is stored as the change of that step (delta of
//     delta), one or two bytes;
//   - the latency and its parts are stored as the distance from the
//     block's smallest value of each.
//
// At a 60 s interval a check takes about 10 bytes, the block's key and
// index entries about one more. The layout (version 1), all varints:
//
//	version byte, n
//	outcomes: k, then per outcome: flags (1 up, 2 has days left), state,
//	  status code, error, attempts, [days left]
//	runs: r, then per run: outcome index, length (the lengths add up to n)
//	times: first − hour, then per check the change of the step
//	ids: first, then per check the change of the step
//	latency, dns, connect, tls, first byte: smallest, then per check
//	  value − smallest
type blockCheck struct {
	ID         int64
	At         int64 // unix ms
	LatencyMS  int64
	DNSMS      int64
	ConnectMS  int64
	TLSMS      int64
	FirstByte  int64
	outcomeKey // the fields runs share
}

// outcomeKey is what makes two checks the same outcome.
type outcomeKey struct {
	Up         bool
	State      string
	StatusCode int64
	Error      string
	Attempts   int64
	HasDays    bool
	DaysLeft   int64
}

const blockVersion = 1

// hourMS is a block's span.
const hourMS = int64(60 * 60 * 1000)

// blockHour is the hour (unix ms) whose block holds a check at at.
func blockHour(at int64) int64 { return at - floorMod(at, hourMS) }

func floorMod(a, m int64) int64 {
	r := a % m
	if r < 0 {
		r += m
	}
	return r
}

// sortBlockChecks orders checks as the API lists them oldest first: by
// time, then id.
func sortBlockChecks(cs []blockCheck) {
	slices.SortFunc(cs, func(a, b blockCheck) int {
		if c := cmp.Compare(a.At, b.At); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
}

// encodeBlock encodes checks (sorted by sortBlockChecks) of the block
// starting at hour.
func encodeBlock(hour int64, cs []blockCheck) []byte {
	e := &enc{b: make([]byte, 0, 16+len(cs)*12)}
	e.b = append(e.b, blockVersion)
	e.uint(uint64(len(cs)))
	var (
		outcomes []outcomeKey
		index    = map[outcomeKey]int{}
		runs     [][2]int // outcome, length
	)
	for _, c := range cs {
		i, ok := index[c.outcomeKey]
		if !ok {
			i = len(outcomes)
			index[c.outcomeKey] = i
			outcomes = append(outcomes, c.outcomeKey)
		}
		if n := len(runs); n > 0 && runs[n-1][0] == i {
			runs[n-1][1]++
		} else {
			runs = append(runs, [2]int{i, 1})
		}
	}
	e.uint(uint64(len(outcomes)))
	for _, o := range outcomes {
		var flags byte
		if o.Up {
			flags |= 1
		}
		if o.HasDays {
			flags |= 2
		}
		e.b = append(e.b, flags)
		e.str(o.State)
		e.int(o.StatusCode)
		e.str(o.Error)
		e.int(o.Attempts)
		if o.HasDays {
			e.int(o.DaysLeft)
		}
	}
	e.uint(uint64(len(runs)))
	for _, r := range runs {
		e.uint(uint64(r[0]))
		e.uint(uint64(r[1]))
	}
	encodeSteps(e, cs, hour, func(c *blockCheck) int64 { return c.At })
	encodeSteps(e, cs, 0, func(c *blockCheck) int64 { return c.ID })
	for _, f := range blockColumns {
		encodeFrame(e, cs, f)
	}
	return e.b
}

// blockColumns are the per-check values stored as offsets from their
// smallest value.
var blockColumns = []func(c *blockCheck) *int64{
	func(c *blockCheck) *int64 { return &c.LatencyMS },
	func(c *blockCheck) *int64 { return &c.DNSMS },
	func(c *blockCheck) *int64 { return &c.ConnectMS },
	func(c *blockCheck) *int64 { return &c.TLSMS },
	func(c *blockCheck) *int64 { return &c.FirstByte },
}

// encodeSteps writes a column as its first value less base, then the
// change of the step between neighbours.
func encodeSteps(e *enc, cs []blockCheck, base int64, v func(c *blockCheck) int64) {
	var prev, step int64
	for i := range cs {
		x := v(&cs[i])
		if i == 0 {
			e.int(x - base)
		} else {
			e.int(x - prev - step)
			step = x - prev
		}
		prev = x
	}
}

func decodeSteps(d *dec, cs []blockCheck, base int64, v func(c *blockCheck) *int64) {
	var prev, step int64
	for i := range cs {
		if i == 0 {
			prev = base + d.int()
		} else {
			step += d.int()
			prev += step
		}
		*v(&cs[i]) = prev
	}
}

func encodeFrame(e *enc, cs []blockCheck, f func(c *blockCheck) *int64) {
	if len(cs) == 0 {
		return
	}
	low := *f(&cs[0])
	for i := range cs {
		low = min(low, *f(&cs[i]))
	}
	e.int(low)
	for i := range cs {
		e.uint(uint64(*f(&cs[i]) - low))
	}
}

func decodeFrame(d *dec, cs []blockCheck, f func(c *blockCheck) *int64) {
	if len(cs) == 0 {
		return
	}
	low := d.int()
	for i := range cs {
		*f(&cs[i]) = low + int64(d.uint())
	}
}

// decodeBlock decodes a block starting at hour.
func decodeBlock(hour int64, b []byte) ([]blockCheck, error) {
	d := &dec{b: b}
	if v := d.byte(); d.err == nil && v != blockVersion {
		return nil, errCorrupt
	}
	cs := make([]blockCheck, d.count(1))
	outcomes := make([]outcomeKey, d.count(1))
	for i := range outcomes {
		o := &outcomes[i]
		flags := d.byte()
		o.Up, o.HasDays = flags&1 != 0, flags&2 != 0
		o.State = d.str()
		o.StatusCode = d.int()
		o.Error = d.str()
		o.Attempts = d.int()
		if o.HasDays {
			o.DaysLeft = d.int()
		}
	}
	runs := d.count(1)
	n := 0
	for range runs {
		i, length := d.uint(), d.uint()
		if d.err != nil || i >= uint64(len(outcomes)) || length > uint64(len(cs)-n) {
			return nil, errCorrupt
		}
		for range length {
			cs[n].outcomeKey = outcomes[i]
			n++
		}
	}
	if n != len(cs) {
		return nil, errCorrupt
	}
	decodeSteps(d, cs, hour, func(c *blockCheck) *int64 { return &c.At })
	decodeSteps(d, cs, 0, func(c *blockCheck) *int64 { return &c.ID })
	for _, f := range blockColumns {
		decodeFrame(d, cs, f)
	}
	if d.err != nil || len(d.b) != 0 {
		return nil, errCorrupt
	}
	return cs, nil
}
