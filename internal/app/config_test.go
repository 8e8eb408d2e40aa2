package app

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestDefaultConfigIsValid(t *testing.T) {
	t.Parallel()
	c := DefaultConfig()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:4000" || c.WriteTimeout != 30*time.Second || c.SessionIdle != 12*time.Hour ||
		c.SessionLifetime != 7*24*time.Hour || c.RateLimit != 10 || c.RateBurst != 20 || c.DNSResolver != "" {
		t.Fatalf("defaults = %+v", c)
	}
}

// Flags win over UPMON_* variables, which win over the defaults.
func TestParseConfigPrecedence(t *testing.T) {
	t.Parallel()
	env := []string{"UPMON_RATE_LIMIT=7", "UPMON_SESSION_IDLE=2h", "UPMON_DNS_RESOLVER=127.0.0.53:53", "OTHER=x"}
	c, rest, err := ParseConfig("serve", []string{"--rate-limit", "5", "extra"}, env)
	if err != nil {
		t.Fatal(err)
	}
	if c.RateLimit != 5 || c.SessionIdle != 2*time.Hour || c.DNSResolver != "127.0.0.53:53" || c.RateBurst != 20 {
		t.Fatalf("config = %+v", c)
	}
	if len(rest) != 1 || rest[0] != "extra" {
		t.Fatalf("remaining args = %v", rest)
	}
	if len(c.Env) != len(env) {
		t.Fatalf("Env not captured: %v", c.Env)
	}
}

func TestParseConfigErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		args, env []string
		want      string
	}{
		{"bad env value names the variable", nil, []string{"UPMON_WRITE_TIMEOUT=soon"}, "UPMON_WRITE_TIMEOUT"},
		{"short token, not echoed", []string{"--api-token", "tiny-secret"}, nil, "at least 16 characters"},
		{"short token in env, not echoed", nil, []string{"UPMON_API_TOKEN=tiny-secret"}, "at least 16 characters"},
		{"unknown flag", []string{"--nope"}, nil, "nope"},
		{"write timeout", []string{"--write-timeout", "10ms"}, nil, "--write-timeout"},
		{"session idle above lifetime", []string{"--session-idle", "200h"}, nil, "--session-idle"},
		{"session idle too short", []string{"--session-idle", "10ms"}, nil, "--session-idle"},
		{"dns resolver", []string{"--dns-resolver", "127.0.0.53"}, nil, "--dns-resolver"},
		{"public url", []string{"--public-url", "ftp://x"}, nil, "--public-url"},
		{"rate limit", []string{"--rate-limit", "0"}, nil, "--rate-limit"},
		{"negative batch delay", []string{"--batch-delay", "-1ms"}, nil, "--batch-delay"},
		{"batch delay too long", nil, []string{"UPMON_BATCH_DELAY=6s"}, "batch-delay"},
	}
	for _, tc := range cases {
		_, _, err := ParseConfig("serve", tc.args, tc.env)
		var ue *UsageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want a UsageError mentioning %q", tc.name, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "tiny-secret") {
			t.Errorf("%s: the error echoes the token: %v", tc.name, err)
		}
	}
	// --batch-delay reaches the config; 0 leaves the engine's default.
	for _, d := range []time.Duration{0, 300 * time.Millisecond, 5 * time.Second} {
		cfg, _, err := ParseConfig("serve", []string{"--batch-delay", d.String()}, nil)
		if err != nil || cfg.BatchDelay != d {
			t.Errorf("--batch-delay %s: BatchDelay = %v, err = %v", d, cfg.BatchDelay, err)
		}
	}
	// Allowed: a public address with a token, or with --insecure-no-auth.
	for _, args := range [][]string{{"--addr", "0.0.0.0:4000", "--api-token", testRW}, {"--addr", "0.0.0.0:4000", "--insecure-no-auth"}} {
		if _, _, err := ParseConfig("serve", args, nil); err != nil {
			t.Errorf("%v: %v", args, err)
		}
	}
}

// Tokens never show in flag listings.
func TestTokenListHidesTokens(t *testing.T) {
	t.Parallel()
	var l tokenList
	if err := l.Set(testRW + ", " + testRO + ","); err != nil {
		t.Fatal(err)
	}
	if len(l) != 2 || l[1] != testRO || l.String() != "(set)" {
		t.Fatalf("tokenList = %v, String %q", []string(l), l.String())
	}
}

// Every option is listed in the help with its variable and default.
func TestFlagUsageListsEveryOption(t *testing.T) {
	t.Parallel()
	u := FlagUsage()
	for _, o := range serveOptions {
		if !strings.Contains(u, "--"+o.name+" ") || !strings.Contains(u, EnvName(o.name)) {
			t.Errorf("usage lacks --%s / %s", o.name, EnvName(o.name))
		}
	}
	if !strings.Contains(u, "UPMON_SESSION_IDLE, default 12h") {
		t.Errorf("usage: %s", u)
	}
}

// Tracing is off by default, on with --tracing or an OTLP endpoint; the
// endpoint defaults to OTEL_EXPORTER_OTLP_ENDPOINT, which --otlp-endpoint
// and UPMON_OTLP_ENDPOINT override.
func TestTracingConfig(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		args, env []string
		on        bool
		endpoint  string
	}{
		{"off by default", nil, nil, false, ""},
		{"flag", []string{"--tracing"}, nil, true, ""},
		{"UPMON variable", nil, []string{"UPMON_TRACING=true"}, true, ""},
		{"OTEL endpoint", nil, []string{"OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318"}, true, "http://127.0.0.1:4318"},
		{"flag wins over OTEL", []string{"--otlp-endpoint", "http://127.0.0.1:9"}, []string{"OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318"}, true, "http://127.0.0.1:9"},
		{"UPMON wins over OTEL", nil, []string{"UPMON_OTLP_ENDPOINT=http://127.0.0.1:9", "OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318"}, true, "http://127.0.0.1:9"},
	} {
		c, _, err := ParseConfig("serve", tc.args, tc.env)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if c.TracingOn() != tc.on || c.OTLPEndpoint != tc.endpoint {
			t.Errorf("%s: on %v endpoint %q, want %v %q", tc.name, c.TracingOn(), c.OTLPEndpoint, tc.on, tc.endpoint)
		}
	}
	for _, bad := range [][]string{{"--otlp-endpoint", "collector:4318"}, {"--trace-max", "0"}, {"--trace-max-bytes", "10"}} {
		if _, _, err := ParseConfig("serve", bad, nil); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

// A non-loopback address needs a service token, an account or
// --insecure-no-auth.
func TestExposureRule(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		addr     string
		tokens   bool
		users    int
		insecure bool
		refused  bool
	}{
		{"0.0.0.0:4000", false, 0, false, true},
		{"0.0.0.0:4000", true, 0, false, false},
		{"0.0.0.0:4000", false, 1, false, false},
		{"0.0.0.0:4000", false, 0, true, false},
		{"127.0.0.1:4000", false, 0, false, false},
	} {
		cfg := DefaultConfig()
		cfg.Addr, cfg.InsecureNoAuth = tc.addr, tc.insecure
		if tc.tokens {
			cfg.APITokens = []string{testRW}
		}
		if err := cfg.exposureError(tc.users); (err != nil) != tc.refused {
			t.Errorf("%+v: err = %v", tc, err)
		}
	}
}
