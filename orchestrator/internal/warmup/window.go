package warmup

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Window is when models are kept warm: daily spans of minutes, on some
// weekdays, in a time zone. The zero Window is always open.
type Window struct {
	loc   *time.Location
	spans []span
	// days[d] is whether a span may start on weekday d; nil: every day.
	days []bool
}

// span is [from, to) in minutes after midnight; to <= from runs past
// midnight into the next day.
type span struct{ from, to int }

var weekdays = map[string]time.Weekday{"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday}

// ParseWindow reads hours ("07:00-19:00"; "22:00-06:00" runs past
// midnight; none: all day), days ("mon", "mon-fri", "sat-sun"; none:
// every day; an overnight span belongs to the day it starts) and an IANA
// time zone (empty: local).
func ParseWindow(hours, days []string, zone string) (Window, error) {
	w := Window{loc: time.Local}
	if zone != "" {
		loc, err := time.LoadLocation(zone)
		if err != nil {
			return w, fmt.Errorf("timezone %q: %v (use an IANA name such as Europe/Berlin)", zone, err)
		}
		w.loc = loc
	}
	for _, h := range hours {
		a, b, ok := strings.Cut(strings.TrimSpace(h), "-")
		from, err1 := clock(a)
		to, err2 := clock(b)
		if !ok || err1 != nil || err2 != nil || from == to || from == 24*60 {
			return w, fmt.Errorf("hours %q: write HH:MM-HH:MM with two different times, such as 07:00-19:00 or 22:00-06:00", h)
		}
		w.spans = append(w.spans, span{from, to})
	}
	if len(days) > 0 {
		w.days = make([]bool, 7)
	}
	for _, d := range days {
		a, b, isRange := strings.Cut(strings.ToLower(strings.TrimSpace(d)), "-")
		first, ok1 := weekdays[a]
		last, ok2 := first, true
		if isRange {
			last, ok2 = weekdays[b]
		}
		if !ok1 || !ok2 {
			return w, fmt.Errorf("days %q: write a weekday (mon, tue, wed, thu, fri, sat, sun) or a range such as mon-fri", d)
		}
		for i := first; ; i = (i + 1) % 7 {
			w.days[i] = true
			if i == last {
				break
			}
		}
	}
	return w, nil
}

// clock reads HH:MM (00:00 to 24:00) as minutes after midnight.
func clock(s string) (int, error) {
	hh, mm, ok := strings.Cut(strings.TrimSpace(s), ":")
	h, err1 := strconv.Atoi(hh)
	m, err2 := strconv.Atoi(mm)
	if !ok || err1 != nil || err2 != nil || len(hh) != 2 || len(mm) != 2 || h < 0 || m < 0 || m > 59 || h > 24 || (h == 24 && m != 0) {
		return 0, fmt.Errorf("%q is not HH:MM", s)
	}
	return h*60 + m, nil
}

// Contains reports whether t is inside the window.
func (w Window) Contains(t time.Time) bool {
	if w.loc != nil {
		t = t.In(w.loc)
	}
	day := t.Weekday()
	prev := (day + 6) % 7
	on := func(d time.Weekday) bool { return w.days == nil || w.days[d] }
	if len(w.spans) == 0 {
		return on(day)
	}
	m := t.Hour()*60 + t.Minute()
	for _, s := range w.spans {
		switch {
		case s.from < s.to:
			if on(day) && m >= s.from && m < s.to {
				return true
			}
		default: // past midnight: the evening part today, the morning part from yesterday
			if (on(day) && m >= s.from) || (on(prev) && m < s.to) {
				return true
			}
		}
	}
	return false
}

// String describes the window for logs and reports.
func (w Window) String() string {
	var parts []string
	if len(w.spans) == 0 {
		parts = append(parts, "all day")
	}
	for _, s := range w.spans {
		parts = append(parts, fmt.Sprintf("%02d:%02d-%02d:%02d", s.from/60, s.from%60, s.to/60, s.to%60))
	}
	out := strings.Join(parts, ", ")
	if w.days != nil {
		var ds []string
		for i, on := range w.days {
			if on {
				ds = append(ds, time.Weekday(i).String()[:3])
			}
		}
		out += " on " + strings.Join(ds, ", ")
	}
	if w.loc != nil {
		out += " (" + w.loc.String() + ")"
	}
	return out
}
