package logfile

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fixture copies testdata/app to a temporary root, gzips app.log.2 (as
// logrotate would) and sets modification times in rotation order.
func fixture(t *testing.T) (*Roots, string) {
	t.Helper()
	dir := t.TempDir()
	for i, name := range []string{"app.log.2", "app.log.1", "app.log"} {
		b, err := os.ReadFile(filepath.Join("testdata/app", name))
		require.NoError(t, err)
		dst := filepath.Join(dir, name)
		if name == "app.log.2" {
			var z bytes.Buffer
			w := gzip.NewWriter(&z)
			w.Write(b)
			w.Close()
			b, dst = z.Bytes(), dst+".gz"
		}
		require.NoError(t, os.WriteFile(dst, b, 0o644))
		mt := time.Date(2026, 3, 1, 8+i, 30, 0, 0, time.UTC)
		require.NoError(t, os.Chtimes(dst, mt, mt))
	}
	roots, err := NewRoots([]string{dir})
	require.NoError(t, err)
	real, _ := filepath.EvalSymlinks(dir)
	return roots, real
}

func texts(ms []Match) []string {
	var out []string
	for _, m := range ms {
		out = append(out, fmt.Sprintf("%s:%d %s", filepath.Base(m.File), m.Line, m.Text))
	}
	return out
}

func search(t *testing.T, roots *Roots, q Query, from *Pos) ([]Match, bool) {
	t.Helper()
	files, _, err := roots.List("app.log*", 100)
	require.NoError(t, err)
	ms, more, _, err := Search(context.Background(), files, q, from)
	require.NoError(t, err)
	return ms, more
}

func TestSearchAcrossRotation(t *testing.T) {
	roots, _ := fixture(t)
	re, _ := Compile(`timeout|failed|panic`)
	ms, more := search(t, roots, Query{Pattern: re, Limit: 10}, nil)
	assert.False(t, more)
	assert.Equal(t, []string{
		`app.log:4 {"time":"2026-03-01T10:00:03Z","level":"error","msg":"new-4 upstream timeout","user":"ann","http":{"status":504}}`,
		`app.log:2 {"time":"2026-03-01T10:00:01Z","level":"error","msg":"new-2 upstream timeout","user":"bob","http":{"status":504}}`,
		"app.log.1:2 2026-03-01T09:00:01Z ERROR mid-2 panic: nil map",
		"app.log.2.gz:2 2026-03-01T08:00:01Z ERROR old-2 db connect failed: password authentication failed",
	}, texts(ms), "newest first, over plain, rotated and gzip files")

	ms, _ = search(t, roots, Query{Pattern: re, Limit: 10, Oldest: true}, nil)
	require.Len(t, ms, 4)
	assert.Equal(t, "app.log.2.gz:2", strings.Fields(texts(ms)[0])[0])
}

func TestSearchFilters(t *testing.T) {
	roots, _ := fixture(t)
	cases := []struct {
		name string
		q    Query
		want []string // "file:line" newest first
	}{
		{"min level error", Query{MinLevel: LevelError}, []string{"app.log:4", "app.log:2", "app.log.1:5", "app.log.1:4", "app.log.1:3", "app.log.1:2", "app.log.2.gz:2"}},
		{"warn and above in a window", Query{MinLevel: LevelWarn, Since: ts("2026-03-01T09:00:02Z"), Until: ts("2026-03-01T10:00:03Z")}, []string{"app.log:3", "app.log:2", "app.log.1:6"}},
		{"json fields", Query{Fields: map[string]string{"user": "bob", "http.status": "504"}}, []string{"app.log:2"}},
		{"stack trace lines keep their entry's time", Query{Pattern: mustCompile(`main\.go`), Since: ts("2026-03-01T09:00:01Z"), Until: ts("2026-03-01T09:00:02Z")}, []string{"app.log.1:5"}},
		{"a match may not cross lines", Query{Pattern: mustCompile(`map\sgoroutine`)}, nil},
		{"anchors work per line", Query{Pattern: mustCompile(`^goroutine`)}, []string{"app.log.1:3"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.q.Limit = 20
			ms, _ := search(t, roots, c.q, nil)
			var got []string
			for _, s := range texts(ms) {
				got = append(got, strings.Fields(s)[0])
			}
			assert.Equal(t, c.want, got)
		})
	}
}

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func mustCompile(p string) *Pattern {
	re, err := Compile(p)
	if err != nil {
		panic(err)
	}
	return re
}

// TestPagingHasNoGapsOrRepeats walks all lines two at a time in both
// orders and checks the pages join up to the whole.
func TestPagingHasNoGapsOrRepeats(t *testing.T) {
	roots, _ := fixture(t)
	for _, oldest := range []bool{false, true} {
		all, _ := search(t, roots, Query{Limit: 100, Oldest: oldest}, nil)
		require.Len(t, all, 13)
		var walked []Match
		var from *Pos
		for i := 0; ; i++ {
			require.Less(t, i, 20)
			ms, more := search(t, roots, Query{Limit: 2, Oldest: oldest}, from)
			walked = append(walked, ms...)
			if !more {
				break
			}
			last := ms[len(ms)-1]
			p := last.Before()
			if oldest {
				p = last.After()
			}
			from = &p
		}
		assert.Equal(t, texts(all), texts(walked), "oldest=%v", oldest)
	}
}

func TestRoots(t *testing.T) {
	roots, dir := fixture(t)
	outside := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(outside, "secret.log"), []byte("x\n"), 0o644))
	require.NoError(t, os.Symlink(filepath.Join(outside, "secret.log"), filepath.Join(dir, "escape.log")))
	require.NoError(t, os.Symlink(filepath.Join(dir, "app.log"), filepath.Join(dir, "current.log")))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "core.bin"), []byte{0x7f, 'E', 'L', 'F', 0, 0, 1}, 0o644))

	got, err := roots.Resolve("current.log")
	require.NoError(t, err, "a symlink inside the roots is fine")
	assert.Equal(t, filepath.Join(dir, "app.log"), got)
	for _, p := range []string{"escape.log", "../" + filepath.Base(outside) + "/secret.log", filepath.Join(outside, "secret.log"), "/etc/passwd"} {
		_, err := roots.Resolve(p)
		assert.ErrorIs(t, err, ErrOutside, p)
	}
	_, err = roots.Resolve("nope.log")
	assert.ErrorContains(t, err, "no such file")

	files, _, err := roots.List("", 100)
	require.NoError(t, err)
	var names []string
	for _, f := range files {
		names = append(names, filepath.Base(f.Path))
	}
	assert.Equal(t, []string{"app.log", "app.log.1", "app.log.2.gz"}, names, "no escape, no binary, no duplicate via symlink; newest first")

	none, _ := NewRoots(nil)
	_, err = none.Resolve("app.log")
	assert.ErrorIs(t, err, ErrNoRoots)
}

func TestTail(t *testing.T) {
	roots, _ := fixture(t)
	for _, name := range []string{"app.log.1", "app.log.2.gz"} {
		p, err := roots.Resolve(name)
		require.NoError(t, err)
		f, err := Stat(p)
		require.NoError(t, err)
		ms, more, err := Tail(context.Background(), f, 2, 0, nil, nil)
		require.NoError(t, err)
		assert.True(t, more)
		require.Len(t, ms, 2)
		pos := ms[1].Before()
		rest, more, err := Tail(context.Background(), f, 100, 0, nil, &pos)
		require.NoError(t, err)
		assert.False(t, more)
		all := append(ms, rest...)
		for i, m := range all {
			assert.EqualValues(t, len(all)-i, m.Line, "%s line numbers count down to 1", name)
		}
	}
}

// TestBlocksAgainstNaive compares the block search with a line-by-line
// reference on a generated file several blocks long, so matches and line
// numbers across block boundaries are checked.
func TestBlocksAgainstNaive(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "big.log")
	var buf bytes.Buffer
	rng := rand.New(rand.NewPCG(1, 2))
	start := ts("2026-03-01T00:00:00Z")
	var lines []string
	for i := 0; buf.Len() < 3*blockSize+12345; i++ {
		lvl := []string{"INFO", "DEBUG", "WARN", "ERROR"}[rng.IntN(4)]
		l := fmt.Sprintf("%s %s req=%d took=%dms %s", start.Add(time.Duration(i)*time.Second).Format(time.RFC3339), lvl, i, rng.IntN(900), strings.Repeat("x", rng.IntN(120)))
		if rng.IntN(50) == 0 {
			l = "    at frame " + fmt.Sprint(i) // continuation line
		}
		lines = append(lines, l)
		buf.WriteString(l + "\n")
	}
	require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o644))
	f, err := Stat(path)
	require.NoError(t, err)
	for _, pat := range []string{
		`took=(1\d|9)\dms|frame \d*7$`, // literals from both branches
		`(?i)WARN req=\d*3 `,           // case-insensitive literal
		`(?i)error|x{100}`,             // folded and plain literals mixed
		`req=\d{2}5\b`,                 // literal then classes
		`^\s+at`,                       // anchored, literal after a class
		`\d{3}ms x`,                    // literal at the end only
		`\d{3}[mn][rs]`,                // no literal: the regexp scans blocks
		`took=\d+ms\s+xxxxxxxxxx\s*$`,  // $ at line ends
	} {
		re := regexp.MustCompile(pat)
		var want []string
		for i := len(lines) - 1; i >= 0; i-- {
			if re.MatchString(lines[i]) {
				want = append(want, fmt.Sprintf("big.log:%d %s", i+1, lines[i]))
			}
		}
		require.NotEmpty(t, want, pat)
		ms, more, _, err := Search(context.Background(), []File{f}, Query{Pattern: mustCompile(pat), Limit: len(want) + 1}, nil)
		require.NoError(t, err)
		assert.False(t, more)
		assert.Equal(t, want, texts(ms), pat)
	}

	tail, _, err := Tail(context.Background(), f, 5, 0, nil, nil)
	require.NoError(t, err)
	require.Len(t, tail, 5)
	assert.EqualValues(t, len(lines), tail[0].Line)
	assert.Equal(t, lines[len(lines)-1], tail[0].Text)
}

func TestLongLinesAreCut(t *testing.T) {
	dir := t.TempDir()
	long := "2026-03-01T00:00:00Z ERROR " + strings.Repeat("word ", 2000)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.log"), []byte(long+"\nshort\n"), 0o644))
	f, err := Stat(filepath.Join(dir, "a.log"))
	require.NoError(t, err)
	ms, _, _, err := Search(context.Background(), []File{f}, Query{Pattern: mustCompile("ERROR"), Limit: 5, MaxLine: 1000}, nil)
	require.NoError(t, err)
	require.Len(t, ms, 1)
	assert.LessOrEqual(t, len(ms[0].Text), 1000)
	assert.Equal(t, len(long), ms[0].Len)
	assert.True(t, strings.HasSuffix(ms[0].Text, "word"), "cut at a word boundary")
}

func TestRequiredLiterals(t *testing.T) {
	cases := []struct {
		pattern string
		lits    []string
		fold    bool
	}{
		{`deadline exceeded`, []string{"deadline exceeded"}, false},
		{`status=5\d\d|deadline (exceeded|missed)`, []string{"status=5", "deadline "}, false},
		{`(?i)Deadline`, []string{"deadline"}, true},
		{`a?bcd`, []string{"bcd"}, false},
		{`x*`, nil, false},
		{`\d+ms`, []string{"ms"}, false},
		{`(?i)é`, nil, false},
	}
	for _, c := range cases {
		p, err := Compile(c.pattern)
		require.NoError(t, err)
		var got []string
		for _, l := range p.lits {
			got = append(got, string(l))
		}
		assert.Equal(t, c.lits, got, c.pattern)
		assert.Equal(t, c.fold, p.fold, c.pattern)
	}
}
