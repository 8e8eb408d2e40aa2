package sqldb

import (
	"context"
	"errors"
	"fmt"

	"upmon/platform/api"
)

// APIError turns a database failure of a service into what its endpoint
// answers: context errors and API errors pass through, a database that
// cannot be reached is 503 unavailable, and anything else is wrapped as
// an internal error (logged with its detail, answered without it).
func APIError(service, op string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var apiErr *api.Error
	if errors.As(err, &apiErr) {
		return apiErr
	}
	if IsUnavailable(err) {
		return &api.Error{Code: api.Unavailable, Message: "the " + service + " database is unavailable"}
	}
	return fmt.Errorf("%s: %s: %w", service, op, err)
}
