package gateway

import (
	"context"
	"sync"
	"time"
)

// slots caps one endpoint's concurrent requests (its OLLAMA_NUM_PARALLEL)
// and queues the rest fairly: when a slot frees, the next user in turn
// gets it, so one user's burst does not starve the others.
type slots struct {
	mu     sync.Mutex
	cap    int
	active int
	queues map[string][]chan struct{}
	ring   []string // users with waiters, in turn order
	next   int
}

// Parallel is the default number of requests one endpoint runs at once.
var Parallel = 4

// SetParallel sets an endpoint's concurrency cap.
func (g *Gateway) SetParallel(endpoint string, n int) {
	g.slotsFor(endpoint).setCap(n)
}

func (g *Gateway) slotsFor(endpoint string) *slots {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.slots == nil {
		g.slots = map[string]*slots{}
	}
	s, ok := g.slots[endpoint]
	if !ok {
		s = &slots{cap: Parallel, queues: map[string][]chan struct{}{}}
		g.slots[endpoint] = s
	}
	return s
}

func (s *slots) setCap(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n > 0 {
		s.cap = n
	}
}

// Acquire waits for a slot on endpoint for user, fairly, and returns the
// release function and how long it waited. queued, when set, is told how
// many requests were waiting ahead when this one joined the queue.
func (g *Gateway) Acquire(ctx context.Context, endpoint, user string, queued ...func(ahead int)) (func(), time.Duration, error) {
	s := g.slotsFor(endpoint)
	start := time.Now()
	s.mu.Lock()
	if s.active < s.cap {
		s.active++
		s.mu.Unlock()
		return s.release, 0, nil
	}
	ch := make(chan struct{})
	if len(s.queues[user]) == 0 {
		s.ring = append(s.ring, user)
	}
	ahead := s.waiting()
	s.queues[user] = append(s.queues[user], ch)
	s.mu.Unlock()
	for _, f := range queued {
		f(ahead)
	}
	select {
	case <-ch:
		return s.release, time.Since(start), nil
	case <-ctx.Done():
		s.mu.Lock()
		select {
		case <-ch:
			// Granted just as we gave up: hand the slot on.
			s.mu.Unlock()
			s.release()
		default:
			s.remove(user, ch)
			s.mu.Unlock()
		}
		return nil, time.Since(start), ctx.Err()
	}
}

func (s *slots) remove(user string, ch chan struct{}) {
	q := s.queues[user]
	for i, c := range q {
		if c == ch {
			s.queues[user] = append(q[:i], q[i+1:]...)
			break
		}
	}
	if len(s.queues[user]) == 0 {
		s.dropUser(user)
	}
}

func (s *slots) dropUser(user string) {
	delete(s.queues, user)
	for i, u := range s.ring {
		if u == user {
			s.ring = append(s.ring[:i], s.ring[i+1:]...)
			if s.next > i {
				s.next--
			}
			break
		}
	}
	if s.next >= len(s.ring) {
		s.next = 0
	}
}

// waiting counts the queued requests of every user (s.mu held).
func (s *slots) waiting() int {
	n := 0
	for _, q := range s.queues {
		n += len(q)
	}
	return n
}

// release frees a slot and grants it to the next user in turn.
func (s *slots) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.active--
	if len(s.ring) == 0 {
		return
	}
	user := s.ring[s.next]
	q := s.queues[user]
	ch := q[0]
	s.queues[user] = q[1:]
	if len(s.queues[user]) == 0 {
		s.dropUser(user)
	} else {
		s.next = (s.next + 1) % len(s.ring)
	}
	s.active++
	close(ch)
}

// Waiting is how many requests wait for endpoint.
func (g *Gateway) Waiting(endpoint string) int {
	s := g.slotsFor(endpoint)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.waiting()
}

// Crowded reports a long expected wait on endpoint: every slot busy and
// at least a full round of requests already waiting.
func (g *Gateway) Crowded(endpoint string) bool {
	s := g.slotsFor(endpoint)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.active >= s.cap && s.waiting() >= s.cap
}

// Free reports a slot free on endpoint now.
func (g *Gateway) Free(endpoint string) bool {
	s := g.slotsFor(endpoint)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.active < s.cap
}
