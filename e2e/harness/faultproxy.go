package harness

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// FaultProxy is a loopback TCP proxy a test puts between a server and its
// real upstream, to make the upstream look down, slow, stalled or cut
// without touching it. It works on bytes (TLS passes through untouched).
type FaultProxy struct {
	// Addr is the proxy's 127.0.0.1:port; it stays the same across
	// Refuse and Pass.
	Addr   string
	target string

	mu       sync.Mutex
	ln       net.Listener
	mode     faultMode
	delay    time.Duration
	cutAfter int64
	conns    map[*proxied]struct{}

	// aborted counts client connections the client closed while the
	// proxy held back the upstream's bytes: a request the client
	// cancelled.
	aborted atomic.Int64
}

type faultMode int

const (
	modePass faultMode = iota
	modeDelay
	modeStall
	modeCut
)

type proxied struct {
	client, upstream net.Conn
	sent             atomic.Int64 // upstream bytes sent to the client since the mode changed
	held             atomic.Bool  // the proxy is holding upstream bytes back
	asked            atomic.Bool  // the client sent bytes the upstream has not answered yet
}

// StartFaultProxy listens on a free loopback port and forwards to target
// (host:port, or unix:///path for a socket). It starts refusing (nothing
// listens) when refuse is set.
func StartFaultProxy(target string, refuse bool) (*FaultProxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &FaultProxy{Addr: ln.Addr().String(), target: target, conns: map[*proxied]struct{}{}}
	if refuse {
		ln.Close()
		return p, nil
	}
	p.ln = ln
	go p.accept(ln)
	return p, nil
}

// Refuse closes the listener and every proxied connection: the upstream
// looks down (connection refused) until Pass.
func (p *FaultProxy) Refuse() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.client.Close()
		c.upstream.Close()
	}
}

// Pass forwards bytes as they come (listening again after Refuse).
func (p *FaultProxy) Pass() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mode = modePass
	if p.ln == nil {
		ln, err := net.Listen("tcp", p.Addr)
		if err != nil {
			return fmt.Errorf("listen again on %s: %w", p.Addr, err)
		}
		p.ln = ln
		go p.accept(ln)
	}
	return nil
}

// Delay holds the upstream's answer to each request for d (its first
// chunk; the rest follow as they come).
func (p *FaultProxy) Delay(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mode, p.delay = modeDelay, d
}

// Stall forwards requests but holds every byte of the answers until the
// mode changes.
func (p *FaultProxy) Stall() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mode = modeStall
}

// CutAfter lets n more bytes of each answer through, then closes both
// sides of that connection: the upstream dies in the middle of a call.
func (p *FaultProxy) CutAfter(n int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mode, p.cutAfter = modeCut, n
	for c := range p.conns {
		c.sent.Store(0)
	}
}

// Aborted is how many client connections were closed by the client while
// the proxy held the upstream's answer back.
func (p *FaultProxy) Aborted() int64 { return p.aborted.Load() }

// Close stops the proxy.
func (p *FaultProxy) Close() { p.Refuse() }

func (p *FaultProxy) state() (faultMode, time.Duration, int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mode, p.delay, p.cutAfter
}

func (p *FaultProxy) accept(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go p.serve(c)
	}
}

func (p *FaultProxy) serve(client net.Conn) {
	network, addr := "tcp", p.target
	if strings.HasPrefix(addr, "unix://") {
		network, addr = "unix", strings.TrimPrefix(addr, "unix://")
	}
	up, err := net.DialTimeout(network, addr, 5*time.Second)
	if err != nil {
		client.Close()
		return
	}
	pc := &proxied{client: client, upstream: up}
	p.mu.Lock()
	p.conns[pc] = struct{}{}
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		delete(p.conns, pc)
		p.mu.Unlock()
		client.Close()
		up.Close()
	}()
	done := make(chan struct{})
	go func() {
		// client -> upstream: a read error here while answers are held
		// is the client hanging up on a request.
		buf := make([]byte, 16<<10)
		var err error
		for {
			var n int
			n, err = client.Read(buf)
			if n > 0 {
				pc.asked.Store(true)
				if _, werr := up.Write(buf[:n]); werr != nil {
					break
				}
			}
			if err != nil {
				if err == io.EOF {
					err = nil
				}
				break
			}
		}
		if pc.held.Load() && (err == nil || !errors.Is(err, net.ErrClosed)) {
			p.aborted.Add(1)
		}
		close(done)
		up.Close()
	}()
	buf := make([]byte, 16<<10)
	for {
		n, err := up.Read(buf)
		if n > 0 {
			if !p.forward(pc, buf[:n], done) {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// forward sends one chunk of the upstream's answer as the mode says;
// false ends the connection.
func (p *FaultProxy) forward(pc *proxied, b []byte, done <-chan struct{}) bool {
	for {
		mode, delay, cut := p.state()
		switch mode {
		case modeStall:
			pc.held.Store(true)
			select {
			case <-done:
				return false
			case <-time.After(50 * time.Millisecond):
			}
			continue
		case modeDelay:
			if pc.asked.Swap(false) {
				pc.held.Store(true)
				select {
				case <-done:
					return false
				case <-time.After(delay):
				}
				pc.held.Store(false)
			}
		case modeCut:
			left := cut - pc.sent.Load()
			if left <= 0 {
				return false
			}
			if int64(len(b)) > left {
				pc.client.Write(b[:left])
				pc.sent.Add(left)
				return false
			}
			pc.sent.Add(int64(len(b)))
		}
		pc.held.Store(false)
		_, err := pc.client.Write(b)
		return err == nil
	}
}
