package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"upmon/internal/app"
	"upmon/internal/app/apptest"
)

// TestHostileInputs sends malformed and hostile requests to every
// endpoint: each gets a 4xx JSON error (or, for /ping, {"up": false}),
// never a 5xx or a panic, and nothing in the database changes.
func TestHostileInputs(t *testing.T) {
	t.Parallel()
	cfg := apptest.Config(t)
	cfg.RateLimit = 1000
	cfg.RateBurst = 1000
	m := apptest.Start(t, cfg, app.Hooks{})
	c := apptest.Client{Base: m.URL(), TB: t}
	target := apptest.NewTarget(t)
	c.JSON("POST", "/site", `{"url":"`+target.URL+`"}`, nil)
	_, before := c.Do("GET", "/site", "")

	long := "https://x.org/" + strings.Repeat("a", 3000)
	nested := strings.Repeat("[", 100000) + strings.Repeat("]", 100000)
	hugeID := "99999999999999999999999999"
	type req struct{ method, path, body string }
	var reqs []req
	for _, b := range []string{
		`{"url":"` + long + `"}`, "{\"url\":\"https://x.org/\x01\"}", "{\"url\":\"https://x.org/\xff\xfe\"}",
		`{"url":"https://x.org/a b"}`, `{"url":123}`, `[]`, `null`, `"str"`, `{"url":"a","url":"b"}`,
		nested, `{"url":"https://x.org","interval":"-5s"}`, `{"url":"https://x.org","interval":99999999999999999999}`,
		`{"url":"https://x.org","retries":-1}`, `{"url":"https://x.org","nope":1}`, `{"url":"https://x.org","json_path":[{"path":"x","op":"=="}]}`,
		`{"url":"file:///etc/passwd"}`, `{"url":"gopher://x.org"}`, `{"url":"javascript:alert(1)"}`, `{"url":"http://"}`,
		`{"kind":"push"}`, `{"kind":"bogus","url":"https://x.org"}`, `{"url":"https://x.org","headers":{"Bad Name":"v"}}`,
		`{"url":"https://x.org","headers":{"X":"a\r\nInjected: 1"}}`, "\x00\x01\x02", `{"url":"https://x.org"} trailing`,
	} {
		reqs = append(reqs, req{"POST", "/site", b})
	}
	for _, id := range []string{"-1", "0", hugeID, "abc", "1e3", "%00", "1.5", "0x10"} {
		reqs = append(reqs,
			req{"GET", "/site/" + id, ""}, req{"DELETE", "/site/" + id, ""}, req{"PATCH", "/site/" + id, `{"name":"x"}`},
			req{"POST", "/check/" + id, ""}, req{"GET", "/site/" + id + "/checks", ""}, req{"GET", "/site/" + id + "/uptime", ""},
			req{"GET", "/site/" + id + "/incidents", ""}, req{"GET", "/site/" + id + "/latency", ""},
			req{"DELETE", "/maintenance/" + id, ""},
		)
	}
	for _, q := range []string{"limit=-1", "limit=" + hugeID, "limit=abc", "since=garbage", "before=-", "since=1&before=2"} {
		reqs = append(reqs, req{"GET", "/site/1/checks?" + q, ""})
	}
	for _, q := range []string{"window=abc", "window=-1d", "window=10000d", "window=%00"} {
		reqs = append(reqs, req{"GET", "/site/1/uptime?" + q, ""}, req{"GET", "/site/1/latency?" + q, ""})
	}
	reqs = append(reqs,
		req{"PATCH", "/site/1", `{"kind":"tcp"}`}, req{"PATCH", "/site/1", `{"interval":"0.5s"}`},
		req{"PATCH", "/site/1", `{"expected_status":["600"]}`}, req{"PATCH", "/site/1", `{"url":"ftp://x"}`},
		req{"PATCH", "/site/99", `{"name":"x"}`},
		req{"POST", "/maintenance", `{}`}, req{"POST", "/maintenance", `{"sites":[1],"start":"x"}`},
		req{"POST", "/maintenance", `{"sites":[-1],"start":"2026-01-01T00:00:00Z","end":"2025-01-01T00:00:00Z"}`},
		req{"POST", "/maintenance", `{"tags":["a"],"start":"2026-01-01T00:00:00Z","end":"2026-02-01T00:00:00Z","recurrence":"weekly"}`},
		req{"POST", "/admin/deadletters/" + strings.Repeat("x", 500) + "/replay", ""},
		req{"POST", "/admin/deadletters/..%2F..%2Fetc/replay", ""},
		req{"POST", "/admin/deadletters/%ff%fe/replay", ""}, req{"POST", "/admin/deadletters/a.b.*/replay", ""},
		req{"POST", "/push/" + strings.Repeat("z", 300), ""}, req{"GET", "/push/%ff", ""},
		req{"PUT", "/site", ""}, req{"GET", "/site/1/nope", ""},
	)
	for _, r := range reqs {
		status, body := c.Do(r.method, r.path, r.body)
		if status < 400 || status >= 500 {
			t.Errorf("%s %s %.60q: status %d %.200s", r.method, r.path, r.body, status, body)
			continue
		}
		if !strings.HasPrefix(body, `{"code":"`) || !strings.Contains(body, `"message":`) {
			t.Errorf("%s %s: not a JSON error: %.200s", r.method, r.path, body)
		}
	}

	// /ping answers {"up": false} for anything it cannot check.
	for _, p := range []string{"/ping/" + strings.Repeat("a", 5000), "/ping/%ff%fe", "/ping/javascript:alert(1)",
		"/ping/file:///etc/passwd", "/ping/gopher://x", "/ping/http://[::1", "/ping/"} {
		status, body := c.Do("GET", p, "")
		if status != 200 || !strings.Contains(body, `{"up":false}`) {
			t.Errorf("GET %.80s = %d %.200s", p, status, body)
		}
	}

	// A body over 1 MiB is refused without being read whole.
	status, body := c.Do("POST", "/site", `{"url":"`+strings.Repeat("x", 2<<20)+`"}`)
	if status != 413 || !strings.Contains(body, "resource_exhausted") {
		t.Errorf("huge body: %d %.200s", status, body)
	}

	if _, after := c.Do("GET", "/site", ""); after != before {
		t.Fatalf("the site list changed:\nbefore %s\nafter  %s", before, after)
	}
}

// TestSlowlorisBody: a body that trickles is cut off by the server's read
// timeout; the server stays up.
func TestSlowlorisBody(t *testing.T) {
	t.Parallel()
	cfg := apptest.Config(t)
	cfg.ReadTimeout = 500 * time.Millisecond
	m := apptest.Start(t, cfg, app.Hooks{})
	conn, err := net.Dial("tcp", strings.TrimPrefix(m.URL(), "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /site HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{")
	start := time.Now()
	cut := false
	for i := 0; i < 40 && !cut; i++ { // at most 4 s of trickling
		time.Sleep(100 * time.Millisecond)
		if _, err := conn.Write([]byte(" ")); err != nil {
			cut = true
		}
		_ = conn.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
		if _, err := bufio.NewReader(conn).ReadByte(); err != nil && err != io.EOF {
			if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
				cut = true
			}
		} else if err == io.EOF {
			cut = true
		} else {
			cut = true // the server answered (an error) and will close
		}
	}
	if !cut {
		t.Fatalf("a trickling body kept the connection for %v", time.Since(start))
	}
	resp, err := http.Get(m.URL() + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("server unhealthy after slowloris: %v %v", resp, err)
	}
	resp.Body.Close()
}
