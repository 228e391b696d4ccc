package tools

import (
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// redteamToken is a GitHub token: the masker knows it whole, not its
// first 35 characters.
const redteamToken = "ghp_Xq7Rk2LmN9pQwE4tYz8uVb3sCd6fGh1jKa5o"

// TestLogsByteLimitNeverEndsInsideAToken: a byte limit the caller picks
// (k8s_logs limit_bytes, kubectl logs --limit-bytes) cuts the last line
// anywhere, and a token cut short is no token to the masker: with the
// limit just before a token's last characters, its first 35 came back in
// clear, one call per offset. A line the limit cut is left out.
func TestLogsByteLimitNeverEndsInsideAToken(t *testing.T) {
	api := newFakeAPI(t)
	s := api.server(t)
	head := "2026-01-01T00:00:00Z INFO ok\n2026-01-01T00:00:01Z INFO cloning with "
	api.logs = head + redteamToken + " done\n"
	for _, cut := range []int{4, 12, 20, 31, 35, 39} {
		limit := int64(len(head) + cut)
		res, err := s.logs(t.Context(), callAs(t, "", "k8s_logs"), LogsInput{Pod: "p", Container: "app", LimitBytes: limit})
		require.NoError(t, err)
		all := strings.Join(res.Data.(LogsOutput).Items, "\n")
		assert.NotContains(t, all, redteamToken[:4+min(cut, 4)], "k8s_logs limit_bytes cut %d", cut)
		assert.Contains(t, all, "INFO ok", "the whole lines before it stay")

		res2, err := s.kubectl(t.Context(), callAs(t, "", "k8s_kubectl"), KubectlInput{Command: "logs p -n web --limit-bytes=" + strconv.FormatInt(limit, 10)})
		require.NoError(t, err)
		assert.NotContains(t, res2.Text, redteamToken[:4+min(cut, 4)], "kubectl logs --limit-bytes cut %d", cut)
		assert.Contains(t, res2.Text, "INFO ok")
	}
}
