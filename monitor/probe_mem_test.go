package monitor

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"runtime"
	"sync"
	"testing"
	"time"

	"upmon/site"
)

// hangingListener accepts connections, reads each request's header and
// then holds the connection without answering until released.
func hangingListener(t *testing.T) (addr string, accepted <-chan struct{}, release func()) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	acc := make(chan struct{}, 1<<16)
	done := make(chan struct{})
	var wg sync.WaitGroup
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
					return
				}
				acc <- struct{}{}
				<-done
			}()
		}
	}()
	var once sync.Once
	return ln.Addr().String(), acc, func() {
		once.Do(func() {
			close(done)
			ln.Close()
			wg.Wait()
		})
	}
}

// heldBytes returns the heap and stack in use after a collection.
func heldBytes() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse + m.StackInuse
}

// A check held open by a target that never answers costs its own
// goroutine's stack and a few kilobytes (connection, 1 KiB buffers), not
// a transport's read and write loops and 4 KiB buffers on top: 3,000
// hanging targets must not hold a hundred megabytes. The figure counts
// the client side only (the test's own hanging server goroutines are
// measured apart and subtracted); it was about 35 KiB with http.Transport.
func TestHeldCheckMemoryIsBounded(t *testing.T) {
	const n = 400
	addr, accepted, release := hangingListener(t)
	defer release()
	p := NewProber(ProberOptions{Timeout: time.Minute})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// The server side alone: raw connections that send a request and
	// wait, for the cost of the test's own goroutines.
	base := heldBytes()
	var conns []net.Conn
	for range n {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	waitAccepted(t, accepted, n)
	serverSide := int64(heldBytes()) - int64(base)
	for _, c := range conns {
		c.Close()
	}

	base = heldBytes()
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.Check(ctx, Spec{Kind: site.KindHTTP, URL: "http://" + addr + "/"})
		}()
	}
	waitAccepted(t, accepted, n)
	held := int64(heldBytes()) - int64(base) - serverSide
	per := held / n
	t.Logf("%d held checks: %d bytes each (server side %d bytes each, subtracted)", n, per, serverSide/n)
	if per > 24<<10 {
		t.Errorf("a held check costs %d bytes, want at most 24 KiB", per)
	}
	cancel()
	wg.Wait()
}

// waitAccepted waits for n more accepted requests, with a deadline.
func waitAccepted(t *testing.T, accepted <-chan struct{}, n int) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for range n {
		select {
		case <-accepted:
		case <-deadline:
			t.Fatal("the hanging target did not receive every request in time")
		}
	}
}
