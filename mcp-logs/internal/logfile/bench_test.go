package logfile

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// benchFile is a generated log of about OPSMCP_BENCH_MB megabytes (default
// 1024): realistic lines (time, level, logger, request fields), one in
// 100000 an ERROR with "deadline exceeded".
var benchFile = sync.OnceValues(func() (string, error) {
	mb := 1024
	if v, err := strconv.Atoi(os.Getenv("OPSMCP_BENCH_MB")); err == nil && v > 0 {
		mb = v
	}
	path := filepath.Join(os.TempDir(), fmt.Sprintf("opsmcp-bench-%dMB.log", mb))
	if st, err := os.Stat(path); err == nil && st.Size() >= int64(mb)<<20 {
		return path, nil
	}
	f, err := os.Create(path + ".tmp")
	if err != nil {
		return "", err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	t := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	levels := []string{"INFO", "INFO", "INFO", "DEBUG", "WARN"}
	var n int64
	for i := 0; n < int64(mb)<<20; i++ {
		lvl, msg := levels[i%len(levels)], "request served"
		if i%100000 == 99999 {
			lvl, msg = "ERROR", "upstream call failed: context deadline exceeded"
		}
		k, _ := fmt.Fprintf(w, "%s %s [http.server] %s method=GET path=/api/v1/orders/%d status=200 bytes=%d duration=%dms user=u%d\n",
			t.Add(time.Duration(i)*time.Millisecond).Format(time.RFC3339Nano), lvl, msg, i%9973, 512+i%4096, i%250, i%977)
		n += int64(k)
	}
	if err := w.Flush(); err != nil {
		return "", err
	}
	f.Close()
	return path, os.Rename(path+".tmp", path)
})

func benchSearch(b *testing.B, pattern string, q Query) {
	path, err := benchFile()
	if err != nil {
		b.Fatal(err)
	}
	f, err := Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	if pattern != "" {
		if q.Pattern, err = Compile(pattern); err != nil {
			b.Fatal(err)
		}
	}
	q.Limit = 100
	b.SetBytes(f.Size)
	b.ResetTimer()
	for b.Loop() {
		ms, _, _, err := Search(context.Background(), []File{f}, q, nil)
		if err != nil || len(ms) == 0 {
			b.Fatalf("search: %v, %d matches", err, len(ms))
		}
	}
}

// The whole file is read in each: newest-first keeps the last matches.
func BenchmarkSearchLiteral(b *testing.B) { benchSearch(b, "deadline exceeded", Query{}) }
func BenchmarkSearchRegexp(b *testing.B) {
	benchSearch(b, `status=5\d\d|deadline (exceeded|missed)`, Query{})
}
func BenchmarkSearchCaseInsensitive(b *testing.B) { benchSearch(b, `(?i)DEADLINE`, Query{}) }
func BenchmarkSearchLevel(b *testing.B) {
	benchSearch(b, "", Query{MinLevel: LevelError})
}

// BenchmarkSearchWindow asks for one hour in the middle of the file: whole
// blocks outside it are skipped by their first and last times.
func BenchmarkSearchWindow(b *testing.B) {
	start := time.Date(2026, 3, 1, 1, 0, 0, 0, time.UTC)
	benchSearch(b, "deadline", Query{Since: start, Until: start.Add(time.Hour)})
}

func BenchmarkTail(b *testing.B) {
	path, err := benchFile()
	if err != nil {
		b.Fatal(err)
	}
	f, _ := Stat(path)
	for b.Loop() {
		if ms, _, err := Tail(context.Background(), f, 100, 0, nil, nil); err != nil || len(ms) != 100 {
			b.Fatal(err)
		}
	}
}

// BenchmarkGrepCount is the floor to compare with: GNU grep -c on the
// same file, same literal, as a separate process.
func BenchmarkGrepCount(b *testing.B) { grepCount(b, "-c", "deadline exceeded") }

// BenchmarkGrepCountRegexp is the same floor for the regexp search.
func BenchmarkGrepCountRegexp(b *testing.B) {
	grepCount(b, "-cE", `status=5[0-9][0-9]|deadline (exceeded|missed)`)
}

func grepCount(b *testing.B, args ...string) {
	path, err := benchFile()
	if err != nil {
		b.Fatal(err)
	}
	st, _ := os.Stat(path)
	b.SetBytes(st.Size())
	for b.Loop() {
		out, err := exec.Command("grep", append(args, path)...).Output()
		if err != nil || strings.TrimSpace(string(out)) == "0" {
			b.Fatalf("grep: %v %s", err, out)
		}
	}
}
