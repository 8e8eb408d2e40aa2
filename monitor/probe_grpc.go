package monitor

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"upmon/site"
)

// checkGRPC asks a grpc:// or grpcs:// server's grpc.health.v1 service
// for the health of the URL's service ("" is the whole server); up when
// the answer is SERVING. The connection is dialled through the prober's
// dialer (the outbound policy) and closed after the check.
func (p *Prober) checkGRPC(ctx context.Context, sp Spec) Result {
	t, err := site.ParseGRPC(sp.URL)
	if err != nil {
		return Result{Err: "invalid grpc URL"}
	}
	start := time.Now()
	var rec grpcRecorder
	var creds credentials.TransportCredentials = insecure.NewCredentials()
	if t.TLS {
		cfg := &tls.Config{}
		if p.opts.TLSClientConfig != nil {
			cfg = p.opts.TLSClientConfig.Clone()
		}
		creds = credentials.NewTLS(cfg)
	}
	opts := []grpc.DialOption{
		grpc.WithTransportCredentials(&recordingCreds{TransportCredentials: creds, rec: &rec}),
		grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) {
			rec.set(&rec.connStart, nil)
			conn, err := p.dial(ctx, "tcp", addr)
			rec.set(&rec.connDone, &rec.dialErr, err)
			return conn, err
		}),
		grpc.WithDisableRetry(),
		grpc.WithDisableServiceConfig(),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(MaxBodyRead)),
	}
	if p.opts.UserAgent != "" {
		opts = append(opts, grpc.WithUserAgent(p.opts.UserAgent))
	}
	conn, err := grpc.NewClient("passthrough:///"+t.Addr, opts...)
	if err != nil {
		return Result{Latency: time.Since(start), Err: "invalid grpc URL"}
	}
	defer conn.Close()
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: t.Service})
	r := Result{Latency: time.Since(start)}
	rec.fill(&r, start)
	if err != nil {
		r.Err = rec.describe(err, ctx)
		return r
	}
	if s := resp.GetStatus(); s != healthpb.HealthCheckResponse_SERVING {
		r.Err = "gRPC health: " + s.String()
		return r
	}
	r.Up = true
	return r
}

// grpcRecorder keeps the phases and the dial and handshake errors of a
// gRPC check, which the RPC's status only carries as text.
type grpcRecorder struct {
	mu                                     sync.Mutex
	connStart, connDone, tlsStart, tlsDone time.Time
	dialErr, tlsErr                        error
	state                                  *tls.ConnectionState
}

// set records now in *at and, when errp is given, err in *errp.
func (g *grpcRecorder) set(at *time.Time, errp *error, err ...error) {
	now := time.Now()
	g.mu.Lock()
	defer g.mu.Unlock()
	*at = now
	if errp != nil && len(err) > 0 {
		*errp = err[0]
	}
}

func (g *grpcRecorder) fill(r *Result, start time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	span := func(a, b time.Time) time.Duration {
		if a.IsZero() || b.IsZero() || b.Before(a) {
			return 0
		}
		return b.Sub(a)
	}
	r.Connect = span(g.connStart, g.connDone)
	if g.state != nil {
		r.TLS = span(g.tlsStart, g.tlsDone)
	}
	if g.state != nil && len(g.state.PeerCertificates) > 0 {
		exp := g.state.PeerCertificates[0].NotAfter
		days := int(time.Until(exp).Hours() / 24)
		r.TLSDaysLeft, r.TLSExpires = &days, exp
	}
}

// describe turns a failed health RPC into a short reason: the dial or
// TLS error when there was one, else the status code and message.
func (g *grpcRecorder) describe(err error, ctx context.Context) string {
	g.mu.Lock()
	dialErr, tlsErr := g.dialErr, g.tlsErr
	g.mu.Unlock()
	st := status.Convert(err)
	switch {
	case dialErr != nil:
		return describeError(dialErr, ctx)
	case tlsErr != nil:
		return describeError(tlsErr, ctx)
	case ctx.Err() != nil || st.Code() == codes.DeadlineExceeded:
		return "timeout"
	}
	return shorten(fmt.Sprintf("gRPC %s: %s", st.Code(), st.Message()))
}

// recordingCreds wraps transport credentials to time the handshake and
// keep its error and the server's certificate.
type recordingCreds struct {
	credentials.TransportCredentials
	rec *grpcRecorder
}

// ClientHandshake runs and records the wrapped handshake.
func (c *recordingCreds) ClientHandshake(ctx context.Context, authority string, conn net.Conn) (net.Conn, credentials.AuthInfo, error) {
	c.rec.set(&c.rec.tlsStart, nil)
	out, info, err := c.TransportCredentials.ClientHandshake(ctx, authority, conn)
	c.rec.set(&c.rec.tlsDone, &c.rec.tlsErr, err)
	if ti, ok := info.(credentials.TLSInfo); ok {
		c.rec.mu.Lock()
		c.rec.state = &ti.State
		c.rec.mu.Unlock()
	}
	return out, info, err
}

// Clone returns c itself: the wrapper lives for one check.
func (c *recordingCreds) Clone() credentials.TransportCredentials { return c }
