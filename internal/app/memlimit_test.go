package app

import (
	"os"
	"runtime/debug"
	"testing"
)

// TestMemoryLimitFollowsSitesUnlessGOMEMLIMITIsSet checks the soft memory
// limit upmon sets after a sweep: sized by the sites, and left alone when
// the operator's GOMEMLIMIT sets one.
func TestMemoryLimitFollowsSitesUnlessGOMEMLIMITIsSet(t *testing.T) {
	before := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(before) })
	if v, ok := os.LookupEnv("GOMEMLIMIT"); ok {
		t.Cleanup(func() { os.Setenv("GOMEMLIMIT", v) })
	} else {
		t.Cleanup(func() { os.Unsetenv("GOMEMLIMIT") })
	}

	os.Unsetenv("GOMEMLIMIT")
	setMemoryLimit(100000)
	if got, want := debug.SetMemoryLimit(-1), int64(192<<20+100000<<10); got != want {
		t.Fatalf("100,000 sites: soft limit %d, want %d", got, want)
	}
	if memoryLimitFor(200000) <= memoryLimitFor(100000) {
		t.Fatal("the limit does not grow with the sites")
	}

	os.Setenv("GOMEMLIMIT", "off")
	debug.SetMemoryLimit(12345 << 20)
	setMemoryLimit(100000)
	if got := debug.SetMemoryLimit(-1); got != 12345<<20 {
		t.Fatalf("with GOMEMLIMIT set upmon changed the limit to %d", got)
	}
}
