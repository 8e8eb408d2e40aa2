package app

import (
	"flag"
	"net"
	"strings"
	"time"

	"upmon/site"
)

// LocationConfig configures checks from several locations
// (docs/locations.md).
type LocationConfig struct {
	// Location names the location this process checks from. Default
	// "local".
	Location string
	// Locations is the set of locations a site is checked from unless it
	// names its own; empty means just Location. Each is known to site
	// validation even before an agent of it connects.
	Locations []string
	// SourceAddr, if set, is the local IP address every check leaves
	// from. Default: the system's choice.
	SourceAddr string
	// Heartbeat is how often agents send heartbeats; a location silent
	// for 3 of them is unavailable. Default 5 s.
	Heartbeat time.Duration
}

func defaultLocationConfig() LocationConfig {
	return LocationConfig{Location: site.LocationLocal, Heartbeat: 5 * time.Second}
}

// SourceIP is SourceAddr parsed (nil when unset).
func (c LocationConfig) SourceIP() net.IP { return net.ParseIP(c.SourceAddr) }

// DefaultLocations is the default set of a site's locations.
func (c LocationConfig) DefaultLocations() []string {
	if len(c.Locations) == 0 {
		return []string{c.Location}
	}
	return c.Locations
}

var locationOptions = []option{
	{"location", "name of the location this process checks from", func(fs *flag.FlagSet, c *Config) {
		fs.StringVar(&c.Location, "location", c.Location, "")
	}},
	{"locations", "comma-separated default locations of a site; default --location", func(fs *flag.FlagSet, c *Config) {
		fs.Var((*nameList)(&c.Locations), "locations", "")
	}},
	{"source-addr", "local IP address every check leaves from", func(fs *flag.FlagSet, c *Config) {
		fs.StringVar(&c.SourceAddr, "source-addr", c.SourceAddr, "")
	}},
	{"heartbeat", "how often agents send heartbeats (3 missed: location unavailable)", func(fs *flag.FlagSet, c *Config) {
		fs.DurationVar(&c.Heartbeat, "heartbeat", c.Heartbeat, "")
	}},
}

// validate checks the location settings; bad names the flag.
func (c LocationConfig) validate(bad func(flagName, format string, args ...any) error) error {
	if !site.ValidLocationName(c.Location) {
		return bad("location", "%q must be 1-32 lower-case letters, digits, '-' or '_'", c.Location)
	}
	if len(c.Locations) > site.MaxLocations {
		return bad("locations", "at most %d", site.MaxLocations)
	}
	for _, l := range c.Locations {
		if !site.ValidLocationName(l) {
			return bad("locations", "%q must be 1-32 lower-case letters, digits, '-' or '_'", l)
		}
	}
	if c.SourceAddr != "" && c.SourceIP() == nil {
		return bad("source-addr", "%q is not an IP address", c.SourceAddr)
	}
	if c.Heartbeat < 100*time.Millisecond || c.Heartbeat > time.Minute {
		return bad("heartbeat", "must be between 100ms and 1m")
	}
	return nil
}

// nameList is a comma-separated list of names.
type nameList []string

func (l *nameList) String() string { return strings.Join(*l, ",") }

func (l *nameList) Set(v string) error {
	*l = nil
	for n := range strings.SplitSeq(v, ",") {
		if n = strings.TrimSpace(n); n != "" {
			*l = append(*l, n)
		}
	}
	return nil
}
