// Package audit writes one JSON line per tool call: who called what, with
// which (masked) arguments, how it ended, how long it took and how much it
// returned. The log never holds a raw secret: arguments are masked before
// they are written, and args_sha256 lets two calls be compared without
// showing them.
package audit

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"gopkg.in/natefinch/lumberjack.v2"
)

// Outcomes of a call.
const (
	OK          = "ok"
	Error       = "error"
	Denied      = "denied"
	RateLimited = "rate_limited"
	// Upstream is a call that failed because the service the server
	// reads failed (down, slow, cut, refused the server's identity): not
	// the caller's fault, unlike Error (bad arguments, or a bug).
	Upstream = "upstream_error"
)

// Record is one audit line.
type Record struct {
	TS     time.Time `json:"ts"`
	Server string    `json:"server"`
	Tool   string    `json:"tool"`
	User   string    `json:"user"`
	// Via names the delegate (mcp-orchestrator) that made the call on
	// User's behalf; empty for a direct call.
	Via string `json:"via,omitempty"`
	// RequestID is the trace id of the request that caused the call (W3C
	// traceparent), so one question's trail across servers is one grep.
	RequestID  string          `json:"request_id,omitempty"`
	Session    string          `json:"session,omitempty"`
	Args       json.RawMessage `json:"args,omitempty"`
	ArgsSHA256 string          `json:"args_sha256"`
	Outcome    string          `json:"outcome"`
	Error      string          `json:"error,omitempty"`
	DurationMS float64         `json:"duration_ms"`
	Bytes      int             `json:"bytes"`
	Truncated  bool            `json:"truncated"`
	Masked     int             `json:"masked"`
}

// Log writes records as JSON lines. It is safe for concurrent use.
type Log struct {
	mu  sync.Mutex
	w   io.Writer
	c   io.Closer
	enc *json.Encoder
	// failures counts records that could not be written.
	failures atomic.Uint64
}

// Open returns a Log writing to dest: "stderr" (or ""), "off", or a file
// path, rotated at maxSizeMB and keeping maxBackups old files.
func Open(dest string, maxSizeMB, maxBackups int) (*Log, error) {
	switch dest {
	case "", "stderr":
		return New(os.Stderr), nil
	case "off":
		return New(io.Discard), nil
	}
	f, err := os.OpenFile(dest, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open audit log %s: %w", dest, err)
	}
	f.Close()
	lj := &lumberjack.Logger{Filename: dest, MaxSize: maxSizeMB, MaxBackups: maxBackups, Compress: true}
	l := New(lj)
	l.c = lj
	return l, nil
}

// New returns a Log writing to w.
func New(w io.Writer) *Log {
	return &Log{w: w, enc: json.NewEncoder(w)}
}

// Write appends one record.
func (l *Log) Write(r Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.enc.Encode(r); err != nil {
		l.failures.Add(1)
		return fmt.Errorf("write audit record: %w", err)
	}
	return nil
}

// Collector exports the records l could not write (a full disk, a
// removed directory) as opsmcp_audit_write_failures_total{server}: a call
// under --audit-required then fails, one without it is answered with no
// record, and either way an operator must hear of it (the alert
// OpsmcpAuditWriteFailures in deploy/monitoring).
func (l *Log) Collector(server string) prometheus.Collector {
	return prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "opsmcp_audit_write_failures_total", Help: "Audit records that could not be written.",
		ConstLabels: prometheus.Labels{"server": server},
	}, func() float64 { return float64(l.failures.Load()) })
}

// Close closes the underlying file, if any.
func (l *Log) Close() error {
	if l.c != nil {
		return l.c.Close()
	}
	return nil
}

// Masker masks what Build writes (shared/mask.Masker).
type Masker interface {
	JSON(raw []byte) ([]byte, int)
	Text(s string) (string, int)
}

// Call is what one call leaves in the log, before masking: a server's
// tool call, or one answer (or tool call) of the orchestrator's API.
type Call struct {
	Server, Tool string
	User, Via    string
	RequestID    string
	Session      string
	Start        time.Time
	Duration     time.Duration
	Args         json.RawMessage // as the caller gave them
	Outcome      string          // OK when empty and Err is empty, Error when Err is set
	Err          string
	Bytes        int
	Truncated    bool
	Masked       int    // values masked in the result
	ArgsKey      []byte // the key of args_sha256
}

// macs reuses keyed HMACs across records: hmac.New hashes the key and
// allocates, on every call. Each entry remembers its key, so a record
// with another key gets an HMAC of its own.
var macs sync.Pool

type keyedMAC struct {
	key []byte
	h   hash.Hash
}

// argsMAC is the hex HMAC-SHA256, under key, of "audit args\x00" + raw.
func argsMAC(key, raw []byte) string {
	k, _ := macs.Get().(*keyedMAC)
	if k == nil || !bytes.Equal(k.key, key) {
		k = &keyedMAC{key: bytes.Clone(key), h: hmac.New(sha256.New, key)}
	}
	k.h.Reset()
	k.h.Write([]byte("audit args\x00"))
	k.h.Write(raw)
	var sum [sha256.Size]byte
	out := hex.EncodeToString(k.h.Sum(sum[:0]))
	macs.Put(k)
	return out
}

// Build makes the record of c, the one way every binary builds one: the
// arguments and the error are masked with m (a model can put a secret
// from a question into a tool call's arguments; an error can quote one),
// and args_sha256 is an HMAC under c.ArgsKey, not a plain hash, which
// would let a reader of the log confirm a guess of a value the args field
// masks. Masked counts the values masked in the result, the arguments and
// the error.
func Build(m Masker, c Call) Record {
	raw := c.Args
	if len(raw) == 0 || string(raw) == "null" {
		raw = json.RawMessage("{}")
	}
	args, n := m.JSON(raw)
	rec := Record{
		TS: c.Start.UTC(), Server: c.Server, Tool: c.Tool, User: c.User, Via: c.Via, RequestID: c.RequestID,
		Session: c.Session, Args: args, ArgsSHA256: argsMAC(c.ArgsKey, raw),
		Outcome: c.Outcome, DurationMS: float64(c.Duration.Microseconds()) / 1000,
		Bytes: c.Bytes, Truncated: c.Truncated, Masked: c.Masked + n,
	}
	if c.Err != "" {
		e, en := m.Text(c.Err)
		rec.Error, rec.Masked = e, rec.Masked+en
		if rec.Outcome == "" || rec.Outcome == OK {
			rec.Outcome = Error
		}
	}
	if rec.Outcome == "" {
		rec.Outcome = OK
	}
	return rec
}
