package ops_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsmcp/opsmcp/e2e/harness"
)

const docsTok = "ops-docs-4f1a77"

// restoreQueries are searches whose answers must survive a restore: both
// search modes, and a filter.
var restoreQueries = []map[string]any{
	{"query": "how do we fail over Ollama to the secondary host"},
	{"query": "rollback a deployment", "mode": "keyword"},
	{"query": "database password rotation", "k": 20},
	{"query": "terraform state", "kind": "terraform"},
}

// TestDocsRestoreGivesSameResults: mcp-docs indexes the fixture corpus
// with embeddings from the real Ollama and serves it; `mcp-docs backup`
// copies the index while it serves; machine A (its index and the
// corpus) is then deleted. `mcp-docs restore` puts the backup at a new
// machine's path, and mcp-docs serving it there, whose configured source
// folder does not exist on this machine (so nothing can be re-indexed),
// answers every search exactly as machine A did.
func TestDocsRestoreGivesSameResults(t *testing.T) {
	o := ollama(t)
	bin := binary(t, "mcp-docs", "mcp-docs")
	root := t.TempDir()
	machineA := filepath.Join(root, "machine-a")
	corpus := filepath.Join(machineA, "srv", "handbook")
	require.NoError(t, os.CopyFS(corpus, os.DirFS(filepath.Join(harness.Root(), "mcp-docs", "testdata", "corpus"))))
	sources := fmt.Sprintf("sources:\n  - name: handbook\n    path: %s\n", corpus)

	a := startDocsAt(t, bin, o, machineA, filepath.Join(machineA, "var", "lib", "opsmcp-docs", "docs.db"), sources,
		func(src map[string]any) bool { return num(src["chunks"]) > 0 && num(src["embedded"]) > 0 })
	before := searchAll(t, a.session)
	backup := filepath.Join(root, "backups", "docs-"+time.Now().UTC().Format("20060102T150405Z")+".db")
	require.NoError(t, os.MkdirAll(filepath.Dir(backup), 0o700))
	out, err := exec.Command(bin, "backup", "--db", a.db, "--to", backup).CombinedOutput()
	require.NoError(t, err, string(out))
	a.stop()
	require.NoError(t, os.RemoveAll(machineA), "machine A is gone")

	machineB := filepath.Join(root, "machine-b")
	dbB := filepath.Join(machineB, "var", "lib", "opsmcp-docs", "docs.db")
	out, err = exec.Command(bin, "restore", "--from", backup, "--db", dbB).CombinedOutput()
	require.NoError(t, err, string(out))
	assert.Regexp(t, `restored .*docs\.db: 1 sources, \d+ files, \d+ chunks`, string(out))
	// A second restore onto the same path is refused: it never overwrites.
	out, err = exec.Command(bin, "restore", "--from", backup, "--db", dbB).CombinedOutput()
	require.Error(t, err)
	assert.Contains(t, string(out), "already exists")

	b := startDocsAt(t, bin, o, machineB, dbB, sources, func(src map[string]any) bool { return fmt.Sprint(src["error"]) != "" && src["error"] != nil })
	after := searchAll(t, b.session)
	require.Equal(t, len(before), len(after))
	for i := range before {
		assert.Equal(t, before[i], after[i], "search %v after the restore", restoreQueries[i])
	}
	// What B serves came from the backup: its source folder is missing,
	// and docs_sources says so while the chunks stay searchable.
	src := harness.MustCall(t, &seen, b.session, "docs_sources", map[string]any{})
	assert.Contains(t, src.Text, "handbook")
	assert.Contains(t, strings.ToLower(src.Text), "no such file", "B could not re-index: the answers are the restored index's")
}

type docsServer struct {
	session *mcp.ClientSession
	db      string
	proc    *harness.Proc
}

func (d *docsServer) stop() { d.session.Close(); d.proc.Stop() }

// startDocsAt serves db on "machine" (a directory standing for one) and
// waits until docs_sources shows the handbook source as done says (its
// first indexing run is over).
func startDocsAt(t *testing.T, bin string, o *harness.Ollama, machine, db, sources string, done func(map[string]any) bool) *docsServer {
	t.Helper()
	etc := filepath.Join(machine, "etc")
	require.NoError(t, os.MkdirAll(etc, 0o700))
	require.NoError(t, os.MkdirAll(filepath.Dir(db), 0o700))
	cfg := filepath.Join(etc, "sources.yaml")
	tokens := filepath.Join(etc, "tokens")
	require.NoError(t, os.WriteFile(cfg, []byte(sources), 0o600))
	require.NoError(t, os.WriteFile(tokens, []byte(docsTok+",dana,sre\n"), 0o600))
	port, err := harness.FreePort()
	require.NoError(t, err)
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	p := harness.StartServer(t, &seen, machine, "mcp-docs", url, bin, "serve", "--transport", "http", "--listen", fmt.Sprintf("127.0.0.1:%d", port),
		"--auth-tokens", tokens, "--config", cfg, "--db", db, "--cache-dir", filepath.Join(machine, "cache"),
		"--embed-model", embedModel, "--ollama-url", o.URL, "--reindex-every", "0", "--rate-limit", "0",
		"--audit-log", filepath.Join(machine, "audit.log"))
	s := harness.Connect(t, &mcp.StreamableClientTransport{Endpoint: url + "/mcp", HTTPClient: harness.HTTPClient(docsTok)})
	require.Eventually(t, func() bool {
		r := harness.Call(t, &seen, s, "docs_sources", map[string]any{})
		for _, it := range r.Items() {
			if it["name"] == "handbook" && done(it) {
				return true
			}
		}
		return false
	}, 3*time.Minute, 500*time.Millisecond, "the first indexing run did not end")
	return &docsServer{session: s, db: db, proc: p}
}

// searchAll runs restoreQueries and returns their structured answers.
func searchAll(t *testing.T, s *mcp.ClientSession) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, q := range restoreQueries {
		r := harness.MustCall(t, &seen, s, "docs_search", q)
		require.NotEmpty(t, r.Items(), "search %v found nothing: the comparison would prove nothing", q)
		out = append(out, r.Data)
	}
	return out
}

func num(v any) float64 {
	f, _ := v.(float64)
	return f
}
