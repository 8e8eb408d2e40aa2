package slack

import (
	"context"
	"errors"
	"testing"

	"upmon/platform/api"
)

// TestNotifyAnswers: the endpoint needs a text, answers {} when a channel
// took it, unavailable when one failed (with that channel's error) and
// failed_precondition when there is no Slack channel to post to.
func TestNotifyAnswers(t *testing.T) {
	var got []string
	post := func(n int, err error) func(context.Context, string) (int, error) {
		return func(_ context.Context, text string) (int, error) {
			got = append(got, text)
			return n, err
		}
	}
	cases := []struct {
		name string
		text string
		post func(context.Context, string) (int, error)
		code api.ErrCode
	}{
		{"empty text", "  ", post(1, nil), api.InvalidArgument},
		{"posted", "hello", post(2, nil), ""},
		{"a channel failed", "hello", post(1, errors.New("channel ops: HTTP 500")), api.Unavailable},
		{"no channel", "hello", post(0, nil), api.FailedPrecondition},
		{"no channels service", "hello", nil, api.FailedPrecondition},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got = nil
			s := New(Options{PostToChannels: tc.post})
			_, err := s.Notify(context.Background(), &NotifyParams{Text: tc.text})
			if tc.code == "" {
				if err != nil {
					t.Fatalf("Notify = %v", err)
				}
			} else if !api.IsCode(err, tc.code) {
				t.Fatalf("Notify = %v, want code %s", err, tc.code)
			}
			if tc.code == api.InvalidArgument && len(got) != 0 {
				t.Errorf("an empty text was posted: %q", got)
			}
			if tc.code != api.InvalidArgument && tc.post != nil && (len(got) != 1 || got[0] != tc.text) {
				t.Errorf("posted %q, want %q once", got, tc.text)
			}
		})
	}
}
