package monitor

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"upmon/platform/netguard"
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
	res := p.resolver(t.Server)
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
	if err := p.guardAnswers(t.Type, answers); err != nil {
		r.Err = describeError(err, ctx)
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

// resolver returns the resolver of a dns: check. A server named in the
// check was typed by whoever added the site, so it is dialled through the
// outbound policy; the operator's resolver (ProberOptions.Resolver, else
// /etc/resolv.conf) is trusted and dialled directly. The answers are
// guarded either way (guardAnswers).
func (p *Prober) resolver(server string) *net.Resolver {
	res := &net.Resolver{PreferGo: true}
	switch {
	case server != "":
		res.Dial = func(ctx context.Context, network, _ string) (net.Conn, error) {
			return p.dial(ctx, network, server)
		}
	case p.opts.Resolver != "":
		res.Dial = func(ctx context.Context, network, _ string) (net.Conn, error) {
			return netguard.BindSource(&net.Dialer{}, p.opts.SourceAddr)(ctx, network, p.opts.Resolver)
		}
	default:
		res.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
			return netguard.BindSource(&net.Dialer{}, p.opts.SourceAddr)(ctx, network, addr)
		}
	}
	return res
}

// guardAnswers refuses an A or AAAA answer the outbound policy refuses,
// so a DNS check cannot map the internal network.
func (p *Prober) guardAnswers(typ string, answers []string) error {
	if !p.opts.DenyPrivate || (typ != "A" && typ != "AAAA") {
		return nil
	}
	for _, a := range answers {
		if err := netguard.CheckHost(a); err != nil {
			return err
		}
	}
	return nil
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
