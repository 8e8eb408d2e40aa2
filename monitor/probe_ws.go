package monitor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"time"

	"github.com/coder/websocket"
)

// checkWebSocket opens a ws:// or wss:// connection through the prober's
// HTTP transport (its dialer carries the outbound policy, its TLS
// configuration the roots) and is up when the handshake succeeds. With
// ws_send the message is sent; with a keyword, the first reply must
// contain it (or not, keyword_mode absent).
func (p *Prober) checkWebSocket(ctx context.Context, sp Spec) Result {
	start := time.Now()
	var t timing
	hdr := http.Header{}
	for k, v := range sp.Headers {
		if http.CanonicalHeaderKey(k) != "Host" {
			hdr.Set(k, v)
		}
	}
	if hdr.Get("User-Agent") == "" && p.opts.UserAgent != "" {
		hdr.Set("User-Agent", p.opts.UserAgent)
	}
	c, resp, err := websocket.Dial(httptrace.WithClientTrace(ctx, t.trace()), sp.URL, &websocket.DialOptions{
		HTTPClient: p.clients[0][0], // a fresh connection, redirects not followed
		HTTPHeader: hdr,
		Host:       sp.Headers["Host"],
	})
	r := Result{Latency: time.Since(start)}
	t.fill(&r, start)
	if resp != nil {
		r.StatusCode = resp.StatusCode
		if resp.TLS != nil && len(resp.TLS.PeerCertificates) > 0 {
			exp := resp.TLS.PeerCertificates[0].NotAfter
			days := int(time.Until(exp).Hours() / 24)
			r.TLSDaysLeft, r.TLSExpires = &days, exp
		}
	}
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			r.Err = fmt.Sprintf("HTTP %d", resp.StatusCode)
		} else {
			r.Err = describeError(err, ctx)
		}
		return r
	}
	defer c.CloseNow()
	if err := p.wsExchange(ctx, c, sp); err != "" {
		r.Latency = time.Since(start)
		r.Err = err
		return r
	}
	r.Latency = time.Since(start)
	r.Up = true
	_ = c.Close(websocket.StatusNormalClosure, "")
	return r
}

// wsExchange sends ws_send and checks the keyword against the first
// reply (at most MaxBodyRead bytes of it); "" when both pass.
func (p *Prober) wsExchange(ctx context.Context, c *websocket.Conn, sp Spec) string {
	if sp.WSSend != "" {
		if err := c.Write(ctx, websocket.MessageText, []byte(sp.WSSend)); err != nil {
			return wsError("sending ws_send", err, ctx)
		}
	}
	if sp.Keyword == "" {
		return ""
	}
	c.SetReadLimit(-1) // read a bounded prefix below, whatever the size
	_, rd, err := c.Reader(ctx)
	if err != nil {
		return wsError("waiting for a reply", err, ctx)
	}
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, io.LimitReader(rd, MaxBodyRead)); err != nil {
		return wsError("reading the reply", err, ctx)
	}
	if bytes.Contains(buf.Bytes(), []byte(sp.Keyword)) != sp.KeywordAbsent {
		return ""
	}
	if sp.KeywordAbsent {
		return fmt.Sprintf("keyword %q found in the first reply", shorten(sp.Keyword))
	}
	return fmt.Sprintf("keyword %q not found in the first reply", shorten(sp.Keyword))
}

// wsError describes a failure after the handshake: a close by the
// server with its status, else the network error.
func wsError(what string, err error, ctx context.Context) string {
	if code := websocket.CloseStatus(err); code != -1 {
		return fmt.Sprintf("websocket closed by the server (%d) before a reply", code)
	}
	if ctx.Err() != nil {
		return "timeout " + what
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return "websocket: the server dropped the connection " + what
	}
	return shorten("websocket: " + what + ": " + describeError(err, ctx))
}
