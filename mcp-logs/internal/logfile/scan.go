package logfile

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/opsmcp/opsmcp/shared/memory"
)

// Query is what a search keeps. Zero fields do not filter.
type Query struct {
	// Pattern is the RE2 expression a line must match; nil keeps all.
	Pattern *Pattern
	// Since and Until bound the line's time (Until exclusive). A line
	// without a time of its own (a stack-trace line) has its entry's.
	Since, Until time.Time
	// MinLevel keeps lines at this level or above.
	MinLevel Level
	// Fields keeps JSON lines whose fields (dotted paths for nested
	// objects) have these values, compared as text.
	Fields map[string]string
	// Oldest returns the oldest lines first; by default the newest.
	Oldest bool
	// Limit is the most lines returned.
	Limit int
	// MaxLine cuts longer lines.
	MaxLine int
	// exhaustive masks and matches every record (tests compare the
	// prefilters with it).
	exhaustive bool
	// Mask masks the text of one whole log record (an entry and its
	// continuation lines) before anything else looks at it: the pattern,
	// the fields, the level and the returned text all see masked text
	// only, so a filter never matches or counts a hidden value, and a
	// value spread over lines (a PEM key) is masked whole. nil leaves
	// the text as it is (tests of the reader alone).
	Mask func(string) string
}

// Match is one line found.
type Match struct {
	File string
	Line int64 // 1-based, of the raw line this masked line starts on
	// Rec is the offset of the record (entry) the line belongs to, in the
	// (decompressed) text; RecLine is the line number there; Sub is the
	// line's index among the record's masked lines.
	Rec, RecLine int64
	Sub          int
	Time         time.Time
	Level        Level
	Text         string
	// Len is the line's length when Text was cut, else 0.
	Len int
}

// Pos is where a walk continues: in File, at the record starting at byte
// Offset (line number Line), before its masked line Sub (newest first:
// the lines before it) or at it (oldest first: it and the lines after).
// A position is always a record boundary of the raw text plus a line of
// that record's masked text, so a page never starts inside a masked value:
// the record is masked whole again.
type Pos struct {
	File   string `json:"f"`
	Offset int64  `json:"o"`
	Line   int64  `json:"l,omitempty"`
	Sub    int    `json:"s,omitempty"`
}

// Stats says how much a search read.
type Stats struct {
	Files int
	Bytes int64
	// Skipped are files whose newest-first walk stopped at an entry
	// longer than maxRecordChunk (older entries of them are not read).
	Skipped []string
}

// ErrLongRecord ends a newest-first walk at a log entry longer than
// maxRecordChunk: it would be read and held whole to find where it starts
// (a planted file of one 16 MiB line then denied every default search).
var ErrLongRecord = fmt.Errorf("an entry longer than %d MiB: newest first it would be read whole; order oldest reads it (its first MiB)", maxRecordChunk>>20)

// After returns where an oldest-first walk continues after m.
func (m Match) After() Pos { return Pos{File: m.File, Offset: m.Rec, Line: m.RecLine, Sub: m.Sub + 1} }

// Before returns where a newest-first walk continues before m.
func (m Match) Before() Pos { return Pos{File: m.File, Offset: m.Rec, Line: m.RecLine, Sub: m.Sub} }

const (
	blockSize = 1 << 20
	// MaxLineBuffer is the longest line kept; the rest of a longer one is
	// read past and left out. At 16 MiB, eight calls at once on a file of
	// one 128 MiB line peaked at 271-420 MiB under a 256 MiB limit (red
	// team): each masks the line it keeps.
	MaxLineBuffer = 1 << 20
	// maxChunk is the most a newest-first walk reads (and masks) at once:
	// at 16 MiB, eight searches at once of a token-dense 64 MiB file that
	// matched nothing peaked at 842-900 MiB (red team).
	maxChunk = 2 << 20
	// maxRecordChunk is the most a newest-first walk reads at once to
	// find where one long entry starts (ErrLongRecord past it).
	maxRecordChunk = 8 << 20
	// chunkCost is the memory one byte of a chunk takes while a
	// newest-first walk works on it: read, split into records, masked.
	chunkCost = 12
	// keyWindow: a line holding "-----BEGIN" opens a key (or certificate)
	// block, and no record starts inside it until a line holding
	// "-----END" or keyWindow bytes later, so a PEM key is masked whole.
	keyWindow = 256 << 10
	// recordCap: a file without timestamps is cut into records at the
	// first line starting after each multiple of recordCap.
	recordCap = 256 << 10
)

// ErrBadPos is returned for a position that is not a record boundary of
// the file (a cursor from another version of the file, or forged).
var ErrBadPos = errors.New("the cursor does not point at a log entry of this file (it changed, or the cursor is not one this server gave); search again without the cursor")

// Search finds the lines of files (in the order given: newest file first
// for a newest-first walk) that match q, starting at from (nil: the
// beginning of the walk). It returns at most q.Limit lines and whether
// more exist.
func Search(ctx context.Context, files []File, q Query, from *Pos) ([]Match, bool, Stats, error) {
	var out []Match
	var st Stats
	started := from == nil
	if from != nil && (from.Offset < 0 || from.Line < 0 || from.Sub < 0) {
		return nil, false, st, ErrBadPos
	}
	for i := range files {
		f := files[i]
		if q.Oldest {
			f = files[len(files)-1-i]
		}
		at := from
		if !started {
			if f.Path != from.File {
				continue
			}
			started = true
		} else {
			at = nil
		}
		want := q.Limit - len(out)
		var ms []Match
		var more bool
		var n int64
		var err error
		switch {
		case q.Oldest:
			ms, more, n, err = oldestFirst(ctx, f, q, at, want)
		case !f.Gzip:
			ms, more, n, err = newestPlain(ctx, f, q, at, want)
		default:
			ms, more, n, err = newestStream(ctx, f, q, at, want)
		}
		st.Files++
		st.Bytes += n
		if errors.Is(err, ErrLongRecord) {
			// Said, and the walk goes on with the next file: one file
			// must not deny every search.
			st.Skipped = append(st.Skipped, f.Path)
			err, more = nil, false
		}
		if err != nil {
			if errors.Is(err, ErrBadPos) {
				return nil, false, st, err
			}
			return nil, false, st, fmt.Errorf("search %s: %w", f.Path, err)
		}
		out = append(out, ms...)
		if more || len(out) >= q.Limit {
			if !more {
				more = i+1 < len(files) // the caller continues with the next file
			}
			return out, more, st, nil
		}
	}
	if !started {
		return nil, false, st, fmt.Errorf("the cursor names a file that is no longer in this search (rotated away?); search again without the cursor")
	}
	return out, false, st, nil
}

// Tail returns the last n lines of f before pos (nil: the end), newest
// first, and whether earlier lines exist.
func Tail(ctx context.Context, f File, n, maxLine int, mask func(string) string, before *Pos) ([]Match, bool, error) {
	q := Query{Limit: n, MaxLine: maxLine, Mask: mask}
	var ms []Match
	var more bool
	var err error
	if f.Gzip {
		ms, more, _, err = newestStream(ctx, f, q, before, n)
	} else {
		ms, more, _, err = newestPlain(ctx, f, q, before, n)
	}
	return ms, more, err
}

// record is one log entry of raw text: a line with a timestamp and the
// lines after it without one (a stack trace, a multi-line message, a key
// block), at offset off, line number line.
type record struct {
	off, line int64
	raw       []byte
	// time is that of the record's first line, or of the entry before
	// when it has none (for lines without their own).
	time time.Time
}

// splitter tells where records start. Its decision for a line depends
// only on the line and the keyWindow bytes before it, so a walk that
// starts anywhere (a page's position, a chunk read from the end) splits
// the text exactly as a walk from the file's start does.
type splitter struct {
	ref      time.Time
	lastMark int64 // start of the last line with a key marker; -1 none
	markOpen bool  // that marker opened a block
	prev     int64 // start of the previous line
}

func newSplitter(ref time.Time) *splitter {
	// prev is far back: the line before the first one fed is more than
	// keyWindow (>= recordCap) earlier, or there is none.
	return &splitter{ref: ref, lastMark: -1, prev: -(1 << 62)}
}

// starts feeds the line at off and reports whether a record starts
// there, with the line's time when it has one.
func (s *splitter) starts(off int64, line []byte) (bool, time.Time, bool) {
	st := off == 0
	var t time.Time
	stamped := false
	if !(s.markOpen && s.lastMark >= off-keyWindow) {
		t, stamped = stampTime(line, s.ref)
		st = st || stamped || floorDiv(off, recordCap) > floorDiv(s.prev, recordCap)
	}
	if m := keyMarker(line); m != 0 {
		s.lastMark, s.markOpen = off, m > 0
	}
	s.prev = off
	return st, t, stamped
}

func floorDiv(a, b int64) int64 {
	if a < 0 {
		return (a - b + 1) / b
	}
	return a / b
}

var (
	beginMark = []byte("-----BEGIN")
	endMark   = []byte("-----END")
)

// keyMarker is +1 when a line opens a PEM block (its last marker is a
// BEGIN), -1 when it closes one, 0 without a marker.
func keyMarker(line []byte) int {
	if bytes.Index(line, []byte("-----")) < 0 {
		return 0
	}
	b, e := bytes.LastIndex(line, beginMark), bytes.LastIndex(line, endMark)
	switch {
	case b > e:
		return 1
	case e > b:
		return -1
	}
	return 0
}

// ctxReader fails its reads once ctx is done, so every loop that reads
// (gzip decompression, skipping ahead to a position) honours the call's
// timeout.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, fmt.Errorf("stopped: %w", err)
	}
	return c.r.Read(p)
}

// lineReader reads lines with their offsets; a line over MaxLineBuffer
// keeps its start only.
type lineReader struct {
	r    *bufio.Reader
	off  int64
	buf  []byte
	read int64
}

// next returns the next line's offset and bytes (with a trailing '\n',
// also added to a cut or final line), or io.EOF.
func (lr *lineReader) next() (int64, []byte, error) {
	start := lr.off
	lr.buf = lr.buf[:0]
	full := 0
	for {
		chunk, err := lr.r.ReadSlice('\n')
		full += len(chunk)
		if room := MaxLineBuffer - len(lr.buf); room > 0 {
			lr.buf = append(lr.buf, chunk[:min(len(chunk), room)]...)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		lr.off += int64(full)
		lr.read += int64(full)
		if err != nil && err != io.EOF {
			return start, nil, err
		}
		if full == 0 {
			return start, nil, io.EOF
		}
		if lr.buf[len(lr.buf)-1] != '\n' {
			lr.buf = append(lr.buf, '\n')
		}
		return start, lr.buf, nil
	}
}

// walk reads r, whose first byte is at offset base, and calls emit with
// each record that starts at or after lo and before hi (hi < 0: to the
// end). Lines before lo only prime the splitter; when skip is set, r
// starts inside a line, which is left out. With exact, a record must start
// at lo. line is the line number at lo when exact (else 0: the caller
// renumbers from the relative count, see walkResult). emit returns true
// to stop; with retain it may keep the records' bytes.
func walk(ctx context.Context, r io.Reader, base int64, skip bool, lo, hi int64, exact, retain bool, line int64, ref time.Time, emit func(record) bool) (res walkResult, err error) {
	lr := &lineReader{r: bufio.NewReaderSize(ctxReader{ctx, r}, blockSize), off: base}
	defer func() { res.read = lr.read }()
	sp := newSplitter(ref)
	if skip {
		if _, _, err := lr.next(); err != nil {
			return res, ignoreEOF(err)
		}
	}
	var cur *record
	var entryTime time.Time
	// arena holds the bytes of the records being built; retained says
	// emit keeps them (else the arena is reused after each record).
	var arena []byte
	recStart := 0
	n := int64(0) // lines since lo (relative numbering)
	seenLo := false
	flush := func() bool {
		if cur == nil {
			return false
		}
		r := *cur
		cur = nil
		return emit(r)
	}
	for {
		off, text, err := lr.next()
		if err == io.EOF {
			res.end, res.endLine = lr.off, n
			flush()
			break
		}
		if err != nil {
			return res, err
		}
		if hi >= 0 && off >= hi {
			res.end, res.endLine = off, n
			flush()
			break
		}
		isStart, t, stamped := sp.starts(off, text)
		if off < lo {
			if isStart && stamped {
				entryTime = t
			}
			continue
		}
		if !seenLo {
			seenLo = true
			if exact && (off != lo || !isStart) {
				return res, ErrBadPos
			}
			if exact {
				n = line - 1
			}
		}
		n++
		if isStart {
			if flush() {
				res.stopped = true
				return res, nil
			}
			if !retain {
				arena = arena[:0]
			}
			if stamped {
				entryTime = t
			}
			recStart = len(arena)
			cur = &record{off: off, line: n, time: entryTime}
		}
		if cur != nil {
			arena = append(arena, text...)
			cur.raw = arena[recStart:len(arena):len(arena)]
		}
	}
	if exact && !seenLo {
		return res, ErrBadPos
	}
	return res, nil
}

// walkResult says where a walk ended: the offset and the (relative) line
// count there, whether emit stopped it, and how many bytes it read.
type walkResult struct {
	end, endLine int64
	stopped      bool
	read         int64
}

func ignoreEOF(err error) error {
	if err == io.EOF {
		return nil
	}
	return err
}

// lines masks a record whole and splits it into lines with their numbers,
// times and levels, in order.
func (q *Query) lines(f File, r record) []Match {
	raw := string(r.raw)
	masked := raw
	if q.Mask != nil {
		masked = q.Mask(raw)
	}
	texts := strings.Split(strings.TrimSuffix(masked, "\n"), "\n")
	at := lineIndex(raw, masked, len(texts))
	out := make([]Match, 0, len(texts))
	t, lvl := r.time, LevelNone
	for k, text := range texts {
		text = strings.TrimRight(text, "\r")
		if lt, ll, ok := Stamp([]byte(text), f.ModTime); ok {
			t, lvl = lt, ll
		}
		out = append(out, Match{File: f.Path, Line: r.line + int64(at[k]), Rec: r.off, RecLine: r.line, Sub: k, Time: t, Level: lvl, Text: text})
	}
	return out
}

// candidate reports whether a raw record may hold a match: false only when
// the pattern's literals are all absent from it (a match away from masked
// values holds one that is in the unmasked text too).
func (q *Query) candidate(raw []byte, scratch *[]byte) bool {
	if q.exhaustive {
		return true
	}
	if !q.levelCandidate(raw, scratch) {
		return false
	}
	p := q.Pattern
	if p == nil || p.rawLits == nil {
		return true
	}
	hay := raw
	if p.fold {
		*scratch = lowerASCII(*scratch, raw)
		hay = *scratch
	}
	for _, l := range p.rawLits {
		if bytes.Contains(hay, l) {
			return true
		}
	}
	return false
}

// levelWords are, per minimum level, lower-case substrings one of which a
// record's unmasked text holds when any of its masked lines has that level
// or above: a level is read from a word of the line (ERROR, [crit],
// level=e, "lvl":"f"), which masking keeps as it is (a placeholder holds
// no level word), or from a klog line's first letter.
var levelWords = map[Level][]string{
	LevelWarn:  {"warn", "wrn", "err", "crit", "alert", "fatal", "panic", "emerg", "level", "lvl", "severity"},
	LevelError: {"err", "crit", "alert", "fatal", "panic", "emerg", "level", "lvl", "severity"},
	LevelFatal: {"fatal", "panic", "emerg", "level", "lvl", "severity"},
}

// levelCandidate reports whether a raw record may hold a line at the
// query's minimum level: false only when it cannot, so a level search
// masks only the records that may match.
func (q *Query) levelCandidate(raw []byte, scratch *[]byte) bool {
	words, ok := levelWords[q.MinLevel]
	if !ok {
		return true // no level, or one most lines reach
	}
	// klog: a line starting "E0102 " (W, E or F) names its level.
	for start := 0; start < len(raw); {
		if c := raw[start]; (c == 'W' && q.MinLevel <= LevelWarn || c == 'E' && q.MinLevel <= LevelError || c == 'F') && start+5 < len(raw) && raw[start+5] == ' ' {
			return true
		}
		nl := bytes.IndexByte(raw[start:], '\n')
		if nl < 0 {
			break
		}
		start += nl + 1
	}
	low := lowerASCII(*scratch, raw)
	*scratch = low
	for _, w := range words {
		if bytes.Contains(low, []byte(w)) {
			return true
		}
	}
	return false
}

// keep applies the query's filters to one masked line.
func (q *Query) keep(m *Match) bool {
	if q.Pattern != nil && !q.Pattern.match(m.Text) {
		return false
	}
	if !q.Since.IsZero() && (m.Time.IsZero() || m.Time.Before(q.Since)) {
		return false
	}
	if !q.Until.IsZero() && (m.Time.IsZero() || !m.Time.Before(q.Until)) {
		return false
	}
	if q.MinLevel != LevelNone && m.Level < q.MinLevel {
		return false
	}
	if len(q.Fields) > 0 && !fieldsMatch([]byte(m.Text), q.Fields) {
		return false
	}
	m.Text, m.Len = cutLine([]byte(m.Text), q.MaxLine)
	return true
}

// oldestFirst walks f forward from the start, or from the record at pos
// (its masked lines from pos.Sub on), and returns the first want matches.
func oldestFirst(ctx context.Context, f File, q Query, pos *Pos, want int) ([]Match, bool, int64, error) {
	rc, err := openText(ctx, f)
	if err != nil {
		return nil, false, 0, err
	}
	defer rc.Close()
	lo, line, sub := int64(0), int64(1), 0
	if pos != nil {
		lo, line, sub = pos.Offset, max(pos.Line, 1), pos.Sub
	}
	r, base, skip, err := seekBefore(ctx, rc, lo)
	if err != nil {
		return nil, false, 0, err
	}
	var out []Match
	more := false
	var scratch []byte
	first := true
	res, err := walk(ctx, r, base, skip, lo, -1, pos != nil, false, line, f.ModTime, func(rec record) bool {
		if !q.Until.IsZero() && !rec.time.IsZero() && !rec.time.Before(q.Until) {
			return true // logs are written in time order
		}
		from := 0
		if first {
			first, from = false, sub
		}
		if !q.candidate(rec.raw, &scratch) {
			return false
		}
		ms := q.lines(f, rec)
		if from > len(ms) {
			from = len(ms)
		}
		for _, m := range ms[from:] {
			if !q.keep(&m) {
				continue
			}
			if len(out) == want {
				more = true
				return true
			}
			out = append(out, m)
		}
		return false
	})
	if err != nil {
		return nil, false, res.read, err
	}
	return out, more, res.read, nil
}

// seekBefore positions the text of rc for a walk from lo: at the start,
// or keyWindow+1 bytes before lo (inside a line, which the walk skips), so
// the splitter sees the lines its decisions at lo depend on.
func seekBefore(ctx context.Context, rc *text, lo int64) (io.Reader, int64, bool, error) {
	if lo <= keyWindow {
		return rc, 0, false, nil
	}
	at := lo - keyWindow - 1
	if rc.file != nil {
		if _, err := rc.file.Seek(at, io.SeekStart); err != nil {
			return nil, 0, false, err
		}
		return rc, at, true, nil
	}
	if _, err := io.CopyN(io.Discard, ctxReader{ctx, rc}, at); err != nil {
		if ctx.Err() != nil {
			return nil, 0, false, fmt.Errorf("skipping to the cursor's position: %w", ctx.Err())
		}
		if err == io.EOF {
			return nil, 0, false, ErrBadPos
		}
		return nil, 0, false, err
	}
	return rc, at, true, nil
}

// newestStream walks a gzip file forward (it cannot be read backwards)
// and keeps the last want matches before pos.
func newestStream(ctx context.Context, f File, q Query, pos *Pos, want int) ([]Match, bool, int64, error) {
	rc, err := openText(ctx, f)
	if err != nil {
		return nil, false, 0, err
	}
	defer rc.Close()
	hi, sub := int64(-1), 0
	if pos != nil {
		hi, sub = pos.Offset, pos.Sub
	}
	ring := newRing(want)
	var scratch []byte
	found := pos == nil
	res, err := walk(ctx, rc, 0, false, 0, -1, false, false, 0, f.ModTime, func(rec record) bool {
		if !q.Until.IsZero() && !rec.time.IsZero() && !rec.time.Before(q.Until) {
			found = true // nothing from here on is in the window
			return true
		}
		limit := -1
		if pos != nil {
			switch {
			case rec.off > hi:
				return true
			case rec.off == hi:
				found, limit = true, sub
			}
		}
		if !q.candidate(rec.raw, &scratch) {
			return limit >= 0
		}
		ms := q.lines(f, rec)
		if limit >= 0 && limit < len(ms) {
			ms = ms[:limit]
		}
		for _, m := range ms {
			if q.keep(&m) {
				ring.add(m)
			}
		}
		return limit >= 0
	})
	if err != nil {
		return nil, false, res.read, err
	}
	if !found {
		return nil, false, res.read, ErrBadPos
	}
	ms, more := ring.result()
	return ms, more, res.read, nil
}

// ring keeps the last want+1 matches added, to return them newest first.
type ring struct {
	want  int
	found []Match
	head  int
	extra bool
}

func newRing(want int) *ring { return &ring{want: want} }

func (r *ring) add(m Match) {
	if len(r.found) <= r.want {
		r.found = append(r.found, m)
		return
	}
	r.found[r.head] = m
	r.head = (r.head + 1) % len(r.found)
	r.extra = true
}

func (r *ring) result() ([]Match, bool) {
	n := len(r.found)
	out := make([]Match, 0, min(n, r.want))
	for k := 0; k < n && len(out) < r.want; k++ {
		out = append(out, r.found[(r.head+n-1-k)%n])
	}
	return out, r.extra || n > r.want
}

// newestPlain reads a plain file backwards in growing chunks from its end
// (or from the record at pos, its masked lines before pos.Sub), masking
// and filtering each chunk's records newest first until want+1 matches are
// in hand: a newest-first search or tail reads only what it returns, and
// a newline count for line numbers.
func newestPlain(ctx context.Context, f File, q Query, pos *Pos, want int) ([]Match, bool, int64, error) {
	rc, err := openText(ctx, f)
	if err != nil {
		return nil, false, 0, err
	}
	defer rc.Close()
	fh := rc.file
	st, err := fh.Stat()
	if err != nil {
		return nil, false, 0, err
	}
	size := st.Size()
	var out []Match
	var read int64
	var scratch []byte
	// take adds a record's matches newest first; true when there are
	// more than want.
	take := func(rec record, limit int) bool {
		if !q.candidate(rec.raw, &scratch) {
			return false
		}
		ms := q.lines(f, rec)
		if limit >= 0 && limit < len(ms) {
			ms = ms[:limit]
		}
		for k := len(ms) - 1; k >= 0; k-- {
			m := ms[k]
			if !q.keep(&m) {
				continue
			}
			if len(out) == want {
				return true
			}
			out = append(out, m)
		}
		return false
	}
	end, endLine := size, int64(0)
	if pos != nil {
		if pos.Offset > size {
			return nil, false, 0, ErrBadPos
		}
		// The record at pos, read forward to its end.
		r, base, skip, err := seekBefore(ctx, rc, pos.Offset)
		if err != nil {
			return nil, false, 0, err
		}
		var rec *record
		res, err := walk(ctx, r, base, skip, pos.Offset, -1, true, true, max(pos.Line, 1), f.ModTime, func(r record) bool {
			rec = &r
			return true
		})
		read += res.read
		if err != nil {
			return nil, false, read, err
		}
		if rec == nil {
			return nil, false, read, ErrBadPos
		}
		if take(*rec, pos.Sub) {
			return out, true, read, nil
		}
		end, endLine = pos.Offset, rec.line
	} else {
		n, err := countLines(ctx, fh, size)
		if err != nil {
			return nil, false, read, err
		}
		read += size
		// The number a line starting at the end would have; a last line
		// without its newline counts too.
		endLine = n + 1
		if size > 0 {
			last := make([]byte, 1)
			if _, err := fh.ReadAt(last, size-1); err == nil && last[0] != '\n' {
				endLine++
			}
		}
	}
	// Each chunk read is held against the call's memory for answers at
	// chunkCost a byte while it is worked on: a chunk grows past maxChunk
	// only while one record is longer, which a file of one 128 MiB line
	// made 128 MiB (eight such searches at once peaked at 340 MiB under a
	// 256 MiB limit, red team); past maxRecordChunk the walk of this file
	// stops there (ErrLongRecord), which Search says and goes on past.
	hold := memory.HoldFrom(ctx)
	held := int64(0)
	defer func() { hold.Give(held) }()
	for chunk := int64(64 << 10); end > 0; {
		a := max(end-chunk, 0)
		if end-a > maxRecordChunk {
			return out, false, read, ErrLongRecord
		}
		hold.Give(held)
		held = (end - a) * chunkCost
		if err := hold.TakeAt(int(end-a), chunkCost); err != nil {
			held = 0
			return nil, false, read, err
		}
		var recs []record
		sb, skip := int64(0), false
		if a > keyWindow {
			sb, skip = a-keyWindow-1, true
		}
		sec := io.NewSectionReader(fh, sb, end-sb)
		if (q.Pattern != nil && q.Pattern.rawLits != nil || levelWords[q.MinLevel] != nil) && !q.exhaustive && a > 0 {
			// A chunk without any of the literals holds no candidate:
			// only its first record start is needed, to go on before it.
			raw := make([]byte, end-a)
			if _, err := fh.ReadAt(raw, a); err != nil && err != io.EOF {
				return nil, false, read, err
			}
			read += int64(len(raw))
			if !q.candidate(raw, &scratch) {
				var first *record
				res, err := walk(ctx, sec, sb, skip, a, end, false, false, 0, f.ModTime, func(r record) bool {
					first = &r
					return true
				})
				read += res.read
				if err != nil {
					return nil, false, read, err
				}
				if first == nil {
					chunk *= 2 // one record is longer than the chunk
					continue
				}
				lines := int64(bytes.Count(raw[first.off-a:], []byte{'\n'}))
				if raw[len(raw)-1] != '\n' {
					lines++ // the file's last line, without its newline
				}
				endLine -= lines
				end = first.off
				chunk = min(chunk*2, maxChunk)
				continue
			}
			sec = io.NewSectionReader(fh, sb, end-sb)
		}
		res, err := walk(ctx, sec, sb, skip, a, end, false, true, 0, f.ModTime, func(r record) bool {
			recs = append(recs, r)
			return false
		})
		read += res.read
		if err != nil {
			return nil, false, read, err
		}
		if len(recs) == 0 {
			if a == 0 {
				break
			}
			chunk *= 2 // one record is longer than the chunk
			continue
		}
		// Relative line numbers count from the chunk's first line; endLine
		// is the number at end.
		delta := endLine - res.endLine - 1
		for i := len(recs) - 1; i >= 0; i-- {
			recs[i].line += delta
			if take(recs[i], -1) {
				return out, true, read, nil
			}
		}
		if !q.Since.IsZero() && !recs[0].time.IsZero() && recs[0].time.Before(q.Since) {
			return out, false, read, nil // older records are older still
		}
		end, endLine = recs[0].off, recs[0].line
		chunk = min(chunk*2, maxChunk)
	}
	return out, false, read, nil
}

// countLines counts the newlines in the first n bytes of f, for line
// numbers when reading from the end.
func countLines(ctx context.Context, f io.ReaderAt, n int64) (int64, error) {
	buf := make([]byte, 1<<20)
	var lines, off int64
	for off < n {
		if err := ctx.Err(); err != nil {
			return 0, fmt.Errorf("stopped counting lines: %w", err)
		}
		k := min(int64(len(buf)), n-off)
		got, err := f.ReadAt(buf[:k], off)
		lines += int64(bytes.Count(buf[:got], []byte{'\n'}))
		off += int64(got)
		if err != nil {
			if err == io.EOF {
				break
			}
			return 0, err
		}
	}
	return lines, nil
}

// lineIndex returns, for each of the n lines of masked (the masker's
// output for raw), the index of the raw line it starts on. The masker
// replaces values with placeholders and keeps the text around them, so
// the text between placeholders is found in raw in order; a placeholder
// that swallowed newlines (a PEM key) makes later lines skip numbers.
func lineIndex(raw, masked string, n int) []int {
	out := make([]int, n)
	if raw == masked {
		for i := range out {
			out[i] = i
		}
		return out
	}
	ri, rawLine, k := 0, 0, 1
	for mi := 0; mi < len(masked) && k < n; {
		if strings.HasPrefix(masked[mi:], placeholderPrefix) && !strings.HasPrefix(raw[ri:], masked[mi:mi+placeholderEnd(masked[mi:])]) {
			// Skip the placeholder here and the value it replaced in raw:
			// up to where the text after it is found next.
			mi += placeholderEnd(masked[mi:])
			for mi < len(masked) && strings.HasPrefix(masked[mi:], placeholderPrefix) {
				mi += placeholderEnd(masked[mi:])
			}
			seg := masked[mi:]
			if e := strings.Index(seg, placeholderPrefix); e >= 0 {
				seg = seg[:e]
			}
			if e := strings.IndexByte(seg, '\n'); e >= 0 {
				seg = seg[:e+1]
			}
			j := -1
			if ri < len(raw) {
				j = strings.Index(raw[ri+1:], seg)
			}
			if seg == "" || j < 0 {
				break // lost: the remaining lines keep the last number
			}
			skipped := raw[ri : ri+1+j]
			rawLine += strings.Count(skipped, "\n")
			ri += 1 + j
			continue
		}
		if ri >= len(raw) {
			break
		}
		if masked[mi] == '\n' {
			for ri < len(raw) && raw[ri] != '\n' {
				ri++ // masked and raw disagree: resynchronize at the newline
			}
			if ri < len(raw) {
				rawLine++
				out[k] = rawLine
				k++
			}
		}
		mi++
		ri++
	}
	for ; k < n; k++ {
		out[k] = out[k-1]
	}
	return out
}

const placeholderPrefix = "[MASKED"

// placeholderEnd is the length of the placeholder at the start of s.
func placeholderEnd(s string) int {
	if e := strings.IndexByte(s, ']'); e >= 0 {
		return e + 1
	}
	return len(s)
}

func fieldsMatch(line []byte, want map[string]string) bool {
	if len(line) == 0 || line[0] != '{' {
		return false
	}
	var obj map[string]any
	if err := json.Unmarshal(line, &obj); err != nil {
		return false
	}
	for k, v := range want {
		got, ok := lookup(obj, k)
		if !ok || !strings.EqualFold(got, v) {
			return false
		}
	}
	return true
}

// lookup finds key in obj: the key as written, or a dotted path into
// nested objects.
func lookup(obj map[string]any, key string) (string, bool) {
	if v, ok := obj[key]; ok {
		return scalar(v)
	}
	head, rest, ok := strings.Cut(key, ".")
	if !ok {
		return "", false
	}
	inner, ok := obj[head].(map[string]any)
	if !ok {
		return "", false
	}
	return lookup(inner, rest)
}

func scalar(v any) (string, bool) {
	switch t := v.(type) {
	case string:
		return t, true
	case nil:
		return "null", true
	case map[string]any, []any:
		b, _ := json.Marshal(t)
		return string(b), true
	default:
		return fmt.Sprint(t), true
	}
}

// cutLine returns line as text, cut to max bytes at a separator when it
// is longer, with the original length.
func cutLine(line []byte, maxLen int) (string, int) {
	if maxLen <= 0 || len(line) <= maxLen {
		return strings.ToValidUTF8(string(line), "\uFFFD"), 0
	}
	end := maxLen
	for i := maxLen; i > maxLen-256 && i > 0; i-- {
		if c := line[i]; c == ' ' || c == ',' || c == ';' || c == '\t' {
			end = i
			break
		}
	}
	for end > 0 && !utf8.RuneStart(line[end]) {
		end--
	}
	return strings.ToValidUTF8(string(line[:end]), "\uFFFD"), len(line)
}
