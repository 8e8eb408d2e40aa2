package channels

import "context"

// ForgetSite lets the package's external tests run what the
// channels-site-deleted subscription runs for a deleted site.
func (s *Service) ForgetSite(ctx context.Context, siteID int64) error {
	return s.forgetSite(ctx, siteID)
}
