package monitor_test

import (
	"context"
	"crypto/tls"
	"net"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"upmon/internal/loopback"
	"upmon/monitor"
	"upmon/platform/netguard"
	"upmon/site"
)

// serveGRPCHealth starts a gRPC server with the standard health service
// on a loopback port: the server and svc.ok are SERVING, svc.down is
// NOT_SERVING. With tlsCert it serves TLS. It returns host:port.
func serveGRPCHealth(t *testing.T, tlsCert *tls.Certificate) string {
	t.Helper()
	var opts []grpc.ServerOption
	if tlsCert != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{*tlsCert}})))
	}
	srv := grpc.NewServer(opts...)
	hs := health.NewServer()
	hs.SetServingStatus("svc.ok", healthpb.HealthCheckResponse_SERVING)
	hs.SetServingStatus("svc.down", healthpb.HealthCheckResponse_NOT_SERVING)
	healthpb.RegisterHealthServer(srv, hs)
	return serveGRPC(t, srv)
}

func serveGRPC(t *testing.T, srv *grpc.Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	return ln.Addr().String()
}

// grpcSpec is the spec of a site with a grpc URL.
func grpcSpec(t *testing.T, u string, timeout time.Duration) monitor.Spec {
	t.Helper()
	kind, err := site.KindOf(u)
	if err != nil || kind != site.KindGRPC {
		t.Fatalf("KindOf(%s) = %q, %v", u, kind, err)
	}
	st := &site.Site{ID: 1, URL: u, Kind: kind}
	st.Settings = st.Settings.Filled(site.Defaults{Interval: time.Minute, Timeout: timeout})
	return monitor.SpecOf(st)
}

func TestProbeGRPCHealth(t *testing.T) {
	t.Parallel()
	addr := serveGRPCHealth(t, nil)
	bare := serveGRPC(t, grpc.NewServer()) // no health service
	_, closed := loopback.TCP(t)
	p := newTestProber()
	for _, tc := range []struct {
		url, reason string
		up          bool
	}{
		{"grpc://" + addr, "", true},
		{"grpc://" + addr + "?service=svc.ok", "", true},
		{"grpc://" + addr + "?service=svc.down", "gRPC health: NOT_SERVING", false},
		{"grpc://" + addr + "?service=svc.gone", "gRPC NotFound: unknown service", false},
		{"grpc://" + bare, "gRPC Unimplemented: ", false},
		{"grpc://" + closed, "connection refused", false},
	} {
		r := p.Check(context.Background(), grpcSpec(t, tc.url, 2*time.Second))
		if r.Up != tc.up || !strings.HasPrefix(r.Err, tc.reason) || (tc.up && (r.Err != "" || r.Connect <= 0 || r.Latency <= 0)) {
			t.Errorf("%s: %+v, want up=%v reason %q…", tc.url, r, tc.up, tc.reason)
		}
	}
}

func TestProbeGRPCTLS(t *testing.T) {
	t.Parallel()
	pki := newTestPKI(t, time.Now().Add(48*time.Hour+30*time.Minute))
	addr := serveGRPCHealth(t, &pki.leaf)
	sp := grpcSpec(t, "grpcs://"+addr+"?service=svc.ok", 2*time.Second)

	trusting := monitor.NewProber(monitor.ProberOptions{Timeout: 2 * time.Second, TLSClientConfig: &tls.Config{RootCAs: pki.roots}})
	r := trusting.Check(context.Background(), sp)
	if !r.Up || r.TLSDaysLeft == nil || *r.TLSDaysLeft != 2 || r.TLS <= 0 {
		t.Fatalf("trusted grpcs check: %+v", r)
	}
	// The certificate is verified: without the test CA it is down.
	if r := newTestProber().Check(context.Background(), sp); r.Up || !strings.HasPrefix(r.Err, "TLS certificate: ") {
		t.Fatalf("untrusted grpcs check: %+v", r)
	}
	// Plain grpc:// to a TLS server is down too.
	if r := trusting.Check(context.Background(), grpcSpec(t, "grpc://"+addr, 2*time.Second)); r.Up || r.Err == "" {
		t.Fatalf("grpc:// to a TLS server: %+v", r)
	}
}

func TestProbeGRPCPolicyAndTimeout(t *testing.T) {
	t.Parallel()
	addr := serveGRPCHealth(t, nil)
	// The prober's dialer (the outbound policy) dials gRPC too.
	guarded := monitor.NewProber(monitor.ProberOptions{Timeout: 2 * time.Second, Dialer: netguard.Dialer(2 * time.Second)})
	if r := guarded.Check(context.Background(), grpcSpec(t, "grpc://"+addr, 2*time.Second)); r.Up || !strings.HasPrefix(r.Err, "refused: 127.0.0.1 is a loopback address") {
		t.Fatalf("grpc check under --deny-private-targets: %+v", r)
	}
	// A listener that never answers: the check ends at its timeout.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	if r := newTestProber().Check(context.Background(), grpcSpec(t, "grpc://"+ln.Addr().String(), 200*time.Millisecond)); r.Up || r.Err != "timeout" {
		t.Fatalf("grpc check of a silent server: %+v", r)
	}
}
