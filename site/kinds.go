package site

import (
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"upmon/platform/api"
)

// ParseICMP returns the host of an icmp:host URL (a name, an IPv4
// address, or an IPv6 address with or without brackets).
func ParseICMP(u string) (string, error) {
	rest := strings.TrimPrefix(u[len("icmp:"):], "//")
	rest = strings.TrimSuffix(rest, "/")
	if strings.HasPrefix(rest, "[") && strings.HasSuffix(rest, "]") {
		rest = rest[1 : len(rest)-1]
	}
	if ip, err := netip.ParseAddr(rest); err == nil && ip.Zone() == "" {
		return rest, nil
	}
	if !validHostname(rest) {
		return "", api.FieldError("url", "an icmp check is icmp:host (a host name or an IP address, no port)")
	}
	return rest, nil
}

// GRPCTarget is a parsed grpc:// or grpcs:// URL.
type GRPCTarget struct {
	// Addr is host:port.
	Addr string
	// TLS is true for grpcs://.
	TLS bool
	// Service is the service whose health is asked; "" asks for the
	// server as a whole.
	Service string
}

// ParseGRPC parses grpc://host:port[?service=name] (grpcs:// for TLS).
func ParseGRPC(u string) (*GRPCTarget, error) {
	const form = "a grpc check is grpc://host:port or grpcs://host:port, with an optional ?service=name"
	parsed, err := url.Parse(u)
	if err != nil || parsed.Hostname() == "" || parsed.Port() == "" || (parsed.Path != "" && parsed.Path != "/") || parsed.User != nil || parsed.Fragment != "" {
		return nil, api.FieldError("url", form)
	}
	if err := checkPort(parsed.Port(), true); err != nil {
		return nil, err
	}
	q, err := url.ParseQuery(parsed.RawQuery)
	if err != nil {
		return nil, api.FieldError("url", form)
	}
	for k := range q {
		if k != "service" {
			return nil, api.FieldError("url", "unknown grpc parameter %q (service)", truncate(k, 32))
		}
	}
	svc := q.Get("service")
	if len(svc) > 256 || strings.ContainsFunc(svc, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return nil, api.FieldError("url", "grpc service must be at most 256 bytes without spaces")
	}
	return &GRPCTarget{
		Addr:    net.JoinHostPort(parsed.Hostname(), parsed.Port()),
		TLS:     strings.EqualFold(parsed.Scheme, "grpcs"),
		Service: svc,
	}, nil
}

// checkPort checks a URL's port: 1 to 65535, and present when required.
func checkPort(port string, required bool) error {
	if port == "" && !required {
		return nil
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return api.FieldError("url", "port must be between 1 and 65535")
	}
	return nil
}
