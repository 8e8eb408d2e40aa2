package client_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"upmon/internal/cli"
)

// TestGeneratedTSClientIsCurrent regenerates the TypeScript client and
// compares it with ts/client.ts, then type-checks it with the tutorial-
// style ts/example.ts under tsc --strict. UPMON_TEST_TSC names the tsc to
// run (CI sets it, so there the check is mandatory); without it a tsc on
// PATH is used, and the check is skipped when there is none.
func TestGeneratedTSClientIsCurrent(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	got, err := cli.GenerateClient(ctx, "ts")
	if err != nil {
		t.Fatal(err)
	}
	committed, err := os.ReadFile(filepath.Join("ts", "client.ts"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, committed) {
		t.Fatal("client/ts/client.ts is stale: run `go run ./cmd/upmon gen client --lang ts` and commit it")
	}
	tsc := os.Getenv("UPMON_TEST_TSC")
	if tsc == "" {
		if tsc, err = exec.LookPath("tsc"); err != nil {
			t.Skip("no TypeScript compiler: set UPMON_TEST_TSC=/path/to/tsc (npm install typescript) to type-check client/ts")
		}
	}
	dir := t.TempDir() // the generated text, not the committed file, is checked
	if err := os.WriteFile(filepath.Join(dir, "client.ts"), got, 0o644); err != nil {
		t.Fatal(err)
	}
	example, err := os.ReadFile(filepath.Join("ts", "example.ts"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "example.ts"), example, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, tsc, "--noEmit", "--strict", "--target", "es2020", "--lib", "es2020,dom",
		filepath.Join(dir, "client.ts"), filepath.Join(dir, "example.ts"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("tsc --strict on the generated client and example.ts: %v\n%s", err, out)
	}
}
