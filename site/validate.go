package site

import (
	"crypto/rand"
	"encoding/hex"
	"net"
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"upmon/platform/api"
	"upmon/platform/netguard"
)

// MaxURLBytes is the longest URL a site may have.
const MaxURLBytes = 2048

// MaxNameBytes is the longest display name.
const MaxNameBytes = 200

// DNSRecordTypes are the record types a dns check may ask for.
var DNSRecordTypes = map[string]bool{"A": true, "AAAA": true, "CNAME": true, "MX": true, "NS": true, "TXT": true}

// ValidateURL checks a site URL as the user gave it and returns it with
// surrounding white space trimmed. It must be non-empty, at most
// MaxURLBytes, valid UTF-8 without white space or control characters, and
// one of: http(s):// with a host, scheme-less (https is then implied),
// tcp://host:port, dns:name[?type=A&expect=…&server=host:port],
// icmp:host, grpc(s)://host:port[?service=name] or ws(s)://host[/path].
func ValidateURL(raw string) (string, error) {
	u := strings.TrimSpace(raw)
	if u == "" {
		return "", api.FieldError("url", "must not be empty")
	}
	if len(u) > MaxURLBytes {
		return "", api.FieldError("url", "must be at most %d bytes", MaxURLBytes)
	}
	if !utf8.ValidString(u) {
		return "", api.FieldError("url", "must be valid UTF-8")
	}
	for _, r := range u {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return "", api.FieldError("url", "must not contain white space or control characters")
		}
	}
	if strings.Contains(u, Redacted) {
		return "", api.FieldError("url", errHoldsRedacted)
	}
	if _, err := KindOf(u); err != nil {
		return "", err
	}
	return u, nil
}

// KindOf returns the check kind of a validated-form URL, or why it cannot
// be checked.
func KindOf(u string) (string, error) {
	lower := strings.ToLower(u)
	switch {
	case strings.HasPrefix(lower, "tcp://"):
		parsed, err := url.Parse(u)
		if err != nil || parsed.Hostname() == "" || parsed.Port() == "" || (parsed.Path != "" && parsed.Path != "/") || parsed.RawQuery != "" {
			return "", api.FieldError("url", "a tcp check is tcp://host:port")
		}
		if p, err := strconv.Atoi(parsed.Port()); err != nil || p < 1 || p > 65535 {
			return "", api.FieldError("url", "port must be between 1 and 65535")
		}
		return KindTCP, nil
	case strings.HasPrefix(lower, "dns:"):
		if _, err := ParseDNS(u); err != nil {
			return "", err
		}
		return KindDNS, nil
	case strings.HasPrefix(lower, "icmp:"):
		if _, err := ParseICMP(u); err != nil {
			return "", err
		}
		return KindICMP, nil
	case strings.HasPrefix(lower, "grpc://"), strings.HasPrefix(lower, "grpcs://"):
		if _, err := ParseGRPC(u); err != nil {
			return "", err
		}
		return KindGRPC, nil
	case strings.HasPrefix(lower, "ws://"), strings.HasPrefix(lower, "wss://"):
		parsed, err := url.Parse(u)
		if err != nil || parsed.Hostname() == "" {
			return "", api.FieldError("url", "a websocket check is ws://host/path or wss://host/path")
		}
		if err := checkPort(parsed.Port(), false); err != nil {
			return "", err
		}
		return KindWebSocket, nil
	case strings.HasPrefix(lower, "push:"):
		return "", api.FieldError("url", "push monitors are created with {\"kind\": \"push\", \"name\": …}")
	}
	if _, err := CheckURL(u); err != nil {
		return "", err
	}
	return KindHTTP, nil
}

// CheckURL returns the URL an http site is checked at: scheme-less URLs
// get https://. It fails unless the result is http(s) with a host.
func CheckURL(u string) (*url.URL, error) {
	full := u
	if !strings.Contains(u, "://") {
		full = "https://" + u
	}
	parsed, err := url.Parse(full)
	if err != nil {
		return nil, api.FieldError("url", "is not a valid URL")
	}
	switch strings.ToLower(parsed.Scheme) {
	case "http", "https":
	default:
		return nil, api.FieldError("url", "scheme must be http, https, tcp, dns, icmp, grpc, grpcs, ws or wss")
	}
	if parsed.Hostname() == "" {
		return nil, api.FieldError("url", "must have a host")
	}
	return parsed, nil
}

// DNSTarget is a parsed dns: URL.
type DNSTarget struct {
	// Name is the name to resolve.
	Name string
	// Type is the record type (default A).
	Type string
	// Expect, if set, must be among the answers.
	Expect string
	// Server, if set, is the resolver's host:port.
	Server string
}

// ParseDNS parses dns:name?type=A&expect=1.2.3.4&server=127.0.0.1:53.
func ParseDNS(u string) (*DNSTarget, error) {
	rest := u[len("dns:"):]
	rest = strings.TrimPrefix(rest, "//")
	name, query, _ := strings.Cut(rest, "?")
	name = strings.TrimSuffix(name, "/")
	if !validHostname(name) {
		return nil, api.FieldError("url", "a dns check is dns:name with a valid host name")
	}
	q, err := url.ParseQuery(query)
	if err != nil {
		return nil, api.FieldError("url", "invalid dns query parameters")
	}
	for k := range q {
		switch k {
		case "type", "expect", "server":
		default:
			return nil, api.FieldError("url", "unknown dns parameter %q (type, expect, server)", truncate(k, 32))
		}
	}
	t := &DNSTarget{Name: name, Type: strings.ToUpper(q.Get("type")), Expect: q.Get("expect"), Server: q.Get("server")}
	if t.Type == "" {
		t.Type = "A"
	}
	if !DNSRecordTypes[t.Type] {
		return nil, api.FieldError("url", "dns type must be A, AAAA, CNAME, MX, NS or TXT")
	}
	if t.Server != "" {
		host, port, err := net.SplitHostPort(t.Server)
		if err != nil || host == "" || port == "" {
			return nil, api.FieldError("url", "dns server must be host:port")
		}
	}
	return t, nil
}

func validHostname(h string) bool {
	h = strings.TrimSuffix(h, ".")
	if h == "" || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for _, r := range label {
			if !(r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
				return false
			}
		}
	}
	return true
}

// validateName checks a display name.
func validateName(n string) error {
	if len(n) > MaxNameBytes || !utf8.ValidString(n) {
		return api.FieldError("name", "must be valid UTF-8 of at most %d bytes", MaxNameBytes)
	}
	if strings.ContainsFunc(n, unicode.IsControl) {
		return api.FieldError("name", "must not contain control characters")
	}
	return nil
}

// newSite validates AddParams into a site to store.
func (s *Service) newSite(p *AddParams) (*Site, error) {
	st := &Site{Name: strings.TrimSpace(p.Name), Settings: p.Settings}
	if err := validateName(st.Name); err != nil {
		return nil, err
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	switch p.Kind {
	case KindPush:
		if st.Name == "" {
			return nil, api.FieldError("name", "a push monitor needs a name")
		}
		if p.URL != "" {
			return nil, api.FieldError("url", "a push monitor has no url; it gets push:<name>")
		}
		st.Kind = KindPush
		st.URL = "push:" + st.Name
		var b [16]byte
		_, _ = rand.Read(b[:])
		st.PushToken = hex.EncodeToString(b[:])
	case "", KindHTTP, KindTCP, KindDNS, KindICMP, KindGRPC, KindWebSocket:
		u, err := ValidateURL(p.URL)
		if err != nil {
			return nil, err
		}
		kind, _ := KindOf(u)
		if err := s.checkPolicy(u, kind); err != nil {
			return nil, err
		}
		if p.Kind != "" && p.Kind != kind {
			return nil, api.FieldError("kind", "the url is a %s check, not %s", kind, p.Kind)
		}
		st.URL, st.Kind = u, kind
	default:
		return nil, api.FieldError("kind", "must be http, tcp, dns, icmp, grpc, websocket or push")
	}
	return st, nil
}

// checkPolicy applies --deny-private-targets to a URL's literal host.
func (s *Service) checkPolicy(u, kind string) error {
	if !s.opts.DenyPrivate {
		return nil
	}
	var host string
	switch kind {
	case KindDNS:
		t, err := ParseDNS(u)
		if err != nil {
			return err
		}
		host = t.Name
		if t.Server != "" {
			host, _, _ = net.SplitHostPort(t.Server)
		}
	case KindICMP:
		h, err := ParseICMP(u)
		if err != nil {
			return err
		}
		host = h
	case KindGRPC:
		t, err := ParseGRPC(u)
		if err != nil {
			return err
		}
		host, _, _ = net.SplitHostPort(t.Addr)
	case KindTCP, KindWebSocket:
		parsed, err := url.Parse(u)
		if err != nil {
			return api.FieldError("url", "is not a valid URL")
		}
		host = parsed.Hostname()
	default:
		parsed, err := CheckURL(u)
		if err != nil {
			return err
		}
		host = parsed.Hostname()
	}
	if err := netguard.CheckHost(host); err != nil {
		return api.FieldError("url", "%s", err.Error())
	}
	return nil
}
