package gitea_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"code.gitea.io/sdk/gitea"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/require"

	"github.com/opsmcp/opsmcp/e2e/harness"
)

// The shipped deployments give mcp-gitea 512 MiB; a process past it is
// OOM-killed with every caller's call in it. These tests run the server
// with GOMEMLIMIT at that limit (the Go runtime then behaves as in the
// container; the kernel's limit is what would kill) and measure its peak
// resident set (VmHWM) under hostile repository contents and eight
// concurrent calls.
const memLimitMiB = 512

// memSession starts the server under GOMEMLIMIT=512MiB and returns its
// session and pid.
func memSession(t *testing.T) (*mcp.ClientSession, string) {
	t.Helper()
	t.Setenv("GOMEMLIMIT", fmt.Sprintf("%dMiB", memLimitMiB))
	var s *mcp.ClientSession
	pid := harness.NewProcessOf(t, binary, func() { s, _ = session(t) })
	return s, pid
}

// peakMiB is the server's peak resident set so far, in MiB.
func peakMiB(t *testing.T, pid string) int64 { return harness.PeakMiB(t, pid) }

// concurrently makes n calls of one tool at once on one server and
// returns their texts and whether each was a tool error; a call the
// transport fails (the server died) fails the test.
func concurrently(t *testing.T, s *mcp.ClientSession, n int, name string, args map[string]any) ([]string, []bool) {
	t.Helper()
	return harness.CallsAtOnce(t, &seen, s, n, name, args)
}

// memCase is one call of a memory test (harness.MemCase).
type memCase = harness.MemCase

// memCalls runs the cases, each on a server of its own, and holds its
// peak RSS under bound MiB.
func memCalls(t *testing.T, bound int64, cases []memCase) {
	harness.RunMemCases(t, &seen, bound, memSession, cases)
}

// denseText is n bytes of token-dense lines (every line a password, a
// GitHub token and an AWS key id), each line tagged with tag.
func denseText(n int, tag string) string {
	var b strings.Builder
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "%s %d password=Pw%08d token=ghp_%036d AKIA%016d\n", tag, i, i, i, i)
	}
	return b.String()[:n]
}

// pushMemRepo makes ops/rt6mem: a first commit of big.txt (bigMiB MiB,
// token-dense; gitea_file reads up to 16 MiB) and 32 ConfigMap manifests
// of 500,000 bytes each under k8s/ (gitea_iac reads files up to 512 KiB,
// 16 MiB in all; gitea_search files up to 1 MiB), and a second commit
// rewriting every manifest (gitea_diff reads 1 MiB a side, 16 MiB in all).
// It returns the second commit's hash; the repository is deleted when the
// test ends.
func pushMemRepo(t *testing.T, bigMiB int) string {
	ctx := context.Background()
	admin, err := gitea.NewClient(forge.URL, gitea.SetToken(adminToken))
	require.NoError(t, err)
	_, _, err = admin.CreateOrgRepo("ops", gitea.CreateRepoOption{Name: "rt6mem", DefaultBranch: "main"})
	require.NoError(t, err)
	t.Cleanup(func() { admin.DeleteRepo("ops", "rt6mem") })
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "k8s"), 0o755))
	write := func(version string) {
		for i := range 32 {
			head := fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-%02d\ndata:\n  v: |\n", i)
			body := denseText(500_000-len(head), "    "+version)
			require.NoError(t, os.WriteFile(filepath.Join(dir, "k8s", fmt.Sprintf("cm-%02d.yaml", i)), []byte(head+body), 0o644))
		}
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "big.txt"), []byte(denseText(bigMiB<<20, "big")), 0o644))
	write("v1")
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"add", "-A"}, {"commit", "-q", "-m", "big"}} {
		_, err := git(ctx, dir, alice, "2026-01-01T00:00:00Z", args...)
		require.NoError(t, err)
	}
	write("v2")
	for _, args := range [][]string{{"add", "-A"}, {"commit", "-q", "-m", "rewrite"}, {"push", "-q", remote("rt6mem"), "main"}} {
		_, err := git(ctx, dir, alice, "2026-01-02T00:00:00Z", args...)
		require.NoError(t, err)
	}
	head, err := git(ctx, dir, alice, "2026-01-02T00:00:00Z", "rev-parse", "HEAD")
	require.NoError(t, err)
	require.NoError(t, waitPushed(ctx, admin, "rt6mem", 1))
	return strings.TrimSpace(head)
}

// TestRedteam6MemSearchAndIaC: eight callers at once search and check
// 16 MB of token-dense manifests (32 of 500,000 bytes). Measured:
// gitea_search 42 MiB for one call, 54 MiB for eight; gitea_iac 109 MiB
// for one, 338 MiB for eight.
func TestRedteam6MemSearchAndIaC(t *testing.T) {
	pushMemRepo(t, 1)
	memCalls(t, memLimitMiB*3/4, []memCase{
		{Tool: "gitea_search", Args: map[string]any{"query": "password", "repos": []string{"ops/rt6mem"}, "limit": 1000}, Want: "password=[MASKED:password:"},
		{Tool: "gitea_iac", Args: map[string]any{"repo": "ops/rt6mem"}, Want: "32 files"},
	})
}
