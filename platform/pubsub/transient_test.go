package pubsub

import (
	"context"
	"errors"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
)

// TestRetryStoreSetup checks that a stream or bucket creation the server
// failed to store is tried again, and that nothing else is.
func TestRetryStoreSetup(t *testing.T) {
	storeErr := &jetstream.APIError{Code: 500, ErrorCode: errCodeStreamCreate,
		Description: "error creating store for stream"}
	cases := []struct {
		name      string
		failures  int
		err       error
		wantCalls int
		wantErr   bool
	}{
		{"store error twice, then created", 2, storeErr, 3, false},
		{"store error every time", 100, storeErr, setupAttempts, true},
		{"another server error", 100, &jetstream.APIError{Code: 500, ErrorCode: 10052, Description: "other"}, 1, true},
		{"not an API error", 100, errors.New("nats: connection closed"), 1, true},
	}
	for _, c := range cases {
		calls := 0
		v, err := RetryStoreSetup(context.Background(), func(context.Context) (int, error) {
			calls++
			if calls <= c.failures {
				return 0, c.err
			}
			return 42, nil
		})
		if calls != c.wantCalls || (err != nil) != c.wantErr || (err == nil && v != 42) {
			t.Errorf("%s: %d calls, (%d, %v); want %d calls, error %v", c.name, calls, v, err, c.wantCalls, c.wantErr)
		}
	}
}
