package warmup

import (
	"strings"
	"testing"
	"time"
)

// FuzzWindow: any hours, days and size text is either refused with an
// error or read into a window that answers for every time without
// panicking, whose description reads back into the same window, and
// whose all-day spans contain every minute of an allowed day.
func FuzzWindow(f *testing.F) {
	f.Add("07:00-19:00", "mon-fri", "24GiB", int64(0))
	f.Add("22:00-06:00", "fri", "16GB", int64(1_800_000_000))
	f.Add("00:00-24:00", "sat-sun", "1024", int64(-5))
	f.Add("23:59-00:00", "sun-mon", "1.5TiB", int64(1<<40))
	f.Add("7-19", "monday", "NaN", int64(7))
	f.Fuzz(func(t *testing.T, hours, days, size string, at int64) {
		if n, err := ParseBytes(size); err == nil && n <= 0 {
			t.Fatalf("ParseBytes(%q) = %d without an error", size, n)
		}
		hs := strings.Split(hours, ",")
		var ds []string
		if days != "" {
			ds = strings.Split(days, ",")
		}
		w, err := ParseWindow(hs, ds, "UTC")
		if err != nil {
			return
		}
		// The description's spans and days read back into the same window.
		desc := strings.TrimSuffix(w.String(), " (UTC)")
		spans, onDays, _ := strings.Cut(desc, " on ")
		var dd []string
		if onDays != "" {
			dd = strings.Split(onDays, ", ")
		}
		back, err := ParseWindow(strings.Split(spans, ", "), lower(dd), "UTC")
		if err != nil {
			t.Fatalf("the description %q does not read back: %v", desc, err)
		}
		tm := time.Unix(at%(1<<40), 0).UTC()
		for i := range 48 {
			x := tm.Add(time.Duration(i) * 37 * time.Minute)
			if w.Contains(x) != back.Contains(x) {
				t.Fatalf("%q and its reading back disagree at %s", desc, x)
			}
			full := (w.days == nil || w.days[x.Weekday()])
			for _, s := range w.spans {
				if s.from == 0 && s.to == 24*60 && full && !w.Contains(x) {
					t.Fatalf("an all-day span leaves out %s", x)
				}
			}
		}
	})
}

func lower(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strings.ToLower(s)
	}
	return out
}
