package monitor

import (
	"math/bits"
	"slices"
	"time"
)

// A rollup pack holds a site's rollup buckets of one resolution within
// one span (a rollup_packs row): an hour of minute buckets, a day of hour
// buckets, 32 days of day buckets. A rollups row costs ≈ 74 bytes with
// its index entries; a packed bucket 8–25, and reading a day of hours is
// one row instead of 24. Every field is kept exactly, so uptime and
// latency answer the same from packs as from rows.
//
// Layout (version 1), all varints: version byte, bucket count, then per
// bucket (ascending):
//
//	head: (buckets skipped since the previous one) << 4 | flags, where
//	  flags are 1 down ≠ 0, 2 slow ≠ 0, 4 up ≠ the histogram's total,
//	  8 a histogram of bins outside 0…63 (listed as pairs)
//	[down] [slow] [up]
//	latency max, latency sum − max
//	histogram: the mask of its bins, then each bin's count; or, with
//	  flag 8, the number of bins and (bin, count) pairs

// packSpan is how much time one pack of a resolution covers.
func packSpan(res string) int64 {
	switch res {
	case resMinute:
		return hourMS
	case resHour:
		return 24 * hourMS
	}
	return 32 * 24 * hourMS
}

// resSize is a resolution's bucket size in ms.
func resSize(res string) int64 {
	for _, r := range resolutions {
		if r.res == res {
			return r.size.Milliseconds()
		}
	}
	return time.Minute.Milliseconds()
}

// packStart is the start of the pack holding bucket.
func packStart(res string, bucket int64) int64 { return bucket - floorMod(bucket, packSpan(res)) }

const packVersion = 1

// packBucket is one bucket of a pack: its index within the span.
type packBucket struct {
	idx int64
	r   *rollup
}

// encodePack encodes buckets (sorted by idx, distinct, within the span).
func encodePack(bs []packBucket) []byte {
	e := &enc{b: make([]byte, 0, 4+len(bs)*16)}
	e.b = append(e.b, packVersion)
	e.uint(uint64(len(bs)))
	prev := int64(-1)
	for _, pb := range bs {
		r := pb.r
		var total int64
		sparse := false
		for k, v := range r.Hist {
			total += v
			sparse = sparse || k < 0 || k > 63
		}
		var flags uint64
		if r.Down != 0 {
			flags |= 1
		}
		if r.Slow != 0 {
			flags |= 2
		}
		if r.Up != total {
			flags |= 4
		}
		if sparse {
			flags |= 8
		}
		e.uint(uint64(pb.idx-prev-1)<<4 | flags)
		prev = pb.idx
		if r.Down != 0 {
			e.int(r.Down)
		}
		if r.Slow != 0 {
			e.int(r.Slow)
		}
		if r.Up != total {
			e.int(r.Up)
		}
		e.int(r.LatencyMax)
		e.int(r.LatencySum - r.LatencyMax)
		keys := make([]int, 0, len(r.Hist))
		for k := range r.Hist {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if sparse {
			e.uint(uint64(len(keys)))
			for _, k := range keys {
				e.int(int64(k))
				e.int(r.Hist[k])
			}
			continue
		}
		var mask uint64
		for _, k := range keys {
			mask |= 1 << k
		}
		e.uint(mask)
		for _, k := range keys {
			e.int(r.Hist[k])
		}
	}
	return e.b
}

// decodePack decodes a pack of at most maxBuckets buckets.
func decodePack(b []byte, maxBuckets int64) ([]packBucket, error) {
	d := &dec{b: b}
	if v := d.byte(); d.err == nil && v != packVersion {
		return nil, errCorrupt
	}
	out := make([]packBucket, d.count(1))
	prev := int64(-1)
	for i := range out {
		head := d.uint()
		flags := head & 15
		gap := head >> 4
		if d.err != nil || gap >= uint64(maxBuckets) {
			return nil, errCorrupt
		}
		idx := prev + 1 + int64(gap)
		if idx >= maxBuckets {
			return nil, errCorrupt
		}
		prev = idx
		r := &rollup{}
		if flags&1 != 0 {
			r.Down = d.int()
		}
		if flags&2 != 0 {
			r.Slow = d.int()
		}
		var up int64
		if flags&4 != 0 {
			up = d.int()
		}
		r.LatencyMax = d.int()
		r.LatencySum = d.int() + r.LatencyMax
		var total int64
		if flags&8 != 0 {
			n := d.count(2)
			for range n {
				k, v := d.int(), d.int()
				if r.Hist == nil {
					r.Hist = map[int]int64{}
				}
				r.Hist[int(k)] = v
				total += v
			}
		} else if mask := d.uint(); mask != 0 {
			r.Hist = make(map[int]int64, bits.OnesCount64(mask))
			for mask != 0 {
				k := bits.TrailingZeros64(mask)
				mask &^= 1 << k
				v := d.int()
				r.Hist[k] = v
				total += v
			}
		}
		r.Up = total
		if flags&4 != 0 {
			r.Up = up
		}
		out[i] = packBucket{idx, r}
	}
	if d.err != nil || len(d.b) != 0 {
		return nil, errCorrupt
	}
	return out, nil
}
