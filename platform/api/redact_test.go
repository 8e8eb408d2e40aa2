package api

import (
	"bytes"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestRedactPath(t *testing.T) {
	cases := map[string]string{
		"/site/1":                                          "/site/1",
		"/push/abc123secret":                               "/push/REDACTED",
		"/push/abc123secret/extra":                         "/push/REDACTED/extra",
		"/push/":                                           "/push/",
		"/ping/https://user:pw@example.com/x":              "/ping/https://REDACTED@example.com/x",
		"/ping/http://u@h@example.com":                     "/ping/http://REDACTED@example.com",
		"/ping/https://example.com/a@b":                    "/ping/https://example.com/a@b",
		"/ping/https://example.com/?token=s3cret&x=1&flag": "/ping/https://example.com/?token=REDACTED&x=REDACTED&flag",
		"/frontend/?msg=checked":                           "/frontend/?msg=REDACTED",
		"https://a:b@x/?k=v#frag":                          "https://REDACTED@x/?k=REDACTED",
	}
	for in, want := range cases {
		if got := RedactPath(in); got != want {
			t.Errorf("RedactPath(%q) = %q, want %q", in, got, want)
		}
	}
}

// An internal error on a push URL or a ping of a URL with credentials is
// logged without the token, the password or the query values.
func TestWriteErrorLogsRedactedPath(t *testing.T) {
	var buf bytes.Buffer
	s := NewServer(slog.New(slog.NewTextHandler(&buf, nil)))
	for _, target := range []string{"/push/tok-0123456789abcdef", "/ping/https://user:hunter2@example.com/?key=topsecret"} {
		r := httptest.NewRequest("GET", "/", nil)
		r.URL.Path, r.URL.RawQuery, _ = strings.Cut(target, "?")
		s.WriteError(httptest.NewRecorder(), r, errInternalForTest{})
	}
	out := buf.String()
	for _, secret := range []string{"tok-0123456789abcdef", "hunter2", "topsecret"} {
		if strings.Contains(out, secret) {
			t.Errorf("log carries %q: %s", secret, out)
		}
	}
	if strings.Count(out, Redacted) < 3 {
		t.Errorf("log does not say what was redacted: %s", out)
	}
}

type errInternalForTest struct{}

func (errInternalForTest) Error() string { return "boom" }
