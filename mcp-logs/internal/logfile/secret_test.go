package logfile

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsmcp/opsmcp/shared/mask"
)

// Planted secrets of issue 13's attacks on the file tools.
const (
	awsSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYPlantedKEY"
	jsonPass  = "Hunter2-Planted-JSON-pw"
	pemBody1  = "MIIEowIBAAKCAQEAplantedPEMline1xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	pemBody2  = "plantedPEMline2yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy"
)

var secrets = []string{awsSecret, jsonPass, pemBody1, pemBody2, "plantedPEM", "Hunter2-Planted", "PlantedKEY"}

func masker() func(string) string {
	m := mask.New([]byte("test-key"))
	return func(s string) string { out, _ := m.Text(s); return out }
}

// secretFile writes a log with an AWS secret assignment, a JSON password
// and a PEM key spread over continuation lines, as plain and gzip files.
func secretFile(t testing.TB) (plain, gz File, body string) {
	t.Helper()
	dir := t.TempDir()
	var b strings.Builder
	for i := 0; i < 40; i++ {
		fmt.Fprintf(&b, "2026-03-01T10:00:%02dZ INFO request id=%d ok\n", i, i)
		switch i {
		case 10:
			fmt.Fprintf(&b, "2026-03-01T10:00:%02dZ WARN env dump AWS_SECRET_ACCESS_KEY=%s region=eu\n", i, awsSecret)
		case 20:
			fmt.Fprintf(&b, `{"time":"2026-03-01T10:00:%02dZ","level":"error","msg":"login","user":"bob","password":"%s"}`+"\n", i, jsonPass)
		case 30:
			fmt.Fprintf(&b, "2026-03-01T10:00:%02dZ ERROR loaded key:\n-----BEGIN RSA PRIVATE KEY-----\n%s\n%s\n-----END RSA PRIVATE KEY-----\n", i, pemBody1, pemBody2)
		}
	}
	body = b.String()
	p := filepath.Join(dir, "app.log")
	require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
	var z bytes.Buffer
	w := gzip.NewWriter(&z)
	w.Write([]byte(body))
	w.Close()
	require.NoError(t, os.WriteFile(p+".1.gz", z.Bytes(), 0o644))
	plain, err := Stat(p)
	require.NoError(t, err)
	gz, err = Stat(p + ".1.gz")
	require.NoError(t, err)
	require.True(t, gz.Gzip)
	return plain, gz, body
}

func assertNoSecret(t testing.TB, ms []Match, what string) {
	t.Helper()
	for _, m := range ms {
		for _, s := range secrets {
			require.NotContains(t, m.Text, s, "%s: line %d", what, m.Line)
		}
	}
}

// TestForgedPositionsNeverShowASecret: issue 13 placed a cursor just after
// AWS_SECRET_ACCESS_KEY=, before a JSON password's closing quote, and
// inside a PEM block. Every byte offset of the file, as a forged position,
// in every walk (oldest, newest, tail; plain and gzip), is either refused
// as not a record boundary or shows only masked text.
func TestForgedPositionsNeverShowASecret(t *testing.T) {
	plain, gz, body := secretFile(t)
	q := Query{Limit: 1000, Mask: masker()}
	refused, read := 0, 0
	// Every offset near a secret or a marker, and every 23rd elsewhere.
	near := map[int64]bool{}
	for _, needle := range []string{"AWS_SECRET", jsonPass, "-----BEGIN", pemBody1, pemBody2, "-----END"} {
		i := strings.Index(body, needle)
		for d := -40; d < len(needle)+40; d++ {
			near[int64(i+d)] = true
		}
	}
	for _, f := range []File{plain, gz} {
		for off := int64(0); off <= int64(len(body)); off++ {
			if !near[off] && off%23 != 0 {
				continue
			}
			for _, sub := range []int{0, 2} {
				pos := &Pos{File: f.Path, Offset: off, Line: 7, Sub: sub}
				for _, oldest := range []bool{true, false} {
					q.Oldest = oldest
					ms, _, _, err := Search(context.Background(), []File{f}, q, pos)
					if err != nil {
						require.ErrorIs(t, err, ErrBadPos)
						refused++
						continue
					}
					read++
					assertNoSecret(t, ms, fmt.Sprintf("%s offset %d sub %d oldest %v", filepath.Base(f.Path), off, sub, oldest))
				}
				ms, _, err := Tail(context.Background(), f, 1000, 0, q.Mask, pos)
				if err == nil {
					assertNoSecret(t, ms, fmt.Sprintf("tail %s offset %d", filepath.Base(f.Path), off))
				}
			}
		}
	}
	assert.Positive(t, refused, "offsets inside entries are refused")
	assert.Positive(t, read, "entry boundaries are read")
	for _, needle := range []string{"AWS_SECRET_ACCESS_KEY=", `"password":"`, "-----BEGIN", pemBody1[:20]} {
		i := strings.Index(body, needle) + len(needle)
		_, _, _, err := Search(context.Background(), []File{plain}, Query{Limit: 10, Oldest: true, Mask: masker()}, &Pos{File: plain.Path, Offset: int64(i), Line: 1})
		assert.ErrorIs(t, err, ErrBadPos, "a position right after %q", needle)
	}
}

// TestPagesNeverSplitAMaskedValue walks every line one at a time (each
// page boundary falls between two lines, including inside the PEM entry):
// the pages join up to the whole masked file, and no page shows a secret.
func TestPagesNeverSplitAMaskedValue(t *testing.T) {
	plain, gz, _ := secretFile(t)
	for _, f := range []File{plain, gz} {
		for _, oldest := range []bool{false, true} {
			q := Query{Limit: 1000, Oldest: oldest, Mask: masker()}
			all, _, _, err := Search(context.Background(), []File{f}, q, nil)
			require.NoError(t, err)
			assertNoSecret(t, all, "whole")
			var joined strings.Builder
			for _, m := range all {
				joined.WriteString(m.Text + "\n")
			}
			assert.Contains(t, joined.String(), "AWS_SECRET_ACCESS_KEY=[MASKED:")
			assert.Contains(t, joined.String(), `"password":"[MASKED:`)
			assert.Contains(t, joined.String(), "[MASKED:private-key:")
			q.Limit = 1
			var walked []Match
			var from *Pos
			for i := 0; i < 500; i++ {
				ms, more, _, err := Search(context.Background(), []File{f}, q, from)
				require.NoError(t, err)
				assertNoSecret(t, ms, "page")
				walked = append(walked, ms...)
				if !more {
					break
				}
				p := ms[len(ms)-1].Before()
				if oldest {
					p = ms[len(ms)-1].After()
				}
				from = &p
			}
			assert.Equal(t, texts(all), texts(walked), "%s oldest=%v", filepath.Base(f.Path), oldest)
		}
		// Tail pages the same way.
		var walked []Match
		var from *Pos
		for i := 0; i < 500; i++ {
			ms, more, err := Tail(context.Background(), f, 1, 0, masker(), from)
			require.NoError(t, err)
			walked = append(walked, ms...)
			if !more {
				break
			}
			p := ms[0].Before()
			from = &p
		}
		assertNoSecret(t, walked, "tail")
		all, _, err := Tail(context.Background(), f, 1000, 0, masker(), nil)
		require.NoError(t, err)
		assert.Equal(t, texts(all), texts(walked))
		assert.EqualValues(t, 1, walked[len(walked)-1].Line)
	}
}

// TestFiltersSeeOnlyMaskedText: issue 13 recovered a masked value one
// character at a time from pattern and fields match counts. Filters now
// run on masked text: a probe of the value matches nothing, whatever it
// guesses, and a match of the placeholder is a match.
func TestFiltersSeeOnlyMaskedText(t *testing.T) {
	plain, gz, _ := secretFile(t)
	count := func(f File, q Query) int {
		q.Limit, q.Mask = 1000, masker()
		ms, _, _, err := Search(context.Background(), []File{f}, q, nil)
		require.NoError(t, err)
		assertNoSecret(t, ms, "filter")
		return len(ms)
	}
	for _, f := range []File{plain, gz} {
		for _, probe := range []string{
			"AWS_SECRET_ACCESS_KEY=w", "AWS_SECRET_ACCESS_KEY=wJal", "ACCESS_KEY=[a-v]", "ACCESS_KEY=[w-z]",
			`"password":"H`, `"password":"Hunter2`, "BEGIN RSA PRIVATE KEY", "MIIEow", "(?i)plantedpem",
		} {
			assert.Zero(t, count(f, Query{Pattern: mustCompile(probe)}), probe)
		}
		// Masked values match nothing, so no match depends on one; a
		// match beside one counts.
		assert.Zero(t, count(f, Query{Pattern: mustCompile(`ACCESS_KEY=\[MASKED`)}))
		assert.Zero(t, count(f, Query{Pattern: mustCompile(`private-key`)}))
		assert.Zero(t, count(f, Query{Pattern: mustCompile(`(?i)masked`)}))
		assert.Equal(t, 1, count(f, Query{Pattern: mustCompile(`AWS_SECRET_ACCESS_KEY=`)}))
		assert.Equal(t, 1, count(f, Query{Pattern: mustCompile(`(?i)aws_secret_access_key=`)}), "case-insensitive, beside the value")
		assert.Zero(t, count(f, Query{Pattern: mustCompile(`(?i)aws_secret_access_key=.`)}), "the . would be a masked byte")
		// A pattern without literals matches the masked text as it is:
		// "." keeps every line, the masked PEM block's too.
		assert.Equal(t, count(f, Query{}), count(f, Query{Pattern: mustCompile(`.`)}))
		assert.Equal(t, 1, count(f, Query{Pattern: mustCompile(`^.[A-Z]+.[a-z-]+.[0-9a-f]+.$`)}), "the masked PEM line")
		assert.Zero(t, count(f, Query{Fields: map[string]string{"password": jsonPass}}))
		assert.Equal(t, 1, count(f, Query{Fields: map[string]string{"user": "bob"}}))
		// Counts of a level filter are those of the masked text too.
		assert.Equal(t, 2, count(f, Query{MinLevel: LevelError, Pattern: mustCompile("login|loaded")}))
	}
}

// TestGzipSkipHonoursContext: a position far into a gzip file is reached
// by decompressing up to it; that loop (and every other read) stops when
// the call's context is done, instead of decompressing on.
func TestGzipSkipHonoursContext(t *testing.T) {
	dir := t.TempDir()
	// Lines of random hex, so decompressing to the position takes real
	// time (a repeated line decompresses at gigabytes a second).
	var z bytes.Buffer
	w, _ := gzip.NewWriterLevel(&z, gzip.BestSpeed)
	rng := rand.New(rand.NewPCG(7, 7))
	bw := bufio.NewWriterSize(w, 1<<20)
	lineLen := 0
	n := 0
	for ; n < 40<<20; n += lineLen {
		k, _ := fmt.Fprintf(bw, "2026-03-01T10:00:00Z INFO %016x %016x %016x\n", rng.Uint64(), rng.Uint64(), rng.Uint64())
		lineLen = k
	}
	bw.Flush()
	w.Close()
	line := make([]byte, lineLen)
	p := filepath.Join(dir, "big.log.gz")
	require.NoError(t, os.WriteFile(p, z.Bytes(), 0o644))
	f, err := Stat(p)
	require.NoError(t, err)
	// A real entry near the end: with a live context the walk gets there.
	at := int64(n - 10*len(line))
	pos := &Pos{File: p, Offset: at, Line: at/int64(len(line)) + 1}
	start := time.Now()
	ms, _, _, err := Search(context.Background(), []File{f}, Query{Limit: 3, Oldest: true}, pos)
	require.NoError(t, err)
	require.Len(t, ms, 3)
	full := time.Since(start)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start = time.Now()
	_, _, _, err = Search(ctx, []File{f}, Query{Limit: 3, Oldest: true}, pos)
	assert.ErrorIs(t, err, context.Canceled)
	stopped := time.Since(start)
	require.Greater(t, full, 30*time.Millisecond, "the skip must take measurable time for this test to tell")
	assert.Less(t, stopped, full/3, "stopped at once (%v), not after decompressing (%v)", stopped, full)
	start = time.Now()
	_, _, err = Tail(ctx, f, 10, 0, nil, nil)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Less(t, time.Since(start), full/3)
	_, _, err = Span(ctx, f, 1<<30)
	assert.ErrorIs(t, err, context.Canceled)
}

// TestPlaceholderAlphabet pins what PlaceholderSpans relies on: the real
// masker's placeholders are "[MASKED:" then lower-case letters, digits,
// '-' and ':', then "]".
func TestPlaceholderAlphabet(t *testing.T) {
	m := masker()
	for _, s := range []string{
		"AWS_SECRET_ACCESS_KEY=" + awsSecret, `"password":"` + jsonPass + `"`, "DB_Password=x9x9x9x9x9",
		"Authorization: Bearer abcdefghijklmnop", "token=ghp_" + strings.Repeat("a1", 20),
		"-----BEGIN PRIVATE KEY-----\n" + pemBody1 + "\n-----END PRIVATE KEY-----", "clientSecretValue=Zz9Zz9Zz9Zz9Zz9Zz9Zz9Zz9Zz9",
	} {
		out := m(s)
		spans := 0
		for off := 0; ; {
			i := strings.Index(out[off:], "[MASKED:")
			if i < 0 {
				break
			}
			j := strings.IndexByte(out[off+i:], ']')
			require.Positive(t, j, out)
			ph := out[off+i+len("[MASKED:") : off+i+j]
			for _, c := range []byte(ph) {
				assert.True(t, c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == ':', "placeholder byte %q in %q", c, ph)
			}
			spans++
			off += i + j + 1
		}
		assert.Positive(t, spans, s)
		assert.Len(t, PlaceholderSpans(out), spans)
	}
}

// TestPrefiltersAreExact: skipping records by their unmasked text (the
// pattern's literals, the level words) changes no result: every search
// gives what masking and matching every record gives, over a file of
// mixed formats with secrets, in both orders, plain and gzip, a page at a
// time.
func TestPrefiltersAreExact(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	forms := []string{
		"2026-03-01T10:00:%02dZ INFO request ok token=" + awsSecret,
		"2026-03-01T10:00:%02dZ ERROR upstream failed password=" + jsonPass,
		`{"time":"2026-03-01T10:00:%02dZ","lvl":"e","msg":"x","secret":"` + jsonPass + `"}`,
		"E0301 10:00:%02d.000000       1 reflector.go:1] watch failed",
		"W0301 10:00:%02d.000000       1 reflector.go:1] slow",
		"2026-03-01T10:00:%02dZ [crit] disk full\n\tat frame one\n\tat frame two",
		"time=2026-03-01T10:00:%02dZ level=f msg=boom",
		"2026-03-01T10:00:%02dZ DEBUG loaded key:\n-----BEGIN RSA PRIVATE KEY-----\n" + pemBody1 + "\n-----END RSA PRIVATE KEY-----",
		"2026-03-01T10:00:%02dZ WARNING Deadline exceeded for user=bob",
	}
	// Long enough for several chunks of a backwards read (the first is
	// 64 KiB), with few matches far from the end.
	for i := 0; i < 3000; i++ {
		if i%300 == 7 {
			fmt.Fprintf(&b, forms[(i/300)%len(forms)]+"\n", i%60)
			continue
		}
		fmt.Fprintf(&b, "2026-03-01T10:00:%02dZ INFO filler %d\n", i%60, i)
	}
	p := filepath.Join(dir, "mixed.log")
	require.NoError(t, os.WriteFile(p, []byte(b.String()), 0o644))
	var z bytes.Buffer
	w := gzip.NewWriter(&z)
	w.Write([]byte(b.String()))
	w.Close()
	require.NoError(t, os.WriteFile(p+".1.gz", z.Bytes(), 0o644))
	plain, err := Stat(p)
	require.NoError(t, err)
	gz, err := Stat(p + ".1.gz")
	require.NoError(t, err)
	queries := []Query{
		{MinLevel: LevelWarn}, {MinLevel: LevelError}, {MinLevel: LevelFatal},
		{Pattern: mustCompile(`(?i)deadline`)}, {Pattern: mustCompile(`failed|frame`)},
		{Pattern: mustCompile(`user=\w+`), MinLevel: LevelWarn}, {Pattern: mustCompile(`password=`)},
		{Pattern: mustCompile(`(?i)KEY`)}, {Pattern: mustCompile(`.`), MinLevel: LevelError},
	}
	for _, f := range []File{plain, gz} {
		for i, q := range queries {
			for _, oldest := range []bool{false, true} {
				q.Oldest, q.Mask, q.Limit = oldest, masker(), 1000
				ref := q
				ref.exhaustive = true
				want, _, _, err := Search(context.Background(), []File{f}, ref, nil)
				require.NoError(t, err)
				got, _, _, err := Search(context.Background(), []File{f}, q, nil)
				require.NoError(t, err)
				assert.Equal(t, texts(want), texts(got), "query %d oldest=%v %s", i, oldest, filepath.Base(f.Path))
				if q.MinLevel != LevelNone || q.Pattern.String() != "." {
					assert.NotEmpty(t, want, "query %d finds something", i)
					assert.Less(t, len(want), 100, "query %d is selective", i)
				}
				assertNoSecret(t, got, "prefiltered")
				// Page by page too.
				q.Limit = 3
				var walked []Match
				var from *Pos
				for k := 0; k < 100; k++ {
					ms, more, _, err := Search(context.Background(), []File{f}, q, from)
					require.NoError(t, err)
					walked = append(walked, ms...)
					if !more {
						break
					}
					p := ms[len(ms)-1].Before()
					if oldest {
						p = ms[len(ms)-1].After()
					}
					from = &p
				}
				assert.Equal(t, texts(want), texts(walked), "query %d paged", i)
			}
		}
	}
}
