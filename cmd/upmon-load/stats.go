package main

import (
	"math"
	"sort"
)

func sortFloats(v []float64) { sort.Float64s(v) }

// quantile returns the q-th quantile (nearest rank) of v, sorting it.
func quantile(v []float64, q float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	if !sort.Float64sAreSorted(v) {
		sort.Float64s(v)
	}
	i := int(math.Ceil(q*float64(len(v)))) - 1
	return v[min(max(i, 0), len(v)-1)]
}

// dist summarises a sample in seconds.
type dist struct {
	N   int     `json:"n"`
	Min float64 `json:"min"`
	P50 float64 `json:"p50"`
	P90 float64 `json:"p90"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

func distOf(v []float64) dist {
	if len(v) == 0 {
		return dist{}
	}
	sort.Float64s(v)
	return dist{N: len(v), Min: v[0], P50: quantile(v, .5), P90: quantile(v, .9), P99: quantile(v, .99), Max: v[len(v)-1]}
}
