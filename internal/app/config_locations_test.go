package app

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestLocationConfig(t *testing.T) {
	t.Parallel()
	c, _, err := ParseConfig("serve", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Location != "local" || !slices.Equal(c.DefaultLocations(), []string{"local"}) || c.SourceIP() != nil || c.Heartbeat != 5*time.Second {
		t.Fatalf("defaults = %+v", c.LocationConfig)
	}
	c, _, err = ParseConfig("serve", []string{"--location", "eu", "--source-addr", "127.0.0.2", "--heartbeat", "1s"},
		[]string{"UPMON_LOCATIONS=eu, us,ap"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Location != "eu" || !slices.Equal(c.DefaultLocations(), []string{"eu", "us", "ap"}) || c.SourceIP().String() != "127.0.0.2" || c.Heartbeat != time.Second {
		t.Fatalf("parsed = %+v", c.LocationConfig)
	}
	for _, args := range [][]string{
		{"--location", "EU"}, {"--locations", "eu,us.east"}, {"--source-addr", "localhost"}, {"--heartbeat", "10ms"},
	} {
		_, _, err := ParseConfig("serve", args, nil)
		var u *UsageError
		if !errors.As(err, &u) || !strings.Contains(u.Msg, "invalid "+args[0]) {
			t.Errorf("%v: err = %v, want a usage error naming %s", args, err, args[0])
		}
	}
}
