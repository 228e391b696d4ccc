package tools

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsmcp/opsmcp/shared/tool"
)

// TestDiffOfAHugeRewriteIsBounded: a commit that rewrites every line of a
// large text file (a few hundred bytes once packed) made gitea_diff run a
// line diff whose cost grows with the square of the file's lines, for
// up to go-git's hour, past the call's deadline and holding a core; and
// every blob was read whole, however large. The diff now stops at the
// call's deadline, and a file over the patch size is listed without its
// patch.
func TestDiffOfAHugeRewriteIsBounded(t *testing.T) {
	root := t.TempDir()
	var a, b, huge strings.Builder
	for i := 0; i < 60000; i++ {
		a.WriteString("a\n")
		b.WriteString("b\n")
	}
	for huge.Len() < 3<<20 {
		huge.WriteString("plain line of a generated file\n")
	}
	shas := bareRepo(t, root, "ops/infra", []map[string]string{
		{"README.md": "# infra\n", "gen.txt": a.String(), "big.txt": "small\n"},
		{"README.md": "# infra\nsecond\n", "gen.txt": b.String(), "big.txt": huge.String()},
	})
	g := newFakeGitea(t)
	g.git = gitBackend(t, root)
	s := testServer(t, g)
	var h tool.Handler
	for _, tl := range s.Tools() {
		if tl.Name == "gitea_diff" {
			h = tl.Handler
		}
	}
	require.NotNil(t, h)
	// Warm the mirror so the deadline below is the diff's alone.
	_, err := run(t, s, "gitea_diff", map[string]any{"repo": "ops/infra", "commit": shas[0], "detail": "files"}, nil)
	require.NoError(t, err)

	raw, _ := json.Marshal(map[string]any{"repo": "ops/infra", "commit": shas[1]})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	start := time.Now()
	res, err := h(ctx, &tool.Call{Tool: "gitea_diff", Args: raw})
	took := time.Since(start)
	assert.Less(t, took, 6*time.Second, "gitea_diff ran past its deadline")
	if err != nil {
		return // stopped by the deadline: fine, as long as it stopped
	}
	out := res.Data.(DiffOutput)
	byPath := map[string]DiffFile{}
	for _, f := range out.Items {
		byPath[f.Path] = f
	}
	assert.Contains(t, byPath["README.md"].Patch, "+second", "a small file keeps its patch")
	assert.Empty(t, byPath["big.txt"].Patch, "a file over the patch size has no patch")
	assert.Equal(t, "too large", byPath["big.txt"].Status)
}
