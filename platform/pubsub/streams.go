package pubsub

import (
	"context"
	"errors"
	"slices"

	"github.com/nats-io/nats.go/jetstream"
)

// ensureStreamConfig creates the stream cfg describes, or updates it when
// its configuration differs, and returns it. An unchanged stream is not
// updated: an update is not free on the server, and it races with consumers
// being created on the stream at the same moment (nats-server v2.15's race
// detector reports it), as happens when replicas start or recover together.
func ensureStreamConfig(ctx context.Context, js jetstream.JetStream, cfg jetstream.StreamConfig) (jetstream.Stream, error) {
	st, err := js.Stream(ctx, cfg.Name)
	switch {
	case err == nil:
		if sameStream(st.CachedInfo().Config, cfg) {
			return st, nil
		}
		return js.UpdateStream(ctx, cfg)
	case errors.Is(err, jetstream.ErrStreamNotFound):
		st, err = RetryStoreSetup(ctx, func(ctx context.Context) (jetstream.Stream, error) { return js.CreateStream(ctx, cfg) })
		if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			// Created meanwhile by another process, differently.
			return js.UpdateStream(ctx, cfg)
		}
		return st, err
	default:
		return nil, err
	}
}

// sameStream reports whether the fields the package sets are equal in the
// stream's configuration have and the wanted one.
func sameStream(have, want jetstream.StreamConfig) bool {
	return slices.Equal(have.Subjects, want.Subjects) &&
		have.Description == want.Description &&
		have.Retention == want.Retention &&
		have.Storage == want.Storage &&
		have.Discard == want.Discard &&
		have.MaxAge == want.MaxAge &&
		have.Duplicates == want.Duplicates &&
		have.Replicas == want.Replicas &&
		have.MaxMsgs == want.MaxMsgs &&
		have.MaxMsgsPerSubject == want.MaxMsgsPerSubject &&
		have.MaxBytes == want.MaxBytes &&
		have.MaxMsgSize == want.MaxMsgSize &&
		have.AllowRollup == want.AllowRollup &&
		have.DenyDelete == want.DenyDelete &&
		have.AllowDirect == want.AllowDirect
}
