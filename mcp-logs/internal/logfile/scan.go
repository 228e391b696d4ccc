package logfile

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"
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
}

// Match is one line found.
type Match struct {
	File   string
	Line   int64 // 1-based
	Offset int64 // of the line's first byte, in the (decompressed) text
	End    int64 // offset just after the line's newline
	Time   time.Time
	Level  Level
	Text   string
	// Len is the line's length when Text was cut, else 0.
	Len int
}

// Pos is where a walk continues: in File, lines starting before Offset
// (newest first) or at Offset and after (oldest first). Line is the line
// number at Offset.
type Pos struct {
	File   string `json:"f"`
	Offset int64  `json:"o"`
	Line   int64  `json:"l,omitempty"`
}

// Stats says how much a search read.
type Stats struct {
	Files int
	Bytes int64
}

// After returns where an oldest-first walk continues after m.
func (m Match) After() Pos { return Pos{File: m.File, Offset: m.End, Line: m.Line + 1} }

// Before returns where a newest-first walk continues before m.
func (m Match) Before() Pos { return Pos{File: m.File, Offset: m.Offset} }

const blockSize = 1 << 20

// maxLineBuffer is the longest line kept whole while scanning; a longer
// one is treated as several.
const maxLineBuffer = 16 << 20

// Search finds the lines of files (in the order given: newest file first
// for a newest-first walk) that match q, starting at from (nil: the
// beginning of the walk). It returns at most q.Limit lines and whether
// more exist.
func Search(ctx context.Context, files []File, q Query, from *Pos) ([]Match, bool, Stats, error) {
	var out []Match
	var st Stats
	started := from == nil
	for i := range files {
		f := files[i]
		if q.Oldest {
			f = files[len(files)-1-i]
		}
		lo, hi, line := int64(0), int64(-1), int64(1)
		if !started {
			if f.Path != from.File {
				continue
			}
			started = true
			if q.Oldest {
				lo, line = from.Offset, max(from.Line, 1)
			} else {
				hi = from.Offset
			}
		}
		want := q.Limit - len(out)
		ms, more, n, err := scanFile(ctx, f, q, lo, hi, line, want)
		st.Files++
		st.Bytes += n
		if err != nil {
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

// scanFile streams f and returns up to want matches among the lines that
// start in [lo, hi) (hi < 0: to the end): the first ones oldest first, the
// last ones (newest first) otherwise. more says whether others matched.
func scanFile(ctx context.Context, f File, q Query, lo, hi, line int64, want int) ([]Match, bool, int64, error) {
	rc, err := open(f)
	if err != nil {
		return nil, false, 0, err
	}
	defer rc.Close()
	if lo > 0 {
		if s, ok := rc.(io.Seeker); ok {
			if _, err := s.Seek(lo, io.SeekStart); err != nil {
				return nil, false, 0, err
			}
		} else if _, err := io.CopyN(io.Discard, rc, lo); err != nil {
			return nil, false, 0, err
		}
	}
	sc := scanner{q: q, file: f, want: want}
	var read int64
	buf := make([]byte, blockSize)
	carry := 0 // bytes of an unfinished line at buf's start
	base := lo // offset of buf[0]
	for {
		if err := ctx.Err(); err != nil {
			return nil, false, read, fmt.Errorf("stopped after reading %d MB: %w", read>>20, err)
		}
		if carry == len(buf) {
			buf = append(buf, make([]byte, len(buf))...) // a long line
		}
		n, rerr := io.ReadFull(rc, buf[carry:])
		read += int64(n)
		end := carry + n
		eof := rerr == io.EOF || rerr == io.ErrUnexpectedEOF
		if rerr != nil && !eof {
			return nil, false, read, rerr
		}
		block := buf[:end]
		if !eof {
			switch nl := bytes.LastIndexByte(block, '\n'); {
			case nl >= 0:
				block = buf[:nl+1]
			case end < maxLineBuffer:
				carry = end
				continue
			default:
				// An enormous line: it is taken as several.
			}
		}
		if hi >= 0 && base+int64(len(block)) > hi {
			block = block[:max(hi-base, 0)]
			eof = true
		}
		stop := sc.block(block, base, &line)
		if stop || eof {
			break
		}
		rest := copy(buf, buf[len(block):end])
		base += int64(len(block))
		carry = rest
	}
	ms, more := sc.result()
	return ms, more, read, nil
}

// scanner applies a query to successive blocks of whole lines.
type scanner struct {
	q    Query
	file File
	want int
	// found holds matches oldest first; newest first it is a ring of the
	// last want+1.
	found []Match
	head  int  // ring start
	extra bool // newest first: a match fell off the ring
	// lastTime and lastLevel are those of the last entry seen, for lines
	// that continue it.
	lastTime  time.Time
	lastLevel Level
	scratch   []byte // lower-cased block, for case-insensitive literals
}

func (s *scanner) add(m Match) bool {
	if s.q.Oldest {
		s.found = append(s.found, m)
		return len(s.found) > s.want
	}
	if len(s.found) <= s.want {
		s.found = append(s.found, m)
		return false
	}
	s.found[s.head] = m
	s.head = (s.head + 1) % len(s.found)
	s.extra = true
	return false
}

func (s *scanner) result() ([]Match, bool) {
	if s.q.Oldest {
		if len(s.found) > s.want {
			return s.found[:s.want], true
		}
		return s.found, false
	}
	n := len(s.found)
	out := make([]Match, 0, min(n, s.want))
	for k := 0; k < n && len(out) < s.want; k++ {
		out = append(out, s.found[(s.head+n-1-k)%n])
	}
	return out, s.extra || n > s.want
}

// block handles one block of whole lines starting at offset base; line is
// the number of its first line, advanced past the block. It reports
// whether the scan can stop.
func (s *scanner) block(b []byte, base int64, line *int64) bool {
	first := *line
	defer func() { *line = first + int64(bytes.Count(b, []byte{'\n'})) }()
	if len(b) == 0 {
		return false
	}
	ref := s.file.ModTime
	// Whole-block time checks: logs are written in time order, so a block
	// that starts after Until ends the scan, and one that ends before
	// Since has nothing to return.
	if !s.q.Until.IsZero() {
		if t, ok := firstTime(b, ref); ok && !t.Before(s.q.Until) {
			return true
		}
	}
	if !s.q.Since.IsZero() {
		if t, lvl, ok := lastTime(b, ref); ok && t.Before(s.q.Since) {
			s.lastTime, s.lastLevel = t, lvl
			return false
		}
	}
	var find *finder
	if s.q.Pattern != nil {
		find = s.q.Pattern.finder(b, &s.scratch)
	}
	pos, counted, ln := 0, 0, first
	for pos < len(b) {
		start := pos
		if find != nil {
			at := find.candidate(pos)
			if at < 0 {
				break
			}
			start = max(bytes.LastIndexByte(b[:at], '\n')+1, pos)
		}
		end := bytes.IndexByte(b[start:], '\n')
		if end < 0 {
			end = len(b)
		} else {
			end += start + 1
		}
		text := bytes.TrimRight(b[start:end], "\r\n")
		pos = end
		// A candidate only holds a literal, or a block match may cross a
		// line end: the line alone decides.
		if s.q.Pattern != nil && !s.q.Pattern.re.Match(text) {
			continue
		}
		ln += int64(bytes.Count(b[counted:start], []byte{'\n'}))
		counted = start
		t, lvl := s.entry(b, start, text, ref)
		if !s.keep(t, lvl, text) {
			continue
		}
		m := Match{File: s.file.Path, Line: ln, Offset: base + int64(start), End: base + int64(end), Time: t, Level: lvl}
		m.Text, m.Len = cutLine(text, s.q.MaxLine)
		if s.add(m) {
			return true
		}
	}
	if t, lvl, ok := lastTime(b, ref); ok {
		s.lastTime, s.lastLevel = t, lvl
	}
	return false
}

// entry returns the time and level of the line at b[start:], or of the
// entry it continues (the nearest earlier line with a time).
func (s *scanner) entry(b []byte, start int, text []byte, ref time.Time) (time.Time, Level) {
	if t, lvl, ok := Stamp(text, ref); ok {
		return t, lvl
	}
	if t, lvl, ok := lastTime(b[:start], ref); ok {
		return t, lvl
	}
	return s.lastTime, s.lastLevel
}

func (s *scanner) keep(t time.Time, lvl Level, text []byte) bool {
	q := s.q
	if !q.Since.IsZero() && (t.IsZero() || t.Before(q.Since)) {
		return false
	}
	if !q.Until.IsZero() && (t.IsZero() || !t.Before(q.Until)) {
		return false
	}
	if q.MinLevel != LevelNone && lvl < q.MinLevel {
		return false
	}
	if len(q.Fields) > 0 && !fieldsMatch(text, q.Fields) {
		return false
	}
	return true
}

// lookBack is how many lines firstTime and lastTime read to find a time.
const lookBack = 200

func firstTime(b []byte, ref time.Time) (time.Time, bool) {
	for i, pos := 0, 0; i < lookBack && pos < len(b); i++ {
		end := bytes.IndexByte(b[pos:], '\n')
		if end < 0 {
			end = len(b) - pos
		}
		if t, _, ok := Stamp(b[pos:pos+end], ref); ok {
			return t, true
		}
		pos += end + 1
	}
	return time.Time{}, false
}

// lastTime returns the time and level of the last line of b that has one.
func lastTime(b []byte, ref time.Time) (time.Time, Level, bool) {
	end := len(b)
	for i := 0; i < lookBack && end > 0; i++ {
		if b[end-1] == '\n' {
			end--
		}
		start := bytes.LastIndexByte(b[:end], '\n') + 1
		if t, lvl, ok := Stamp(b[start:end], ref); ok {
			return t, lvl, true
		}
		end = start
	}
	return time.Time{}, LevelNone, false
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
// is longer (so a token is kept whole for the masker, or left out whole),
// with the original length.
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
