package harness

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// PIDsOf are the processes running the binary bin now.
func PIDsOf(bin string) []string {
	var out []string
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		if exe, err := os.Readlink(filepath.Join("/proc", d.Name(), "exe")); err == nil && exe == bin {
			out = append(out, d.Name())
		}
	}
	return out
}

// PeakRSS is a process's peak resident set (VmHWM) in bytes, 0 when it
// cannot be read (the process has ended).
func PeakRSS(pid string) int64 {
	raw, _ := os.ReadFile(filepath.Join("/proc", pid, "status"))
	for _, l := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// NewProcessOf runs start (which starts the binary bin) and returns the
// process of bin it started.
func NewProcessOf(t testing.TB, bin string, start func()) string {
	t.Helper()
	before := PIDsOf(bin)
	start()
	for _, p := range PIDsOf(bin) {
		if !slices.Contains(before, p) {
			return p
		}
	}
	t.Fatal("the server's process was not found")
	return ""
}

// PeakMiB is a running process's peak resident set, in MiB; it fails the
// test when the process is gone (it died).
func PeakMiB(t testing.TB, pid string) int64 {
	t.Helper()
	p := PeakRSS(pid) >> 20
	require.NotZero(t, p, "the server's peak RSS (has it died?)")
	return p
}

// CallsAtOnce makes n calls of one tool at once on one session (the
// team's concurrency is 8) and returns their texts and whether each was a
// tool error, recording the texts in seen. A call the transport fails
// (the server died) fails the test.
func CallsAtOnce(t testing.TB, seen *Recorder, s *mcp.ClientSession, n int, name string, args map[string]any) ([]string, []bool) {
	t.Helper()
	texts, errs := make([]string, n), make([]bool, n)
	fails := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			res, err := s.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: args})
			if err != nil {
				fails[i] = err
				return
			}
			errs[i] = res.IsError
			for _, c := range res.Content {
				if tc, ok := c.(*mcp.TextContent); ok {
					texts[i] += tc.Text
				}
			}
			seen.Add(texts[i])
		}()
	}
	wg.Wait()
	for i, err := range fails {
		require.NoError(t, err, "call %d of %s", i, name)
	}
	return texts, errs
}

// MemCase is one call a memory test makes once, then eight times at once,
// on a server of its own; Want is in its first answer.
type MemCase struct {
	Tool string
	Args map[string]any
	Want string
}

// RunMemCases runs each case on a server start begins (its session and
// process) and holds the server's peak RSS under bound MiB.
func RunMemCases(t *testing.T, seen *Recorder, bound int64, start func(t *testing.T) (*mcp.ClientSession, string), cases []MemCase) {
	for _, c := range cases {
		t.Run(fmt.Sprint(c.Tool, c.Args), func(t *testing.T) {
			s, pid := start(t)
			r := Call(t, seen, s, c.Tool, c.Args)
			assert.Contains(t, r.Text, c.Want)
			one := PeakMiB(t, pid)
			texts, _ := CallsAtOnce(t, seen, s, 8, c.Tool, c.Args)
			peak := PeakMiB(t, pid)
			t.Logf("peak %d MiB after one call, %d MiB after eight at once (an answer: %.120q)", one, peak, texts[0])
			assert.Less(t, peak, bound, "peak RSS in MiB")
		})
	}
}
