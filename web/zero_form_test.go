package web

import (
	"net/http"
	"regexp"
	"testing"
	"time"
)

// TestSettingsFormRefusesTypedZero: a 0 typed where the range excludes it
// is an error next to its field, not a silent return to the default (an
// empty field is the way back to the default).
func TestSettingsFormRefusesTypedZero(t *testing.T) {
	e := newEnv(t, true)
	s := e.add("https://a.example")
	e.sites.settings[s.ID] = SiteSettings{Interval: 30 * time.Second, FailureThreshold: 3}
	for field, zero := range map[string]string{"interval": "0s", "timeout": "0ms", "failure_threshold": "0", "success_threshold": "00"} {
		f := formOf(t, e.do("GET", "/frontend/sites/1", nil).Body.String(), "/frontend/sites/1/settings")
		f.Set(field, zero)
		w := e.do("POST", "/frontend/sites/1/settings", f)
		if w.Code != http.StatusBadRequest || !regexp.MustCompile(`id="e-`+field+`">[^<]+</p>`).MatchString(w.Body.String()) {
			t.Errorf("%s %q: save = %d %q, want 400 with an error next to the field", field, zero, w.Code, w.Header().Get("Location"))
		}
	}
	if st := e.sites.settings[s.ID]; st.Interval != 30*time.Second || st.FailureThreshold != 3 {
		t.Errorf("settings after refused saves: %+v", st)
	}
}
