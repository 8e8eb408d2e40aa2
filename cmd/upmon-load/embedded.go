package main

import (
	"context"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"syscall"

	"upmon/internal/cli"
)

// writeHeapProfile writes the heap profile (in use and allocated since
// start) to path.
func writeHeapProfile(path string) {
	f, err := os.Create(path)
	if err != nil {
		return
	}
	defer f.Close()
	runtime.GC() // up-to-date in-use figures
	_ = pprof.Lookup("heap").WriteTo(f, 0)
}

// runEmbeddedServer runs upmon itself (the same code as cmd/upmon) in this
// process, for --cpuprofile: with UPMON_LOAD_CPUPROFILE set, SIGUSR1
// starts a CPU profile into that file and SIGUSR2 (or exit) ends it, so
// the profile covers the measurement window only; SIGUSR2 also writes a
// heap profile to that file name + ".heap".
func runEmbeddedServer(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	path := os.Getenv("UPMON_LOAD_CPUPROFILE")
	if path != "" {
		sig := make(chan os.Signal, 2)
		signal.Notify(sig, syscall.SIGUSR1, syscall.SIGUSR2)
		var f *os.File
		go func() {
			for s := range sig {
				switch {
				case s == syscall.SIGUSR1 && f == nil:
					if ff, err := os.Create(path); err == nil && pprof.StartCPUProfile(ff) == nil {
						f = ff
					}
				case s == syscall.SIGUSR2 && f != nil:
					pprof.StopCPUProfile()
					f.Close()
					f = nil
					writeHeapProfile(path + ".heap")
				}
			}
		}()
		defer pprof.StopCPUProfile()
	}
	return cli.Run(ctx, cli.IO{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Env: os.Environ()}, args)
}
