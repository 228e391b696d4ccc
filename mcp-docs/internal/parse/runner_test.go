package parse

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The test binary doubles as the parse worker: OPSMCP_PARSE_WORKER=<bytes>
// makes it serve parses under that memory bound, with two stand-in kinds
// a real parser could turn into: "spin" never returns, "grow" allocates
// without end.
func TestMain(m *testing.M) {
	if mem := os.Getenv("OPSMCP_PARSE_WORKER"); mem != "" {
		n, _ := strconv.ParseInt(mem, 10, 64)
		if err := LimitMemory(n); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(3)
		}
		if err := ServeWorker(os.Stdin, os.Stdout, standIn); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

var sink [][]byte

func standIn(kind, name string, data []byte) ([]Section, error) {
	switch kind {
	case "spin":
		for {
		}
	case "grow":
		for {
			sink = append(sink, make([]byte, 1<<20))
			for i := range sink[len(sink)-1] {
				sink[len(sink)-1][i] = byte(i)
			}
		}
	case "many":
		out := make([]Section, 0, 60000)
		for i := 0; i < 60000; i++ {
			out = append(out, Section{Text: "x"})
		}
		return out, nil
	case "panic":
		var m map[string]int
		m["x"]++
	}
	return Parse(kind, name, data)
}

func testWorker(t *testing.T, mem int64, timeout time.Duration) *Worker {
	w := &Worker{Path: os.Args[0], Env: []string{"OPSMCP_PARSE_WORKER=" + strconv.FormatInt(mem, 10), "GOMAXPROCS=1"},
		Limits: Limits{Timeout: timeout, MemoryBytes: mem}}
	t.Cleanup(func() { w.Close() })
	return w
}

// TestWorkerBounds: a parse that never returns is killed at its deadline,
// one that allocates without end dies at its memory bound, one that
// makes too many sections is refused; each is a LimitError for its file,
// and the next file parses in a fresh worker.
func TestWorkerBounds(t *testing.T) {
	w := testWorker(t, 256<<20, 2*time.Second)
	ctx := context.Background()
	md := []byte("# Title\n\nbody text\n")

	s, err := w.Parse(ctx, Markdown, "a.md", md)
	require.NoError(t, err)
	require.Len(t, s, 1)
	assert.Equal(t, []string{"Title"}, s[0].Heading)

	start := time.Now()
	_, err = w.Parse(ctx, "spin", "spin.md", md)
	require.Error(t, err)
	assert.True(t, IsLimit(err), "%v", err)
	assert.Contains(t, err.Error(), "longer than 2s")
	assert.Less(t, time.Since(start), 5*time.Second)

	// A deadline far off: the memory bound ends this one.
	big := testWorker(t, 128<<20, 30*time.Second)
	_, err = big.Parse(ctx, "grow", "grow.md", md)
	require.Error(t, err)
	assert.True(t, IsLimit(err), "%v", err)
	assert.Contains(t, err.Error(), "memory bound of 128 MiB")

	_, err = w.Parse(ctx, "many", "many.md", md)
	require.Error(t, err)
	assert.True(t, IsLimit(err))
	assert.Contains(t, err.Error(), "more than 50000 sections")

	_, err = w.Parse(ctx, "panic", "panic.md", md)
	require.Error(t, err)
	assert.False(t, IsLimit(err), "a panic is the file's error")
	assert.Contains(t, err.Error(), "parser failed on this file")

	for name, data := range loopingPDFs {
		_, err = w.Parse(ctx, PDF, name, data)
		require.Error(t, err, name)
	}
	s, err = w.Parse(ctx, Markdown, "b.md", md)
	require.NoError(t, err, "a new worker after the killed ones")
	assert.Len(t, s, 1)
}

// TestInProcessDeadline: without a worker, a runaway parse is abandoned
// at its deadline and the caller goes on.
func TestInProcessDeadline(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	p := &InProcess{Limits: Limits{Timeout: 200 * time.Millisecond}, Func: func(kind, name string, data []byte) ([]Section, error) {
		if kind == "stuck" {
			<-release
		}
		return Parse(kind, name, data)
	}}
	_, err := p.Parse(context.Background(), "stuck", "x.md", nil)
	require.Error(t, err)
	assert.True(t, IsLimit(err))
	assert.EqualValues(t, 1, p.Abandoned())
	s, err := p.Parse(context.Background(), Markdown, "x.md", []byte(strings.Repeat("word ", 10)))
	require.NoError(t, err)
	assert.Len(t, s, 1)
}
