package e2e

import (
	"crypto/tls"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"golang.org/x/net/icmp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	grpchealth "google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"upmon/internal/app"
	"upmon/internal/app/apptest"
	"upmon/monitor"
)

// siteState is a site's entry in GET /status.
func siteState(t *testing.T, c apptest.Client, id string) string {
	t.Helper()
	var st struct {
		Sites map[string]struct {
			State string `json:"state"`
		} `json:"sites"`
	}
	c.JSON("GET", "/status", "", &st)
	return st.Sites[id].State
}

func TestICMPChecks(t *testing.T) {
	t.Parallel()
	permitted := false
	for _, nw := range []string{"udp4", "ip4:icmp"} {
		if conn, err := icmp.ListenPacket(nw, "127.0.0.1"); err == nil {
			conn.Close()
			permitted = true
		}
	}
	if !permitted {
		t.Skip("neither ping sockets (net.ipv4.ping_group_range) nor raw sockets are permitted to this process")
	}
	m := apptest.Start(t, quickConfig(t), app.Hooks{})
	c := apptest.Client{Base: m.URL(), TB: t}
	var added struct {
		Kind string `json:"kind"`
	}
	c.JSON("POST", "/site", `{"url":"icmp:127.0.0.1"}`, &added)
	v6 := addSite(t, c, `{"url":"icmp:[::1]","kind":"icmp"}`)
	if added.Kind != "icmp" {
		t.Fatalf("POST /site icmp: answer kind %q", added.Kind)
	}
	for _, id := range []string{"1", v6} {
		if r := checkNow(t, c, id); !r.Up || r.State != "up" || r.Error != "" {
			t.Fatalf("icmp check of site %s = %+v", id, r)
		}
		if got := getSite(t, c, id); got["kind"] != "icmp" {
			t.Fatalf("GET icmp site = %v", got)
		}
	}

	// --deny-private-targets: a loopback literal is refused when added; a
	// name that resolves to loopback is down, nothing sent.
	cfg := quickConfig(t)
	cfg.DenyPrivateTargets = true
	guarded := apptest.Client{Base: apptest.Start(t, cfg, app.Hooks{}).URL(), TB: t}
	if status, body := guarded.Do("POST", "/site", `{"url":"icmp:127.0.0.1"}`); status != 400 || !strings.Contains(body, `"field":"url"`) || !strings.Contains(body, "refused: 127.0.0.1 is a loopback address") {
		t.Fatalf("POST icmp:127.0.0.1 with --deny-private-targets = %d %s", status, body)
	}
	id := addSite(t, guarded, `{"url":"icmp:localhost"}`)
	if r := checkNow(t, guarded, id); r.Up || r.State != "down" || !strings.HasPrefix(r.Error, "refused: ") || !strings.Contains(r.Error, "loopback") {
		t.Fatalf("icmp:localhost with --deny-private-targets = %+v", r)
	}
}

// startGRPCHealth serves grpc.health.v1 on a loopback port (TLS with
// cert when given): "" and svc.ok SERVING, svc.down NOT_SERVING.
func startGRPCHealth(t *testing.T, cert *tls.Certificate) string {
	t.Helper()
	var opts []grpc.ServerOption
	if cert != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{*cert}})))
	}
	srv := grpc.NewServer(opts...)
	hs := grpchealth.NewServer()
	hs.SetServingStatus("svc.ok", healthpb.HealthCheckResponse_SERVING)
	hs.SetServingStatus("svc.down", healthpb.HealthCheckResponse_NOT_SERVING)
	healthpb.RegisterHealthServer(srv, hs)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	return ln.Addr().String()
}

func TestGRPCChecks(t *testing.T) {
	t.Parallel()
	roots, leaf := loopbackPKI(t, time.Now().Add(90*24*time.Hour))
	plain, secure := startGRPCHealth(t, nil), startGRPCHealth(t, &leaf)
	m := apptest.Start(t, quickConfig(t), app.Hooks{Monitor: monitor.Hooks{TLSClientConfig: &tls.Config{RootCAs: roots}}})
	c := apptest.Client{Base: m.URL(), TB: t}

	var added struct {
		Kind string `json:"kind"`
	}
	c.JSON("POST", "/site", `{"url":"grpc://`+plain+`?service=svc.ok"}`, &added)
	down := addSite(t, c, `{"url":"grpc://`+plain+`?service=svc.down"}`)
	unknown := addSite(t, c, `{"url":"grpc://`+plain+`?service=svc.gone"}`)
	tlsUp := addSite(t, c, `{"url":"grpcs://`+secure+`","kind":"grpc"}`)
	if added.Kind != "grpc" {
		t.Fatalf("POST /site grpc: answer kind %q", added.Kind)
	}
	for id, want := range map[string]string{"1": "", tlsUp: "", down: "gRPC health: NOT_SERVING", unknown: "gRPC NotFound: unknown service"} {
		r := checkNow(t, c, id)
		if r.Up != (want == "") || r.Error != want || (want == "" && r.State != "up") || (want != "" && r.State != "down") {
			t.Errorf("grpc check of site %s = %+v, want error %q", id, r, want)
		}
		if s := siteState(t, c, id); s != r.State {
			t.Errorf("GET /status site %s = %q, want %q", id, s, r.State)
		}
	}
	if status, body := c.Do("POST", "/site", `{"url":"grpc://`+plain+`/x"}`); status != 400 || !strings.Contains(body, `"field":"url"`) {
		t.Fatalf("POST a grpc URL with a path = %d %s", status, body)
	}
}

func TestWebSocketChecks(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	mux.HandleFunc("/live", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer t" {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		conn, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer conn.CloseNow()
		if _, msg, err := conn.Read(r.Context()); err == nil {
			_ = conn.Write(r.Context(), websocket.MessageText, append([]byte("ack "), msg...))
			_, _, _ = conn.Read(r.Context())
		}
	})
	roots, leaf := loopbackPKI(t, time.Now().Add(90*24*time.Hour))
	srv := httptest.NewUnstartedServer(mux)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{leaf}}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	u := "wss" + strings.TrimPrefix(srv.URL, "https") + "/live"
	m := apptest.Start(t, quickConfig(t), app.Hooks{Monitor: monitor.Hooks{TLSClientConfig: &tls.Config{RootCAs: roots}}})
	c := apptest.Client{Base: m.URL(), TB: t}

	auth := `"headers":{"Authorization":"Bearer t"}`
	var added struct {
		Kind string `json:"kind"`
	}
	c.JSON("POST", "/site", `{"url":"`+u+`",`+auth+`,"ws_send":"subscribe","keyword":"ack subscribe"}`, &added)
	mismatch := addSite(t, c, `{"url":"`+u+`?v=2",`+auth+`,"ws_send":"subscribe","keyword":"nope"}`)
	refused := addSite(t, c, `{"url":"`+u+`?v=3","kind":"websocket"}`)
	if added.Kind != "websocket" {
		t.Fatalf("POST /site websocket: answer kind %q", added.Kind)
	}
	for id, want := range map[string]string{"1": "", mismatch: `keyword "nope" not found in the first reply`, refused: "HTTP 403"} {
		r := checkNow(t, c, id)
		if r.Up != (want == "") || r.Error != want || (want == "" && (r.State != "up" || r.StatusCode != 101)) || (want != "" && r.State != "down") {
			t.Errorf("websocket check of site %s = %+v, want error %q", id, r, want)
		}
	}
	if got := getSite(t, c, "1"); got["kind"] != "websocket" || got["ws_send"] != "subscribe" {
		t.Fatalf("GET websocket site = %v", got)
	}
	if status, body := c.Do("PATCH", "/site/1", `{"ws_send":"`+strings.Repeat("x", 17<<10)+`"}`); status != 400 || !strings.Contains(body, `"field":"ws_send"`) {
		t.Fatalf("PATCH a too long ws_send = %d %.200s", status, body)
	}
}
