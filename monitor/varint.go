package monitor

import (
	"encoding/binary"
	"errors"
)

// The compacted history (check blocks, rollup packs) is encoded as
// varints: a value that fits in 7 bits takes one byte. Signed values
// that may be negative are zigzag-encoded; any int64 round-trips, as
// the arithmetic wraps the same way on both sides.

// errCorrupt is the error of a block or pack that does not decode.
var errCorrupt = errors.New("corrupt compacted history")

// enc appends varints to a byte slice.
type enc struct{ b []byte }

func (e *enc) uint(v uint64) { e.b = binary.AppendUvarint(e.b, v) }

func (e *enc) int(v int64) { e.b = binary.AppendUvarint(e.b, zigzag(v)) }

func (e *enc) str(s string) {
	e.uint(uint64(len(s)))
	e.b = append(e.b, s...)
}

func zigzag(v int64) uint64 { return uint64(v<<1) ^ uint64(v>>63) }

func unzigzag(u uint64) int64 { return int64(u>>1) ^ -int64(u&1) }

// dec reads varints; the first failure sticks in err and every later
// read returns zero.
type dec struct {
	b   []byte
	err error
}

func (d *dec) uint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errCorrupt
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *dec) int() int64 { return unzigzag(d.uint()) }

// count reads a length that must not exceed what is left of the input
// divided by min bytes per item: a corrupt length cannot make a decoder
// allocate more than its input allows.
func (d *dec) count(min int) int {
	v := d.uint()
	if d.err == nil && v > uint64(len(d.b)/max(min, 1)) {
		d.err = errCorrupt
		return 0
	}
	return int(v)
}

func (d *dec) str() string {
	n := d.count(1)
	if d.err != nil {
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *dec) byte() byte {
	if d.err == nil && len(d.b) == 0 {
		d.err = errCorrupt
	}
	if d.err != nil {
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}
