package api

import (
	"net/http/httptest"
	"testing"
	"time"
)

// Every 429 carries Retry-After in whole seconds (rounded up); other
// answers carry none.
func TestRetryAfter(t *testing.T) {
	s := NewServer(nil)
	cases := []struct {
		err  *Error
		want string
	}{
		{&Error{Code: ResourceExhausted, Message: "slow down", RetryAfter: 1500 * time.Millisecond}, "2"},
		{&Error{Code: ResourceExhausted, Message: "slow down", RetryAfter: time.Millisecond}, "1"},
		{Errorf(ResourceExhausted, "the limit of 3 sites is reached"), "60"},
		{ErrBodyTooLarge, ""},
		{Errorf(NotFound, "no"), ""},
	}
	for _, tc := range cases {
		w := httptest.NewRecorder()
		s.WriteError(w, httptest.NewRequest("GET", "/x", nil), tc.err)
		if got := w.Header().Get("Retry-After"); got != tc.want {
			t.Errorf("%v (%d): Retry-After = %q, want %q", tc.err, w.Code, got, tc.want)
		}
	}
}
