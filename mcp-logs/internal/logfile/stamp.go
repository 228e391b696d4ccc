package logfile

import (
	"bytes"
	"strconv"
	"time"
)

// Level is a log line's severity, ordered so that a minimum can be asked.
type Level int

// Levels, lowest first. LevelNone is a line that names no level.
const (
	LevelNone Level = iota
	LevelTrace
	LevelDebug
	LevelInfo
	LevelWarn
	LevelError
	LevelFatal
)

var levelNames = []string{"", "trace", "debug", "info", "warn", "error", "fatal"}

func (l Level) String() string { return levelNames[l] }

// ParseLevel reads a level name as tools take it (case-insensitive; warning,
// err, critical and panic are accepted too).
func ParseLevel(s string) (Level, bool) {
	l := levelWord([]byte(s))
	return l, l != LevelNone
}

func levelWord(w []byte) Level {
	if len(w) > 8 {
		return LevelNone
	}
	var buf [8]byte
	for i, c := range w {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	switch string(buf[:len(w)]) {
	case "trace", "trc":
		return LevelTrace
	case "debug", "dbg", "d":
		return LevelDebug
	case "info", "inf", "notice", "i":
		return LevelInfo
	case "warn", "warning", "wrn", "w":
		return LevelWarn
	case "error", "err", "e", "crit", "critical", "alert":
		return LevelError
	case "fatal", "panic", "emerg", "f":
		return LevelFatal
	}
	return LevelNone
}

// Stamp reads the time and level of a log line in the common formats:
// RFC 3339 and ISO timestamps at the start, syslog ("Jan _2 15:04:05"),
// nginx/apache ("[02/Jan/2006:15:04:05 -0700]"), klog ("E0102
// 15:04:05.000000"), logfmt (time=, ts=, level=) and JSON lines (time, ts,
// timestamp, @timestamp; level, lvl, severity). ref supplies the year for
// formats without one (the file's modification time): a date that would
// lie after ref is taken from the year before.
func Stamp(line []byte, ref time.Time) (time.Time, Level, bool) {
	if len(line) > 0 && line[0] == '{' {
		return jsonStamp(line, ref)
	}
	head := line
	if len(head) > 256 {
		head = head[:256]
	}
	if t, l, ok := klogStamp(head, ref); ok {
		return t, l, true
	}
	t, ok := textTime(head, ref)
	return t, textLevel(head), ok
}

// stampTime is Stamp without the level, for telling where a log entry
// starts.
func stampTime(line []byte, ref time.Time) (time.Time, bool) {
	if len(line) > 0 && line[0] == '{' {
		t, _, ok := jsonStamp(line, ref)
		return t, ok
	}
	head := line
	if len(head) > 256 {
		head = head[:256]
	}
	if t, _, ok := klogStamp(head, ref); ok {
		return t, true
	}
	return textTime(head, ref)
}

// textTime reads the time of a plain (not JSON, not klog) line head.
func textTime(head []byte, ref time.Time) (time.Time, bool) {
	if t, ok := leadingTime(head); ok {
		return t, true
	}
	if t, ok := syslogTime(head, ref); ok {
		return t, true
	}
	if i := bytes.IndexByte(head, '['); i >= 0 {
		if t, err := time.Parse("02/Jan/2006:15:04:05 -0700", string(clip(head[i+1:], 26))); err == nil {
			return t, true
		}
	}
	for _, key := range [][]byte{[]byte("time="), []byte("ts="), []byte("t=")} {
		if i := bytes.Index(head, key); i >= 0 && (i == 0 || head[i-1] == ' ') {
			v := head[i+len(key):]
			if len(v) > 0 && v[0] == '"' {
				v = v[1:]
			}
			if t, ok := leadingTime(v); ok {
				return t, true
			}
		}
	}
	return time.Time{}, false
}

func clip(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

// leadingTime parses an RFC 3339 or ISO-like timestamp at the start of b:
// 2006-01-02T15:04:05[.frac][Z|±hh:mm] or with a space instead of T, and a
// comma as decimal mark (log4j), or slashes in the date (nginx's error
// log). Without a zone it is UTC.
func leadingTime(b []byte) (time.Time, bool) {
	if len(b) < 19 || (b[4] != '-' && b[4] != '/') || b[7] != b[4] || (b[10] != 'T' && b[10] != ' ') || b[13] != ':' || b[16] != ':' {
		return time.Time{}, false
	}
	num := func(s []byte) (int, bool) {
		n := 0
		for _, c := range s {
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	y, ok1 := num(b[0:4])
	mo, ok2 := num(b[5:7])
	d, ok3 := num(b[8:10])
	h, ok4 := num(b[11:13])
	mi, ok5 := num(b[14:16])
	s, ok6 := num(b[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60 {
		return time.Time{}, false
	}
	i := 19
	ns := 0
	if i < len(b) && (b[i] == '.' || b[i] == ',') {
		i++
		digits := 0
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			if digits < 9 {
				ns = ns*10 + int(b[i]-'0')
				digits++
			}
			i++
		}
		for ; digits < 9; digits++ {
			ns *= 10
		}
	}
	loc := time.UTC
	if i < len(b) {
		switch c := b[i]; {
		case c == 'Z':
		case (c == '+' || c == '-') && i+6 <= len(b) && b[i+3] == ':':
			oh, ok1 := num(b[i+1 : i+3])
			om, ok2 := num(b[i+4 : i+6])
			if ok1 && ok2 {
				off := oh*3600 + om*60
				if c == '-' {
					off = -off
				}
				loc = time.FixedZone("", off)
			}
		}
	}
	return time.Date(y, time.Month(mo), d, h, mi, s, ns, loc).UTC(), true
}

var months = map[string]time.Month{"Jan": 1, "Feb": 2, "Mar": 3, "Apr": 4, "May": 5, "Jun": 6, "Jul": 7, "Aug": 8, "Sep": 9, "Oct": 10, "Nov": 11, "Dec": 12}

// withYear places a month-day-time without a year in ref's year, or the
// year before when that would be more than a day after ref.
func withYear(t time.Time, ref time.Time) time.Time {
	if ref.IsZero() {
		ref = time.Now()
	}
	t = time.Date(ref.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
	if t.After(ref.Add(24 * time.Hour)) {
		t = t.AddDate(-1, 0, 0)
	}
	return t
}

func syslogTime(b []byte, ref time.Time) (time.Time, bool) {
	if len(b) < 15 {
		return time.Time{}, false
	}
	if _, ok := months[string(b[:3])]; !ok || b[3] != ' ' {
		return time.Time{}, false
	}
	t, err := time.Parse(time.Stamp, string(b[:15]))
	if err != nil {
		return time.Time{}, false
	}
	return withYear(t, ref), true
}

// klogStamp parses "Lmmdd hh:mm:ss.uuuuuu", the Kubernetes components'
// format, whose first letter is the level.
func klogStamp(b []byte, ref time.Time) (time.Time, Level, bool) {
	if len(b) < 21 || b[5] != ' ' || b[8] != ':' || b[11] != ':' || b[14] != '.' {
		return time.Time{}, LevelNone, false
	}
	var lvl Level
	switch b[0] {
	case 'I':
		lvl = LevelInfo
	case 'W':
		lvl = LevelWarn
	case 'E':
		lvl = LevelError
	case 'F':
		lvl = LevelFatal
	default:
		return time.Time{}, LevelNone, false
	}
	t, err := time.Parse("0102 15:04:05.000000", string(b[1:21]))
	if err != nil {
		return time.Time{}, LevelNone, false
	}
	return withYear(t, ref), lvl, true
}

// textLevel finds a level word near the start of a plain line: level=x,
// [x], <x>, or an upper-case word such as ERROR.
func textLevel(b []byte) Level {
	if i := bytes.Index(b, []byte("level=")); i >= 0 {
		v := b[i+6:]
		if len(v) > 0 && v[0] == '"' {
			v = v[1:]
		}
		return levelWord(word(v))
	}
	for i := 0; i < len(b); {
		for i < len(b) && !isWordByte(b[i]) {
			i++
		}
		j := i
		for j < len(b) && isWordByte(b[j]) {
			j++
		}
		w := b[i:j]
		if len(w) >= 3 && len(w) <= 8 && (upper(w) || i > 0 && (b[i-1] == '[' || b[i-1] == '<') && j < len(b) && (b[j] == ']' || b[j] == '>')) {
			if l := levelWord(w); l != LevelNone {
				return l
			}
		}
		i = j
	}
	return LevelNone
}

func isWordByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

func upper(w []byte) bool {
	for _, c := range w {
		if c < 'A' || c > 'Z' {
			return false
		}
	}
	return true
}

func word(b []byte) []byte {
	j := 0
	for j < len(b) && isWordByte(b[j]) {
		j++
	}
	return b[:j]
}

var (
	jsonTimeKeys  = [][]byte{[]byte(`"time"`), []byte(`"ts"`), []byte(`"timestamp"`), []byte(`"@timestamp"`), []byte(`"t"`)}
	jsonLevelKeys = [][]byte{[]byte(`"level"`), []byte(`"lvl"`), []byte(`"severity"`), []byte(`"log.level"`)}
)

// jsonStamp reads the time and level fields of a JSON line without
// decoding it whole: only the values of the usual keys are looked at.
func jsonStamp(line []byte, ref time.Time) (time.Time, Level, bool) {
	lvl := LevelNone
	for _, k := range jsonLevelKeys {
		if v := jsonValue(line, k); len(v) > 1 && v[0] == '"' {
			lvl = levelWord(bytes.Trim(v, `"`))
			break
		}
	}
	for _, k := range jsonTimeKeys {
		v := jsonValue(line, k)
		if len(v) == 0 {
			continue
		}
		if v[0] == '"' {
			if t, ok := leadingTime(v[1:]); ok {
				return t, lvl, true
			}
			continue
		}
		if f, err := strconv.ParseFloat(string(v), 64); err == nil && f > 0 {
			return epoch(f), lvl, true
		}
	}
	return time.Time{}, lvl, false
}

// epoch reads a number as seconds, milliseconds, microseconds or
// nanoseconds since 1970, whichever gives a date in a plausible range.
func epoch(f float64) time.Time {
	switch {
	case f > 1e17:
		return time.Unix(0, int64(f)).UTC()
	case f > 1e14:
		return time.UnixMicro(int64(f)).UTC()
	case f > 1e11:
		return time.UnixMilli(int64(f)).UTC()
	default:
		sec := int64(f)
		return time.Unix(sec, int64((f-float64(sec))*1e9)).UTC()
	}
}

// jsonValue returns the raw value after "key": in a JSON object line (a
// string with its quotes, or a bare number), or nil.
func jsonValue(line, key []byte) []byte {
	i := bytes.Index(line, key)
	if i < 0 {
		return nil
	}
	v := bytes.TrimLeft(line[i+len(key):], " ")
	if len(v) == 0 || v[0] != ':' {
		return nil
	}
	v = bytes.TrimLeft(v[1:], " ")
	if len(v) == 0 {
		return nil
	}
	if v[0] == '"' {
		for j := 1; j < len(v); j++ {
			if v[j] == '\\' {
				j++
				continue
			}
			if v[j] == '"' {
				return v[:j+1]
			}
		}
		return nil
	}
	j := 0
	for j < len(v) && v[j] != ',' && v[j] != '}' && v[j] != ' ' {
		j++
	}
	return v[:j]
}
