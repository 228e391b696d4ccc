package logfile

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// FuzzStamp: the timestamp and level parsers never panic on any line, and
// the entry-start check (stampTime) agrees with Stamp on the time.
func FuzzStamp(f *testing.F) {
	for _, s := range []string{
		"2026-03-01T10:00:00.123Z INFO started", "2026/03/01 10:00:00 [error] x", "Mar  1 10:00:00 host sshd[12]: ok",
		`10.0.0.1 - - [01/Mar/2026:11:00:00 +0100] "GET /"`, "E0301 10:00:00.250000       1 x.go:1] failed",
		`time="2026-03-01T10:00:00Z" level=warning`, `{"ts":1772359200000,"lvl":"info"}`, `{"time":"2026-03-01T10:00:00+02:00","level":"ERROR"}`,
		`{"ts":1e308}`, `{"ts":-1}`, "2026-13-45T99:99:99Z", `{"level":"`, "\tat x", "",
	} {
		f.Add(s)
	}
	ref := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, line string) {
		tm, lvl, ok := Stamp([]byte(line), ref)
		t2, ok2 := stampTime([]byte(line), ref)
		if ok != ok2 || !tm.Equal(t2) {
			t.Fatalf("Stamp %v %v, stampTime %v %v", tm, ok, t2, ok2)
		}
		if lvl < LevelNone || lvl > LevelFatal {
			t.Fatalf("level %d out of range", lvl)
		}
		_ = lvl.String()
		if !ok && !tm.IsZero() {
			t.Fatalf("no time, but %v", tm)
		}
		ParseLevel(line)
	})
}

// FuzzGlob: a path glob never panics, and matches what filepath.Match
// matches on the relative path, or on the base name for a glob without a
// slash.
func FuzzGlob(f *testing.F) {
	for _, s := range [][2]string{{"*.log", "app/app.log"}, {"app/*.log*", "app/app.log.1"}, {"[", "x"}, {`\`, "x"}, {"**/x", "a/b/x"}, {"app.log*", "app.log.2.gz"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, glob, rel string) {
		got := globMatch(glob, rel)
		if ok, _ := filepath.Match(glob, rel); ok && !got {
			t.Fatalf("%q does not match %q, though filepath.Match does", glob, rel)
		}
		if !strings.Contains(glob, "/") {
			if ok, _ := filepath.Match(glob, filepath.Base(rel)); ok && !got {
				t.Fatalf("%q does not match the base of %q", glob, rel)
			}
		}
		if got {
			ok1, _ := filepath.Match(glob, rel)
			ok2, _ := filepath.Match(glob, filepath.Base(rel))
			if !ok1 && !(ok2 && !strings.Contains(glob, "/")) {
				t.Fatalf("%q matched %q for no reason", glob, rel)
			}
		}
	})
}

// FuzzPosition: any position (as a cursor would carry it) on a file
// holding a secret assignment, a JSON password and a PEM key: never a
// panic, and either refused as not an entry boundary or only masked text.
func FuzzPosition(f *testing.F) {
	f.Add(int64(0), int64(1), 0, true, false)
	f.Add(int64(500), int64(12), 1, false, false)
	f.Add(int64(2300), int64(40), 3, true, true)
	f.Add(int64(-1), int64(-5), -2, false, true)
	f.Add(int64(1<<40), int64(1), 1<<30, true, false)
	plain, gz, _ := secretFile(f)
	f.Fuzz(func(t *testing.T, off, line int64, sub int, oldest, zip bool) {
		file := plain
		if zip {
			file = gz
		}
		pos := &Pos{File: file.Path, Offset: off, Line: line, Sub: sub}
		ms, _, _, err := Search(context.Background(), []File{file}, Query{Limit: 100, Oldest: oldest, Mask: masker()}, pos)
		if err == nil {
			assertNoSecret(t, ms, "search")
		}
		ms, _, err = Tail(context.Background(), file, 100, 0, masker(), pos)
		if err == nil {
			assertNoSecret(t, ms, "tail")
		}
	})
}

// FuzzRecords: masking whole records, split into lines, never panics;
// line numbers count up within the file, and a walk resumed at each line's
// position shows the same lines as the whole walk.
func FuzzRecords(f *testing.F) {
	f.Add("2026-03-01T10:00:00Z INFO a\ncontinued password=hunter2x\n-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n2026-03-01T10:00:01Z INFO b\n")
	f.Add("no stamps\nat all\n")
	f.Add("-----BEGIN X-----\n2026-03-01T10:00:00Z inside\n")
	f.Add("token=[MASKED:x:1]\n\n\r\n")
	f.Fuzz(func(t *testing.T, body string) {
		if len(body) > 4<<10 {
			return
		}
		dir := t.TempDir()
		p := filepath.Join(dir, "f.log")
		if err := writeFile(p, body); err != nil {
			t.Fatal(err)
		}
		file, err := Stat(p)
		if err != nil {
			return // not text
		}
		q := Query{Limit: 10000, Oldest: true, Mask: masker()}
		all, _, _, err := Search(context.Background(), []File{file}, q, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := 1; i < len(all); i++ {
			if all[i].Line < all[i-1].Line || all[i].Rec < all[i-1].Rec {
				t.Fatalf("line numbers go back: %+v then %+v", all[i-1], all[i])
			}
		}
		step := max(len(all)/40, 1) // resuming everywhere would be quadratic
		for i, m := range all {
			if i%step != 0 {
				continue
			}
			p := m.Before()
			p.Sub = m.Sub
			rest, _, _, err := Search(context.Background(), []File{file}, q, &p)
			if err != nil {
				t.Fatalf("resume at line %d: %v", i, err)
			}
			if len(rest) != len(all)-i || len(rest) > 0 && rest[0].Text != m.Text {
				t.Fatalf("resume at %d: %d lines, want %d", i, len(rest), len(all)-i)
			}
		}
	})
}
