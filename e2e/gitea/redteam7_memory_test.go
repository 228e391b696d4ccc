package gitea_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRedteam7MemoryOrdinaryCallsAfterHostileOnes: under the shipped
// 512 MiB, after eight callers at once read a 6 MiB token-dense file
// (each answered whole, or refused as busy: never cut, never the
// upstream's fault), eight ordinary calls of each tool at once on the
// fixtures are all answered, each as one call alone was before: what the
// file reads held was all given back, and ordinary answers are never
// refused at the shipped limit.
func TestRedteam7MemoryOrdinaryCallsAfterHostileOnes(t *testing.T) {
	pushMemRepo(t, 6)
	s, _ := memSession(t)
	ordinary := []struct {
		tool string
		args map[string]any
	}{
		{"gitea_repos", map[string]any{}},
		{"gitea_file", map[string]any{"repo": "ops/infra", "path": "k8s/deployment.yaml"}},
		{"gitea_tree", map[string]any{"repo": "ops/infra", "path": "k8s"}},
		{"gitea_refs", map[string]any{"repo": "ops/infra"}},
		{"gitea_commits", map[string]any{"repo": "ops/infra"}},
		{"gitea_diff", map[string]any{"repo": "ops/infra", "commit": fx.commitB}},
		{"gitea_pulls", map[string]any{"repo": "ops/infra"}},
	}
	// gitea_blame runs one at a time by design: asked once, after.
	blame := map[string]any{"repo": "ops/infra", "path": "k8s/deployment.yaml", "ref": "feature/scale", "start_line": 7, "end_line": 18}
	blameBefore := mustCall(t, s, "gitea_blame", blame).Text
	before := make([]string, len(ordinary))
	for i, o := range ordinary {
		before[i] = mustCall(t, s, o.tool, o.args).Text
	}

	whole := mustCall(t, s, "gitea_file", map[string]any{"repo": "ops/rt6mem", "path": "big.txt"}).Text
	require.Contains(t, whole, "password=[MASKED:password:")
	texts, errs := concurrently(t, s, 8, "gitea_file", map[string]any{"repo": "ops/rt6mem", "path": "big.txt"})
	answered := 0
	for i := range texts {
		if errs[i] {
			assert.Contains(t, texts[i], "retry in a moment", "refused as busy, nothing else")
			assert.NotContains(t, texts[i], "upstream")
			assert.NotContains(t, texts[i], "invalid arguments", "it fits alone: not the caller's to narrow")
			continue
		}
		answered++
		assert.Equal(t, redteam7Cursor.ReplaceAllString(whole, "cursor"), redteam7Cursor.ReplaceAllString(texts[i], "cursor"), "an answered read is whole")
	}
	assert.Positive(t, answered)

	for i, o := range ordinary {
		texts, errs := concurrently(t, s, 8, o.tool, o.args)
		for j := range texts {
			require.False(t, errs[j], "%s: %s", o.tool, texts[j])
			assert.Equal(t, redteam7Cursor.ReplaceAllString(before[i], "cursor"), redteam7Cursor.ReplaceAllString(texts[j], "cursor"), "%s answered whole, as before", o.tool)
		}
	}
	assert.Equal(t, blameBefore, mustCall(t, s, "gitea_blame", blame).Text)
	assert.False(t, strings.Contains(before[0], "[MASKED"), "the repository list holds no secret")
}

// redteam7Cursor is a page's cursor, sealed afresh for each answer.
var redteam7Cursor = regexp.MustCompile(`cursor "[^"]*"`)

// TestRedteam7BlameBusyIsNotTheCallers: eight ordinary blames at once;
// those refused because another blame is running are the server's
// state, "try again", not "invalid arguments" (the caller's to fix).
func TestRedteam7BlameBusyIsNotTheCallers(t *testing.T) {
	s, _ := memSession(t)
	blame := map[string]any{"repo": "ops/infra", "path": "k8s/deployment.yaml", "ref": "feature/scale", "start_line": 7, "end_line": 18}
	texts, errs := concurrently(t, s, 8, "gitea_blame", blame)
	for i := range texts {
		if errs[i] {
			assert.NotContains(t, texts[i], "invalid arguments", "busy is not the caller's fault")
		}
	}
}
