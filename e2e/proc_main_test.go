//go:build unix

package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// TestMain runs the tests, then removes the upmon binary that
// process-level tests built (once per test binary) into a temp directory.
func TestMain(m *testing.M) {
	code := m.Run()
	if upmonBin.dir != "" {
		_ = os.RemoveAll(upmonBin.dir)
	}
	os.Exit(code)
}

// upmonBin is the upmon binary built for process-level tests.
var upmonBin struct {
	once sync.Once
	dir  string // removed by TestMain
	path string
	err  error
	out  []byte
}

// upmonBinary builds cmd/upmon once per test binary (without -race: the
// replicas are the system under test, the race detector is for the
// in-process tests) and returns its path.
func upmonBinary(t *testing.T) string {
	t.Helper()
	upmonBin.once.Do(func() {
		dir, err := os.MkdirTemp("", "upmon-e2e-bin-")
		if err != nil {
			upmonBin.err = err
			return
		}
		upmonBin.dir = dir
		upmonBin.path = filepath.Join(dir, "upmon")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, goTool(), "build", "-o", upmonBin.path, "upmon/cmd/upmon")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		upmonBin.out, upmonBin.err = cmd.CombinedOutput()
	})
	if upmonBin.err != nil {
		t.Fatalf("go build upmon/cmd/upmon: %v\n%s", upmonBin.err, upmonBin.out)
	}
	return upmonBin.path
}

// goTool returns the go command that runs the tests.
func goTool() string {
	if root := os.Getenv("GOROOT"); root != "" {
		if p := filepath.Join(root, "bin", "go"); fileExists(p) {
			return p
		}
	}
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return "/usr/local/go/bin/go"
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
