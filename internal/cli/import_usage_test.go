package cli_test

import (
	"net/http"
	"strings"
	"testing"

	"upmon/internal/app/apptest"
)

func importRun(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	r := run(t, nil, "", append([]string{"import"}, args...)...)
	return r.code, r.stdout, r.stderr
}

func TestImportUsage(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{}, {"gatus"}, {"nagios", "x.cfg"}, {"gatus", "a.yaml", "b.yaml"}, {"gatus", "a.yaml", "--server", "ftp://x"}} {
		code, _, errOut := importRun(t, args...)
		if code != 2 || !strings.HasPrefix(errOut, "upmon: ") || strings.Count(errOut, "\n") != 1 {
			t.Errorf("import %q: %d %q", args, code, errOut)
		}
	}
	code, _, errOut := importRun(t, "gatus", "/nonexistent/config.yaml")
	if code != 1 || !strings.Contains(errOut, "no such file") {
		t.Errorf("missing file: %d %q", code, errOut)
	}
}

// TestImportWithoutChannelAPI: a server without /channels is named as
// the reason, and nothing is created.
func TestImportWithoutChannelAPI(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /site", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(`{"sites":[]}`)) })
	url := apptest.NewHandlerServer(t, mux)
	code, _, errOut := importRun(t, "gatus", "../importer/testdata/gatus.yaml", "--server", url, "--accept-losses")
	if code != 1 || !strings.Contains(errOut, "no /channels API") {
		t.Errorf("%d %q", code, errOut)
	}
}
