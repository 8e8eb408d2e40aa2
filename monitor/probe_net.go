package monitor

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"upmon/site"
)

// checkTCP connects to tcp://host:port; up when the connection opens.
func (p *Prober) checkTCP(ctx context.Context, sp Spec) Result {
	u, err := url.Parse(sp.URL)
	if err != nil || u.Host == "" {
		return Result{Err: "invalid tcp URL"}
	}
	start := time.Now()
	conn, err := p.dial(ctx, "tcp", u.Host)
	r := Result{Latency: time.Since(start)}
	r.Connect = r.Latency
	if err != nil {
		r.Err = describeError(err, ctx)
		return r
	}
	conn.Close()
	r.Up = true
	return r
}

// checkDNS resolves the name of a dns: URL, optionally through a given
// server, and requires the expected answer when one is set.
func (p *Prober) checkDNS(ctx context.Context, sp Spec) Result {
	t, err := site.ParseDNS(sp.URL)
	if err != nil {
		return Result{Err: "invalid dns URL"}
	}
	res := &net.Resolver{PreferGo: true}
	if t.Server != "" {
		server := t.Server
		res.Dial = func(ctx context.Context, network, _ string) (net.Conn, error) {
			return p.dial(ctx, network, server)
		}
	} else {
		res.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
			return p.dial(ctx, network, addr)
		}
	}
	start := time.Now()
	answers, err := lookup(ctx, res, t)
	r := Result{Latency: time.Since(start)}
	r.DNS = r.Latency
	if err != nil {
		r.Err = describeError(err, ctx)
		return r
	}
	if len(answers) == 0 {
		r.Err = "DNS: no " + t.Type + " records"
		return r
	}
	if t.Expect != "" && !slices.ContainsFunc(answers, func(a string) bool {
		return strings.EqualFold(strings.TrimSuffix(a, "."), strings.TrimSuffix(t.Expect, "."))
	}) {
		r.Err = shorten(fmt.Sprintf("DNS: %s not among the %s answers %v", t.Expect, t.Type, answers))
		return r
	}
	r.Up = true
	return r
}

func lookup(ctx context.Context, res *net.Resolver, t *site.DNSTarget) ([]string, error) {
	switch t.Type {
	case "A", "AAAA":
		network := "ip4"
		if t.Type == "AAAA" {
			network = "ip6"
		}
		ips, err := res.LookupIP(ctx, network, t.Name)
		out := make([]string, len(ips))
		for i, ip := range ips {
			out[i] = ip.String()
		}
		return out, err
	case "CNAME":
		c, err := res.LookupCNAME(ctx, t.Name)
		if err != nil {
			return nil, err
		}
		return []string{c}, nil
	case "MX":
		mx, err := res.LookupMX(ctx, t.Name)
		out := make([]string, len(mx))
		for i, m := range mx {
			out[i] = m.Host
		}
		return out, err
	case "NS":
		ns, err := res.LookupNS(ctx, t.Name)
		out := make([]string, len(ns))
		for i, n := range ns {
			out[i] = n.Host
		}
		return out, err
	case "TXT":
		return res.LookupTXT(ctx, t.Name)
	}
	return nil, fmt.Errorf("unsupported record type %s", t.Type)
}
