package parse

import (
	"bufio"
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Limits bound the parse of one file. Zero fields take the defaults.
type Limits struct {
	// Timeout is the time one file's parse may take (default 20s).
	Timeout time.Duration
	// MaxOutputBytes caps the text of a file's sections (default 64 MiB).
	MaxOutputBytes int64
	// MaxSections caps a file's sections (default 50000).
	MaxSections int
	// MemoryBytes bounds the parse worker process's heap (default 1 GiB).
	// Only a Worker can enforce it: a goroutine cannot be bounded.
	MemoryBytes int64
}

// DefaultLimits are the limits used for zero fields.
var DefaultLimits = Limits{Timeout: 20 * time.Second, MaxOutputBytes: 64 << 20, MaxSections: 50000, MemoryBytes: 1 << 30}

// WithDefaults fills zero fields from DefaultLimits.
func (l Limits) WithDefaults() Limits {
	if l.Timeout <= 0 {
		l.Timeout = DefaultLimits.Timeout
	}
	if l.MaxOutputBytes <= 0 {
		l.MaxOutputBytes = DefaultLimits.MaxOutputBytes
	}
	if l.MaxSections <= 0 {
		l.MaxSections = DefaultLimits.MaxSections
	}
	if l.MemoryBytes <= 0 {
		l.MemoryBytes = DefaultLimits.MemoryBytes
	}
	return l
}

// LimitError says a file went past a bound of its parse (time, memory,
// output). Such a file is skipped and reported; the run goes on.
type LimitError struct {
	Reason  string
	timeout bool
}

func (e *LimitError) Error() string { return e.Reason }

// ErrWorker marks a failure of the parse worker itself (it could not be
// started): not the file's fault, so not a reason to skip the file.
var ErrWorker = errors.New("parse worker")

// IsTimeout reports whether err is a LimitError for the deadline: on a
// busy machine a good file can hit it, so it is worth one more try.
func IsTimeout(err error) bool {
	var le *LimitError
	return errors.As(err, &le) && le.timeout
}

// IsLimit reports whether err is a LimitError.
func IsLimit(err error) bool {
	var le *LimitError
	return errors.As(err, &le)
}

// Func is a parse function: Parse, or a test's stand-in.
type Func func(kind, name string, data []byte) ([]Section, error)

// Parser parses one file within its limits.
type Parser interface {
	Parse(ctx context.Context, kind, name string, data []byte) ([]Section, error)
	Close() error
}

// checkOutput enforces the output bounds on a parse's result.
func checkOutput(s []Section, l Limits) error {
	if len(s) > l.MaxSections {
		return &LimitError{Reason: fmt.Sprintf("parse made more than %d sections", l.MaxSections)}
	}
	var n int64
	for _, x := range s {
		n += int64(len(x.Text))
		for _, h := range x.Heading {
			n += int64(len(h))
		}
	}
	if n > l.MaxOutputBytes {
		return &LimitError{Reason: fmt.Sprintf("parse made more than %d MiB of text", l.MaxOutputBytes>>20)}
	}
	return nil
}

// safeCall runs f, turning a panic into an error for the file.
func safeCall(f Func, kind, name string, data []byte) (s []Section, err error) {
	defer func() {
		if r := recover(); r != nil {
			s, err = nil, fmt.Errorf("%s parser failed on this file: %v", kind, r)
		}
	}()
	return f(kind, name, data)
}

// InProcess parses in a goroutine under a deadline. A parse past its
// deadline is abandoned, not stopped (Go cannot stop a goroutine): it
// keeps a core until it returns, but it holds no lock and the run goes
// on. Use a Worker where a runaway parse must be killed and memory
// bounded; InProcess is for tests and for when no worker can be started.
type InProcess struct {
	Limits Limits
	// Func is the parse (default Parse).
	Func Func

	abandoned atomic.Int64
}

// Abandoned counts parses left running past their deadline.
func (p *InProcess) Abandoned() int64 { return p.abandoned.Load() }

// Parse implements Parser.
func (p *InProcess) Parse(ctx context.Context, kind, name string, data []byte) ([]Section, error) {
	l := p.Limits.WithDefaults()
	f := p.Func
	if f == nil {
		f = Parse
	}
	type result struct {
		s   []Section
		err error
	}
	done := make(chan result, 1)
	go func() {
		s, err := safeCall(f, kind, name, data)
		done <- result{s, err}
	}()
	timer := time.NewTimer(l.Timeout)
	defer timer.Stop()
	select {
	case r := <-done:
		if r.err != nil {
			return nil, r.err
		}
		return r.s, checkOutput(r.s, l)
	case <-timer.C:
		p.abandoned.Add(1)
		return nil, &LimitError{Reason: fmt.Sprintf("parse took longer than %s", l.Timeout), timeout: true}
	case <-ctx.Done():
		p.abandoned.Add(1)
		return nil, ctx.Err()
	}
}

// Close implements Parser.
func (p *InProcess) Close() error { return nil }

// request and response are the worker protocol (gob over stdin/stdout).
type request struct {
	Kind, Name string
	Data       []byte
	Limits     Limits
}

type response struct {
	Sections []Section
	Err      string
	Limit    bool // Err is a LimitError
}

// Worker parses in a child process (mcp-docs parse-worker) whose heap is
// bounded by Limits.MemoryBytes. A parse past its deadline kills the
// child, as does one that runs out of memory; the next parse starts a new
// one. One parse at a time.
type Worker struct {
	// Path and Args start the child, which must run ServeWorker.
	Path string
	Args []string
	// Env is the child's whole environment (none of the parent's).
	Env    []string
	Limits Limits
	Log    *slog.Logger

	mu     sync.Mutex
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	enc    *gob.Encoder
	dec    *gob.Decoder
	stderr *headBuffer
}

// headBuffer keeps the first bytes a child wrote to stderr: where the Go
// runtime names a fatal error, before its stack dump.
type headBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (t *headBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if room := 1024 - len(t.buf); room > 0 {
		t.buf = append(t.buf, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

func (t *headBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

func (w *Worker) log() *slog.Logger {
	if w.Log != nil {
		return w.Log
	}
	return slog.Default()
}

func (w *Worker) start() error {
	cmd := exec.Command(w.Path, w.Args...)
	cmd.Env = w.Env
	if cmd.Env == nil {
		cmd.Env = []string{}
	}
	// The child dies with the parent: no orphan parse spins on.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	in, err := cmd.StdinPipe()
	if err != nil {
		return fmt.Errorf("parse worker stdin: %w", err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("parse worker stdout: %w", err)
	}
	w.stderr = &headBuffer{}
	cmd.Stderr = w.stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start parse worker %s: %w", w.Path, err)
	}
	w.cmd, w.stdin = cmd, in
	w.enc, w.dec = gob.NewEncoder(in), gob.NewDecoder(bufio.NewReader(out))
	return nil
}

// stop kills the child and reaps it.
func (w *Worker) stop() string {
	if w.cmd == nil {
		return ""
	}
	w.cmd.Process.Kill()
	w.stdin.Close()
	err := w.cmd.Wait()
	w.cmd = nil
	status := "exited"
	if err != nil {
		status = err.Error()
	}
	return status
}

// Parse implements Parser.
func (w *Worker) Parse(ctx context.Context, kind, name string, data []byte) ([]Section, error) {
	l := w.Limits.WithDefaults()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.cmd == nil {
		if err := w.start(); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrWorker, err)
		}
	}
	type result struct {
		r   response
		err error
	}
	done := make(chan result, 1)
	enc, dec := w.enc, w.dec
	go func() {
		var r response
		err := enc.Encode(request{Kind: kind, Name: name, Data: data, Limits: l})
		if err == nil {
			err = dec.Decode(&r)
		}
		done <- result{r, err}
	}()
	timer := time.NewTimer(l.Timeout)
	defer timer.Stop()
	select {
	case res := <-done:
		if res.err != nil {
			// The child died mid-parse: out of its memory bound, or a
			// crash the recover could not catch (a fatal runtime error).
			status := w.stop() // after Wait, stderr is all copied
			head := w.stderr.String()
			w.log().Warn("parse worker died", "file", name, "status", status)
			if strings.Contains(head, "out of memory") || strings.Contains(head, "cannot allocate memory") {
				return nil, &LimitError{Reason: fmt.Sprintf("parse went past its memory bound of %d MiB", l.MemoryBytes>>20)}
			}
			return nil, &LimitError{Reason: fmt.Sprintf("parse crashed the parse worker (%s)", status)}
		}
		if res.r.Err != "" {
			if res.r.Limit {
				return nil, &LimitError{Reason: res.r.Err}
			}
			return nil, errors.New(res.r.Err)
		}
		return res.r.Sections, checkOutput(res.r.Sections, l)
	case <-timer.C:
		w.stop()
		<-done
		return nil, &LimitError{Reason: fmt.Sprintf("parse took longer than %s; the parse worker was stopped", l.Timeout), timeout: true}
	case <-ctx.Done():
		w.stop()
		<-done
		return nil, ctx.Err()
	}
}

// Close stops the child.
func (w *Worker) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stop()
	return nil
}

// LimitMemory bounds this process's heap (RLIMIT_DATA: what the Go
// runtime maps for its heap counts; address space merely reserved does
// not) and sets the GC's soft limit below it. A worker calls it first.
func LimitMemory(bytes int64) error {
	if bytes <= 0 {
		return nil
	}
	debug.SetMemoryLimit(bytes / 4 * 3)
	lim := &syscall.Rlimit{Cur: uint64(bytes), Max: uint64(bytes)}
	if err := syscall.Setrlimit(syscall.RLIMIT_DATA, lim); err != nil {
		return fmt.Errorf("limit parse worker memory: %w", err)
	}
	return nil
}

// ServeWorker answers parse requests from r on w until r ends: the loop
// of `mcp-docs parse-worker`. f is the parse (Parse, or a test's).
func ServeWorker(r io.Reader, w io.Writer, f Func) error {
	dec := gob.NewDecoder(bufio.NewReader(r))
	bw := bufio.NewWriter(w)
	enc := gob.NewEncoder(bw)
	for {
		var req request
		if err := dec.Decode(&req); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("parse worker: read request: %w", err)
		}
		var resp response
		s, err := safeCall(f, req.Kind, req.Name, req.Data)
		if err == nil {
			err = checkOutput(s, req.Limits.WithDefaults())
		}
		if err != nil {
			resp.Err, resp.Limit = err.Error(), IsLimit(err)
		} else {
			resp.Sections = s
		}
		if err := enc.Encode(resp); err != nil {
			return fmt.Errorf("parse worker: write response: %w", err)
		}
		if err := bw.Flush(); err != nil {
			return fmt.Errorf("parse worker: write response: %w", err)
		}
	}
}

// WorkerCommand is the worker of this binary: os.Executable with args,
// for a Worker's Path and Args.
func WorkerCommand(args ...string) (string, []string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", nil, fmt.Errorf("find own binary for the parse worker: %w", err)
	}
	return exe, args, nil
}
