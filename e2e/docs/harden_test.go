package docs_test

// Issue 23 and 13 against the real servers: files that looped the PDF
// reader, a FIFO and a symlink swapped into a folder, a private key in a
// runbook, webhook replays delivered by the real Gitea, and git mirrors
// of re-pointed and look-alike sources.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"code.gitea.io/sdk/gitea"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsmcp/opsmcp/e2e/harness"
)

// pemBlock is a private key of 50 body lines planted in a runbook;
// pemBody its lines, which no byte of any index or answer may hold.
var pemBlock, pemBody = func() (string, []string) {
	raw := make([]byte, 50*48)
	rand.Read(raw)
	block := string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: raw}))
	var body []string
	for _, l := range strings.Split(block, "\n") {
		if l != "" && !strings.HasPrefix(l, "-----") {
			body = append(body, l)
		}
	}
	return block, body
}()

const outsideMarker = "outside-marker-7f3a91c2"

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(filepath.Dir(to), 0o755))
	require.NoError(t, os.WriteFile(to, b, 0o644))
}

// serveDocs starts another mcp-docs serve over cfg, keyword search only.
func serveDocs(t *testing.T, dir, name, cfg string, extra ...string) (*mcp.ClientSession, *harness.Proc) {
	t.Helper()
	port, err := harness.FreePort()
	require.NoError(t, err)
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	args := append([]string{"serve", "--transport", "http", "--listen", fmt.Sprintf("127.0.0.1:%d", port), "--config", cfg,
		"--db", filepath.Join(dir, "docs.db"), "--cache-dir", filepath.Join(dir, "cache"), "--embed-model", "", "--rate-limit", "0"}, extra...)
	p := harness.StartServer(t, &seen, dir, name, url, binary, args...)
	return harness.Connect(t, &mcp.StreamableClientTransport{Endpoint: url + "/mcp"}), p
}

func sourceItem(t *testing.T, s *mcp.ClientSession, name string) map[string]any {
	return sources(t, s)[name]
}

func skippedOf(src map[string]any) string {
	var b strings.Builder
	files, _ := src["skipped_files"].([]any)
	for _, f := range files {
		fmt.Fprintln(&b, f)
	}
	return b.String()
}

// TestHardenedFolder: a folder source with the two PDFs that looped for
// ever, a 50-line private key in a runbook, then a FIFO and a symlink out
// of the folder swapped in while the server re-indexes every 2s. The bad
// PDFs are skipped and reported within the parse deadline and the rest is
// indexed; no line of the key is in any answer or any byte of the index
// file and its WAL; the FIFO and the symlink are not read, are reported,
// and the runs go on.
func TestHardenedFolder(t *testing.T) {
	dir := t.TempDir()
	folder := filepath.Join(dir, "docs")
	corpusDir := filepath.Join(harness.Root(), "mcp-docs", "testdata", "corpus")
	pdfs := filepath.Join(harness.Root(), "mcp-docs", "internal", "parse", "testdata")
	copyFile(t, filepath.Join(corpusDir, "manuals", "gpu-operations.pdf"), filepath.Join(folder, "manuals", "gpu-operations.pdf"))
	copyFile(t, filepath.Join(corpusDir, "runbooks", "postgres-restore.md"), filepath.Join(folder, "runbooks", "postgres-restore.md"))
	copyFile(t, filepath.Join(pdfs, "loop-kids.pdf"), filepath.Join(folder, "manuals", "loop-kids.pdf"))
	copyFile(t, filepath.Join(pdfs, "count-huge.pdf"), filepath.Join(folder, "manuals", "count-huge.pdf"))
	tls := "# TLS certificates\n\n## Renew\n\n" + strings.Repeat("Renew the certificate with certbot before it expires. ", 30) +
		"\n\n## The ingress key\n\nPaste this key into the vault, never into a ticket:\n\n" + pemBlock +
		"\n\n## Reload\n\n" + strings.Repeat("Reload the ingress controller afterwards. ", 30) + "\n"
	require.NoError(t, os.WriteFile(filepath.Join(folder, "runbooks", "tls.md"), []byte(tls), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(folder, "runbooks", "note.md"), []byte("# Note\n\nswap target\n"), 0o644))
	outside := filepath.Join(dir, "outside.md")
	require.NoError(t, os.WriteFile(outside, []byte("# Outside\n\n"+outsideMarker+"\n"), 0o644))
	cfg := filepath.Join(dir, "sources.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte("sources:\n  - name: hard\n    path: "+folder+"\n"), 0o600))

	start := time.Now()
	s, proc := serveDocs(t, dir, "mcp-docs-hard", cfg, "--reindex-every", "2s", "--parse-timeout", "5s",
		"--chunk-max-tokens", "200", "--chunk-min-tokens", "50", "--chunk-overlap-tokens", "20")
	var src map[string]any
	require.Eventually(t, func() bool {
		src = sourceItem(t, s, "hard")
		return src != nil && num(src["chunks"]) > 0
	}, 30*time.Second, 100*time.Millisecond, "indexed: %v", src)
	took := time.Since(start)
	t.Logf("first run with the looping PDFs indexed %v chunks in %s (server start included)", src["chunks"], took.Round(time.Millisecond))
	assert.Less(t, took, 15*time.Second, "well within the 5s parse deadline per file plus start-up")
	sk := skippedOf(src)
	assert.Contains(t, sk, "manuals/loop-kids.pdf: pdf: page tree loops")
	assert.Contains(t, sk, "manuals/count-huge.pdf: pdf: /Count 4000000000000")
	assert.Equal(t, 2.0, src["skipped"])
	assert.Equal(t, 6.0, src["files"], "every file has its record, the skipped ones without chunks")
	r := harness.MustCall(t, &seen, s, "docs_search", map[string]any{"query": "RTX 4090 cards", "kind": "pdf", "mode": "keyword"})
	require.NotEmpty(t, r.Items(), "the good PDF is indexed")
	assert.Equal(t, "manuals/gpu-operations.pdf", r.Items()[0]["path"])
	r = harness.MustCall(t, &seen, s, "docs_sources", nil)
	assert.Contains(t, r.Text, "skipped manuals/loop-kids.pdf")
	// The server parsed in its child `mcp-docs parse-worker`, which holds
	// none of the server's environment.
	worker := childWith(t, proc.Cmd.Process.Pid, "parse-worker")
	require.NotZero(t, worker, "a parse worker runs under the server")
	env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", worker))
	require.NoError(t, err)
	assert.Equal(t, "GOMAXPROCS=1", strings.TrimRight(string(env), "\x00"))

	// The key: in no answer.
	var answers strings.Builder
	r = harness.MustCall(t, &seen, s, "docs_search", map[string]any{"query": "ingress key vault ticket renew reload", "path": "runbooks/tls.md", "mode": "keyword", "k": 50})
	require.Greater(t, len(r.Items()), 2, "the runbook is in several chunks")
	answers.WriteString(r.Text)
	for _, it := range r.Items() {
		for _, args := range []map[string]any{{"id": it["id"], "neighbours": 3}, {"id": it["id"], "section": true}} {
			g := harness.MustCall(t, &seen, s, "docs_get", args)
			answers.WriteString(g.Text)
		}
	}
	assert.Contains(t, answers.String(), "[MASKED:private-key:")
	assert.Contains(t, answers.String(), "Reload the ingress controller")
	for i, l := range pemBody {
		assert.False(t, strings.Contains(answers.String(), l), "answers hold body line %d of the key", i+1)
	}
	// Nor in the index file and its WAL.
	for _, f := range []string{"docs.db", "docs.db-wal"} {
		raw, err := os.ReadFile(filepath.Join(dir, f))
		if os.IsNotExist(err) {
			continue
		}
		require.NoError(t, err)
		for i, l := range pemBody {
			assert.False(t, strings.Contains(string(raw), l), "%s holds body line %d of the key", f, i+1)
		}
	}

	// Swap a FIFO and a symlink out of the folder in.
	require.NoError(t, os.Remove(filepath.Join(folder, "runbooks", "note.md")))
	require.NoError(t, syscall.Mkfifo(filepath.Join(folder, "runbooks", "note.md"), 0o644))
	require.NoError(t, os.Symlink(outside, filepath.Join(folder, "runbooks", "evil.md")))
	var runs []string
	require.Eventually(t, func() bool {
		src = sourceItem(t, s, "hard")
		if len(runs) == 0 || runs[len(runs)-1] != fmt.Sprint(src["indexed"]) {
			runs = append(runs, fmt.Sprint(src["indexed"]))
		}
		sk := skippedOf(src)
		// Two more runs after the swap was seen: none stalled on the FIFO.
		return strings.Contains(sk, "runbooks/note.md: not a regular file") && strings.Contains(sk, "runbooks/evil.md: a symlink") && len(runs) >= 4
	}, 40*time.Second, 200*time.Millisecond, "swaps reported and runs go on: %v", src)
	r = harness.MustCall(t, &seen, s, "docs_search", map[string]any{"query": outsideMarker, "mode": "keyword"})
	assert.Empty(t, r.Items(), "the file behind the symlink is not indexed")
	r = harness.MustCall(t, &seen, s, "docs_search", map[string]any{"query": "swap target", "mode": "keyword", "path": "runbooks/note.md"})
	assert.Empty(t, r.Items(), "the file replaced by a FIFO left the index")
	assert.NotContains(t, proc.Tail(1<<20), "panic")
}

// childWith is the pid of a child of parent whose command line holds
// word, or 0.
func childWith(t *testing.T, parent int, word string) int {
	entries, err := os.ReadDir("/proc")
	require.NoError(t, err)
	for _, e := range entries {
		var pid int
		if _, err := fmt.Sscanf(e.Name(), "%d", &pid); err != nil {
			continue
		}
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		// The fields after the command name (which may hold spaces).
		rest := string(stat[strings.LastIndexByte(string(stat), ')')+2:])
		var state string
		var ppid int
		fmt.Sscanf(rest, "%s %d", &state, &ppid)
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if ppid == parent && strings.Contains(string(cmdline), word) {
			return pid
		}
	}
	return 0
}

// delivery is one request Gitea sent to the recording proxy.
type delivery struct {
	header http.Header
	body   []byte
	status int // what mcp-docs answered
}

// TestWebhookReplayRefused: the real Gitea delivers a push (through a
// proxy that records it) and mcp-docs re-indexes; the recorded delivery
// sent again, as it was or under a new delivery id, is refused and
// re-indexes nothing.
func TestWebhookReplayRefused(t *testing.T) {
	s := session(t)
	ctx := context.Background()
	head, err := harness.Git(ctx, checkout, author, "", "rev-parse", "--short=12", "HEAD")
	require.NoError(t, err)
	waitIndexed(t, s, head)

	var mu sync.Mutex
	var got []delivery
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		req, _ := http.NewRequest(r.Method, docsURL+"/webhook/gitea", strings.NewReader(string(body)))
		req.Header = r.Header.Clone()
		resp, err := http.DefaultClient.Do(req)
		status := http.StatusBadGateway
		if err == nil {
			status = resp.StatusCode
			resp.Body.Close()
		}
		mu.Lock()
		got = append(got, delivery{r.Header.Clone(), body, status})
		mu.Unlock()
		w.WriteHeader(status)
	}))
	defer proxy.Close()
	// Only this hook delivers: the others (TestWebhookReindex's) go.
	hooks, _, err := admin.ListRepoHooks(repoOwner, repoName, gitea.ListHooksOptions{})
	require.NoError(t, err)
	for _, h := range hooks {
		_, err := admin.DeleteRepoHook(repoOwner, repoName, h.ID)
		require.NoError(t, err)
	}
	_, _, err = admin.CreateRepoHook(repoOwner, repoName, gitea.CreateHookOption{Type: gitea.HookTypeGitea, Active: true, Events: []string{"push"},
		Config: map[string]string{"url": proxy.URL, "content_type": "json", "secret": hookSecret}})
	require.NoError(t, err)

	p := filepath.Join(checkout, "runbooks", "replay.md")
	require.NoError(t, os.WriteFile(p, []byte("# Replay\n\nA delivery counts once.\n"), 0o644))
	_, err = harness.Git(ctx, checkout, author, "2026-11-22T09:00:00Z", "add", "runbooks/replay.md")
	require.NoError(t, err)
	_, err = harness.Git(ctx, checkout, author, "2026-11-22T09:00:00Z", "commit", "-q", "-m", "replay runbook")
	require.NoError(t, err)
	commit, err := harness.Git(ctx, checkout, author, "", "rev-parse", "--short=12", "HEAD")
	require.NoError(t, err)
	_, err = harness.Git(ctx, checkout, author, "", "push", "-q", "origin", "main")
	require.NoError(t, err)

	var first delivery
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, d := range got {
			if d.header.Get("X-Gitea-Event") == "push" {
				first = d
				return true
			}
		}
		return false
	}, 30*time.Second, 100*time.Millisecond, "Gitea delivered the push")
	assert.Equal(t, http.StatusAccepted, first.status, "the first delivery re-indexes")
	id := first.header.Get("X-Gitea-Delivery")
	require.NotEmpty(t, id, "Gitea names its deliveries")
	var names []string
	for k := range first.header {
		names = append(names, k)
	}
	t.Logf("Gitea's delivery headers: %s", strings.Join(names, ", "))
	waitIndexed(t, s, commit)
	before := sourceItem(t, s, "handbook")["indexed"]

	replay := func(deliveryID string) (int, string) {
		req, _ := http.NewRequest("POST", docsURL+"/webhook/gitea", strings.NewReader(string(first.body)))
		req.Header = first.header.Clone()
		req.Header.Set("X-Gitea-Delivery", deliveryID)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := replay(id)
	assert.Equal(t, http.StatusConflict, code, body)
	assert.Contains(t, body, "delivery "+id+" was already received")
	fresh := make([]byte, 16)
	rand.Read(fresh)
	code, body = replay(hex.EncodeToString(fresh))
	assert.Equal(t, http.StatusConflict, code, body)
	assert.Contains(t, body, "the same payload was already received")
	assert.Contains(t, docsProc.Tail(1<<20), "webhook refused: replayed delivery")
	time.Sleep(time.Second)
	assert.Equal(t, before, sourceItem(t, s, "handbook")["indexed"], "no run was triggered by the replays")
}

// mirrorRepo makes a private repository owned by devops holding one file
// and a bot that may read it; it returns the bot's token file and the
// commit.
func mirrorRepo(t *testing.T, dir, name, file, body string) (string, string) {
	t.Helper()
	ctx := context.Background()
	_, _, err := admin.CreateOrgRepo(repoOwner, gitea.CreateRepoOption{Name: name, Private: true})
	require.NoError(t, err)
	bot := name + "-bot"
	tok, err := forge.User(ctx, bot, false, "read:repository")
	require.NoError(t, err)
	_, err = admin.AddCollaborator(repoOwner, name, bot, gitea.AddCollaboratorOption{Permission: ptr(gitea.AccessModeRead)})
	require.NoError(t, err)
	tokFile := filepath.Join(dir, bot+".token")
	require.NoError(t, os.WriteFile(tokFile, []byte(tok+"\n"), 0o600))
	co := filepath.Join(dir, name)
	require.NoError(t, os.MkdirAll(co, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(co, file), []byte(body), 0o644))
	for _, step := range [][]string{
		{"init", "-q", "-b", "main"}, {"add", "-A"}, {"commit", "-q", "-m", "docs"},
		{"remote", "add", "origin", strings.Replace(forge.URL, "http://", "http://docs-admin:"+adminTok+"@", 1) + "/" + repoOwner + "/" + name + ".git"},
		{"push", "-q", "origin", "main"},
	} {
		_, err := harness.Git(ctx, co, author, "2026-11-23T09:00:00Z", step...)
		require.NoError(t, err)
	}
	commit, err := harness.Git(ctx, co, author, "", "rev-parse", "--short=12", "HEAD")
	require.NoError(t, err)
	return tokFile, commit
}

func mirrors(t *testing.T, cache string) []string {
	entries, err := os.ReadDir(filepath.Join(cache, "git"))
	require.NoError(t, err)
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// TestMirrorsRepointed: sources named team/private and team_private get
// a mirror each and serve their own repository; team/private re-pointed
// at the other repository (with that repository's token) serves it, its
// old mirror is evicted past the budget, and Gitea's access log shows the
// new token never went to the old repository.
func TestMirrorsRepointed(t *testing.T) {
	dir := t.TempDir()
	tokA, _ := mirrorRepo(t, dir, "mirror-a", "alpha.md", "# Alpha\n\nalphamarker lives in mirror a\n")
	tokB, commitB := mirrorRepo(t, dir, "mirror-b", "bravo.md", "# Bravo\n\nbravomarker lives in mirror b\n")
	repo := func(name string) string { return forge.URL + "/" + repoOwner + "/" + name + ".git" }
	cfg := filepath.Join(dir, "sources.yaml")
	write := func(slashRepo, slashTok string) {
		require.NoError(t, os.WriteFile(cfg, []byte(fmt.Sprintf(
			"sources:\n  - name: team/private\n    git: %s\n    ref: main\n    token_file: %s\n  - name: team_private\n    git: %s\n    ref: main\n    token_file: %s\n",
			repo(slashRepo), slashTok, repo("mirror-b"), tokB)), 0o600))
	}
	hits := func(s *mcp.ClientSession, query, src string) int {
		return len(harness.MustCall(t, &seen, s, "docs_search", map[string]any{"query": query, "source": src, "mode": "keyword"}).Items())
	}
	ready := func(s *mcp.ClientSession) {
		require.Eventually(t, func() bool {
			got := sources(t, s)
			a, b := got["team/private"], got["team_private"]
			return a != nil && b != nil && num(a["chunks"]) > 0 && num(b["chunks"]) > 0
		}, 60*time.Second, 200*time.Millisecond)
	}
	logStart := 0
	if lines, err := forge.AccessLog(); err == nil {
		logStart = len(lines)
	}

	write("mirror-a", tokA)
	s, p := serveDocs(t, dir, "mcp-docs-mirrors-1", cfg, "--reindex-every", "0")
	ready(s)
	assert.Len(t, mirrors(t, filepath.Join(dir, "cache")), 2, "team/private and team_private: two mirrors")
	assert.Equal(t, 1, hits(s, "alphamarker", "team/private"))
	assert.Equal(t, 0, hits(s, "bravomarker", "team/private"))
	assert.Equal(t, 1, hits(s, "bravomarker", "team_private"))
	assert.Equal(t, 0, hits(s, "alphamarker", "team_private"))
	p.Stop()

	write("mirror-b", tokB)
	s, _ = serveDocs(t, dir, "mcp-docs-mirrors-2", cfg, "--reindex-every", "0", "--mirror-budget-bytes", "1")
	require.Eventually(t, func() bool {
		src := sources(t, s)["team/private"]
		return src != nil && src["version"] == commitB
	}, 60*time.Second, 200*time.Millisecond, "the re-pointed source is at the new repository's commit")
	assert.Equal(t, 1, hits(s, "bravomarker", "team/private"), "the re-pointed source serves the new repository")
	assert.Equal(t, 0, hits(s, "alphamarker", "team/private"), "nothing of the old repository is served")
	assert.Len(t, mirrors(t, filepath.Join(dir, "cache")), 2, "the old mirror, unused, is evicted past the budget")

	lines, err := forge.AccessLog()
	require.NoError(t, err)
	var botB []string
	for _, l := range lines[logStart:] {
		m := accessLine.FindStringSubmatch(l)
		if m == nil || m[1] != "mirror-b-bot" {
			continue
		}
		botB = append(botB, m[3])
		assert.NotContains(t, m[3], "/mirror-a", "mirror b's token went to mirror a: %s", l)
	}
	assert.NotEmpty(t, botB, "mirror b's bot fetched")
}
