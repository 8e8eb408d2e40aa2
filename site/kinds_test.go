package site_test

import (
	"context"
	"strings"
	"testing"

	"upmon/platform/sqldb"
	"upmon/platform/sqldb/sqldbtest"
	"upmon/site"
)

func TestNewKindsURLs(t *testing.T) {
	t.Parallel()
	valid := map[string]string{
		"icmp:127.0.0.1":                      site.KindICMP,
		"icmp:::1":                            site.KindICMP,
		"icmp:[::1]":                          site.KindICMP,
		"ICMP:host.example":                   site.KindICMP,
		"grpc://127.0.0.1:50051":              site.KindGRPC,
		"grpcs://api.example:443?service=a.B": site.KindGRPC,
		"ws://127.0.0.1:8080/socket?x=1":      site.KindWebSocket,
		"wss://example.com/live":              site.KindWebSocket,
		"WSS://example.com":                   site.KindWebSocket,
	}
	for u, want := range valid {
		if _, err := site.ValidateURL(u); err != nil {
			t.Errorf("ValidateURL(%q) = %v", u, err)
		}
		if got, err := site.KindOf(u); err != nil || got != want {
			t.Errorf("KindOf(%q) = %q, %v; want %s", u, got, err, want)
		}
	}
	invalid := map[string]string{
		"icmp:":                               "icmp:host",
		"icmp:host:80":                        "icmp:host",
		"icmp:a b":                            "white space",
		"grpc://127.0.0.1":                    "grpc://host:port",
		"grpc://127.0.0.1:0":                  "port must be",
		"grpc://127.0.0.1:50051/x":            "grpc://host:port",
		"grpc://127.0.0.1:50051?svc=x":        `unknown grpc parameter "svc"`,
		"grpcs://127.0.0.1:50051?service=%20": "grpc service",
		"ws://":                               "ws://host/path",
		"wss://example.com:99999/":            "port must be",
	}
	for u, want := range invalid {
		_, err := site.ValidateURL(u)
		if fieldOf(err) != "url" || !strings.Contains(err.Error(), want) {
			t.Errorf("ValidateURL(%q) = %v (field %s), want url: …%s…", u, err, fieldOf(err), want)
		}
	}
}

func TestNewKindsAddAndWSSend(t *testing.T) {
	t.Parallel()
	svc := MustOpen(t)
	for body, kind := range map[string]string{
		`{"url":"icmp:127.0.0.1","kind":"icmp"}`:                         site.KindICMP,
		`{"url":"grpc://127.0.0.1:50051?service=x","kind":"grpc"}`:       site.KindGRPC,
		`{"url":"ws://127.0.0.1:1/s","ws_send":"ping","keyword":"pong"}`: site.KindWebSocket,
	} {
		st, err := addJSON(svc, body)
		if err != nil || st.Kind != kind {
			t.Fatalf("add %s = %+v, %v; want kind %s", body, st, err, kind)
		}
	}
	for body, field := range map[string]string{
		`{"url":"icmp:127.0.0.1","kind":"tcp"}`:                                                       "kind",
		`{"url":"ws://127.0.0.1:1/s","ws_send":"` + strings.Repeat("a", site.MaxWSSendBytes+1) + `"}`: "ws_send",
		`{"url":"ws://127.0.0.1:1/s","ws_send":"` + site.Redacted + `"}`:                              "ws_send",
		`{"url":"ws://127.0.0.1:1/s","ws_send":7}`:                                                    "ws_send",
	} {
		if _, err := addJSON(svc, body); fieldOf(err) != field {
			t.Errorf("add %.80s = %v, want field %s", body, err, field)
		}
	}
	st, err := addJSON(svc, `{"url":"wss://127.0.0.1:2/s","ws_send":"{\"token\":\"t\"}"}`)
	if err != nil {
		t.Fatal(err)
	}
	if r := st.RedactedFor(site.AccessRead); r.WSSend != site.Redacted || st.WSSend != `{"token":"t"}` {
		t.Fatalf("read-only view ws_send = %q (site keeps %q)", r.WSSend, st.WSSend)
	}
	if got := site.PublicURL("wss://u:p@127.0.0.1:2/s?token=x"); got != "wss://127.0.0.1:2/s" {
		t.Fatalf("PublicURL = %q", got)
	}
}

func TestNewKindsDenyPrivate(t *testing.T) {
	t.Parallel()
	db, err := sqldb.Open(context.Background(), sqldbtest.Config(t), "site", site.Migrations())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	svc := site.New(db, site.Options{DenyPrivate: true})
	for _, u := range []string{"icmp:127.0.0.1", "icmp:[::1]", "grpc://10.0.0.1:50051", "grpcs://127.0.0.1:443", "ws://192.168.1.1/", "wss://[::1]:8443/x"} {
		_, err := addJSON(svc, `{"url":"`+u+`"}`)
		if fieldOf(err) != "url" || !strings.Contains(err.Error(), "refused: ") {
			t.Errorf("add %s with --deny-private-targets = %v", u, err)
		}
	}
}
