package channels

import (
	"context"

	dto "github.com/prometheus/client_model/go"
)

// ForgetSite lets the package's external tests run what the
// channels-site-deleted subscription runs for a deleted site.
func (s *Service) ForgetSite(ctx context.Context, siteID int64) error {
	return s.forgetSite(ctx, siteID)
}

// StaleClaims reads upmon_channel_stale_claims_total.
func StaleClaims(m *Metrics) float64 {
	var d dto.Metric
	if err := m.staleClaims.Write(&d); err != nil {
		return -1
	}
	return d.GetCounter().GetValue()
}
