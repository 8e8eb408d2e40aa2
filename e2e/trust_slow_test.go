package e2e

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"upmon/internal/app"
	"upmon/internal/app/apptest"
	"upmon/site"
)

// TestSlowReaderIsCutOff: a client that asks for GET /site and never
// reads the answers does not pin the handler: the server gives up after
// --write-timeout (counted in upmon_http_write_timeouts_total) and closes
// the connection, while a live stream (SSE) stays open.
func TestSlowReaderIsCutOff(t *testing.T) {
	t.Parallel()
	cfg := quickConfig(t)
	cfg.WriteTimeout = 300 * time.Millisecond
	m := apptest.Start(t, cfg, app.Hooks{})
	c := apptest.Client{Base: m.URL(), TB: t}
	name := strings.Repeat("n", 180)
	for i := range 100 {
		if _, err := m.Site.Add(context.Background(), &site.AddParams{Kind: "push", Name: fmt.Sprintf("%s-%d", name, i),
			Settings: site.Settings{}}); err != nil {
			t.Fatal(err)
		}
	}
	_, all := c.Do("GET", "/site", "")
	t.Logf("GET /site is %d bytes", len(all))

	// A live stream opened now outlives the write timeout.
	resp, err := http.Get(m.URL() + "/frontend/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	lines := make(chan string, 64)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()

	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 1024) })
		return errors.Join(err, serr)
	}}
	conn, err := d.Dial("tcp", strings.TrimPrefix(m.URL(), "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Pipelined requests: the answers together (about 10 MB) are more
	// than the kernel buffers between the server and this client hold.
	const requests = 120
	if _, err := conn.Write([]byte(strings.Repeat("GET /site HTTP/1.1\r\nHost: x\r\n\r\n", requests))); err != nil {
		t.Fatal(err)
	}
	apptest.Eventually(t, 20*time.Second, "the server gives up on the slow reader", func() bool {
		// The short write timeout applies to this poll too: on a busy
		// machine a /metrics answer can be cut off, which is no answer.
		resp, err := http.Get(m.URL() + "/metrics")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		metrics, err := io.ReadAll(resp.Body)
		return err == nil && strings.Contains(string(metrics), "upmon_http_write_timeouts_total 1")
	})
	// What the client reads now is cut short: the server closed the
	// connection instead of waiting for it.
	got, _ := io.ReadAll(conn)
	if len(got) >= requests*len(all) {
		t.Fatalf("the slow reader got every answer (%d of %d bytes)", len(got), requests*len(all))
	}
	// The stream, open since before the cut, still delivers a check.
	target := apptest.NewTarget(t)
	checkNow(t, c, addSite(t, c, `{"url":"`+target.URL+`"}`))
	timeout := time.After(20 * time.Second)
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatal("the live stream ended")
			}
			if line == "event: check" {
				return
			}
		case <-timeout:
			t.Fatal("no check event on the live stream")
		}
	}
}
