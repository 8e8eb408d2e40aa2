// Package version holds upmon's version, set at link time with
// -ldflags "-X upmon/internal/version.Version=v1.2.3".
package version

import "runtime/debug"

// Version is upmon's version; "dev" unless set at link time or recorded
// in the build information.
var Version = "dev"

// String returns the version, preferring the link-time value, then the
// module version from the build information.
func String() string {
	if Version != "dev" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return Version
}

// UserAgent is the User-Agent header checks send.
func UserAgent() string { return "upmon/" + String() }
