package cli_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestCommittedDiagramIsCurrent regenerates the architecture picture with
// `upmon gen diagram` and compares it with docs/architecture.svg: a new
// route, topic, subscription, job or call without `upmon gen diagram` (and
// a commit of its output) fails here.
func TestCommittedDiagramIsCurrent(t *testing.T) {
	out := filepath.Join(t.TempDir(), "architecture.svg")
	if r := run(t, nil, "", "gen", "diagram", "--out", out); r.code != 0 {
		t.Fatalf("gen diagram: exit %d: %s", r.code, r.stderr)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	// Twice from scratch gives the same bytes (no time, no random order).
	again := filepath.Join(t.TempDir(), "again.svg")
	if r := run(t, nil, "", "gen", "diagram", "--out", again); r.code != 0 {
		t.Fatalf("gen diagram: exit %d: %s", r.code, r.stderr)
	}
	if b, _ := os.ReadFile(again); !bytes.Equal(b, got) {
		t.Fatal("two runs of gen diagram drew different pictures")
	}
	committed, err := os.ReadFile(filepath.Join("..", "..", "docs", "architecture.svg"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(committed, got) {
		t.Fatal("docs/architecture.svg is stale: run `go run ./cmd/upmon gen diagram` and commit it")
	}
}
