package logs_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestIssue13UnicodeLineKeepsServing: one log line with characters whose
// lower case has another byte length (U+0130 İ, the Kelvin sign U+212A,
// U+023A Ⱥ) killed mcp-logs on the first logs_search: the masker sliced
// a lowered copy with the original's offsets. The real binary now
// answers, masks what follows those characters, and keeps serving; the
// same characters in an argument are a clean answer too.
func TestIssue13UnicodeLineKeepsServing(t *testing.T) {
	dir := t.TempDir()
	const secret = "Zx9Qw3Er5Ty7Ui9Op1As3Df5Gh7Jk9L"
	text := rfc(base) + " INFO User-Agent: İstanbul token abc\n" +
		rfc(base.Add(time.Second)) + " WARN \u212a\u212a\u212aȺȺȺ İİİİ token: " + secret + "\n" +
		rfc(base.Add(2*time.Second)) + " INFO \xff\xfe invalid bytes password=" + secret + "\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "unicode.log"), []byte(text), 0o644))
	s := bareSession(t, "--files-root", dir, "--audit-log", filepath.Join(t.TempDir(), "audit.log"), "--rate-limit", "0")

	for _, args := range []map[string]any{
		{"pattern": "token"},
		{"pattern": "İstanbul"},
		{"pattern": "(?i)kelvin|\u212a"},
		{"pattern": "."},
		{"pattern": "token", "path": "İ*"},
	} {
		r := call(t, s, "logs_search", args)
		raw, _ := json.Marshal(r.Data)
		assert.NotContains(t, r.Text+string(raw), secret, "%v", args)
	}
	r := mustCall(t, s, "logs_search", map[string]any{"pattern": "İstanbul"})
	require.Len(t, items(r), 1, "the line is found, and the server is alive")
	assert.Contains(t, strings.Join(field(items(r), "text"), "\n"), "İstanbul token abc")
	r = mustCall(t, s, "logs_tail", map[string]any{"path": filepath.Join(dir, "unicode.log"), "lines": 10})
	assert.Len(t, items(r), 3)
	raw, _ := json.Marshal(r.Data)
	assert.NotContains(t, r.Text+string(raw), secret)
	mustCall(t, s, "logs_files", map[string]any{})
}
