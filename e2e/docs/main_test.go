// Package docs_test drives the built mcp-docs binary as a real MCP client:
// it indexes the fixture corpus from a folder and from a repository on a
// real Gitea, with embeddings from a real Ollama (a tiny generated model:
// its vectors are random, so this proves the protocol, not the ranking;
// ranking is measured in mcp-docs' unit tests), and re-indexes on pushes
// that Gitea itself delivers to the webhook.
package docs_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"code.gitea.io/sdk/gitea"

	"github.com/opsmcp/opsmcp/e2e/harness"
)

const (
	embedModel   = "tiny-embed"
	serverToken  = "docs-tok-41c7e2"
	hookSecret   = "hook-secret-5d0a9f7e31"
	author       = "Ada Docs <ada@e2e.test>"
	repoOwner    = "devops"
	repoName     = "handbook"
	plantedPw    = "Docs-planted-Pw-5521"
	plantedToken = "ghp_PlantedDocsToken0123456789abcdefABCDEF"
)

var (
	workDir  string
	binary   string
	forge    *harness.Gitea
	ollama   *harness.Ollama
	admin    *gitea.Client
	adminTok string
	checkout string // a clone of devops/handbook the tests push from
	corpus   string // the folder source (a copy of the corpus)
	commit1  string
	docsURL  string
	docsProc *harness.Proc
	dbPath   string
	seen     harness.Recorder
	// accessLogStart is Gitea's access log length before mcp-docs ran.
	accessLogStart int
	auditPath      string
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	var err error
	workDir, binary, err = harness.Prepare("mcp-docs", "mcp-docs")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(workDir)
	if ollama, err = harness.StartOllama(ctx, workDir); err != nil {
		fmt.Fprintln(os.Stderr, "start ollama:", err)
		return 1
	}
	defer ollama.Stop()
	// The runner's context must hold a whole chunk (1000 estimated
	// tokens; the tiny vocabulary spends more tokens than a real one).
	if err := ollama.CreateTiny(ctx, embedModel, false, "num_ctx 2048"); err != nil {
		fmt.Fprintln(os.Stderr, "tiny model:", err)
		return 1
	}
	if forge, err = harness.StartGitea(ctx, workDir); err != nil {
		fmt.Fprintln(os.Stderr, "start gitea:", err)
		return 1
	}
	defer forge.Stop()
	if err := seed(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "seed:", err)
		return 1
	}
	lines, _ := forge.AccessLog()
	accessLogStart = len(lines)
	if err := startDocs(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "start mcp-docs:", err)
		return 1
	}
	defer docsProc.Stop()
	return m.Run()
}

// startDocs runs `mcp-docs serve` over HTTP with both sources, the real
// Ollama for embeddings, no schedule (only the start and webhooks index)
// and the webhook secret.
func startDocs(ctx context.Context) error {
	port, err := harness.FreePort()
	if err != nil {
		return err
	}
	docsURL = fmt.Sprintf("http://127.0.0.1:%d", port)
	dbPath = filepath.Join(workDir, "docs.db")
	files := map[string]string{
		"tokens": serverToken + ",dana,sre\n",
		"hook":   hookSecret + "\n",
		"sources.yaml": fmt.Sprintf("sources:\n  - name: local\n    path: %s\n  - name: handbook\n    git: %s/%s/%s.git\n    ref: main\n    token_file: %s\n",
			corpus, forge.URL, repoOwner, repoName, filepath.Join(workDir, "bot.token")),
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(workDir, name), []byte(body), 0o600); err != nil {
			return err
		}
	}
	auditPath = filepath.Join(workDir, "audit.log")
	docsProc, err = harness.Start(workDir, "mcp-docs", binary, "serve", "--transport", "http", "--listen", fmt.Sprintf("127.0.0.1:%d", port),
		"--auth-tokens", filepath.Join(workDir, "tokens"), "--config", filepath.Join(workDir, "sources.yaml"), "--db", dbPath,
		"--cache-dir", filepath.Join(workDir, "cache"), "--embed-model", embedModel, "--ollama-url", ollama.URL,
		"--reindex-every", "0", "--webhook-secret-file", filepath.Join(workDir, "hook"), "--audit-log", auditPath,
		// The tests poll docs_sources while indexing runs.
		"--rate-limit", "0")
	if err != nil {
		return err
	}
	return harness.WaitHTTP(ctx, docsProc, docsURL+"/healthz", "", http.DefaultClient, 60*time.Second)
}

// seed pushes the corpus to devops/handbook (private; a read-only bot is
// its collaborator) and copies it into the folder source.
func seed(ctx context.Context) error {
	var err error
	if adminTok, err = forge.User(ctx, "docs-admin", true, "all"); err != nil {
		return err
	}
	if admin, err = gitea.NewClient(forge.URL, gitea.SetToken(adminTok)); err != nil {
		return err
	}
	if _, _, err := admin.CreateOrg(gitea.CreateOrgOption{Name: repoOwner}); err != nil {
		return fmt.Errorf("org: %w", err)
	}
	if _, _, err := admin.CreateOrgRepo(repoOwner, gitea.CreateRepoOption{Name: repoName, Private: true}); err != nil {
		return fmt.Errorf("repo: %w", err)
	}
	botTok, err := forge.User(ctx, "docs-bot", false, "read:repository")
	if err != nil {
		return err
	}
	if _, err := admin.AddCollaborator(repoOwner, repoName, "docs-bot", gitea.AddCollaboratorOption{Permission: ptr(gitea.AccessModeRead)}); err != nil {
		return fmt.Errorf("collaborator: %w", err)
	}
	if err := os.WriteFile(filepath.Join(workDir, "bot.token"), []byte(botTok+"\n"), 0o600); err != nil {
		return err
	}
	src := filepath.Join(harness.Root(), "mcp-docs", "testdata", "corpus")
	corpus = filepath.Join(workDir, "corpus")
	checkout = filepath.Join(workDir, "checkout")
	for _, dst := range []string{corpus, checkout} {
		if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
			return err
		}
	}
	steps := [][]string{
		{"init", "-q", "-b", "main"},
		{"add", "-A"},
		{"commit", "-q", "-m", "handbook: runbooks, ADRs, manifests, chart, infra, pipeline"},
		{"remote", "add", "origin", strings.Replace(forge.URL, "http://", "http://docs-admin:"+adminTok+"@", 1) + "/" + repoOwner + "/" + repoName + ".git"},
		{"push", "-q", "origin", "main"},
	}
	for _, s := range steps {
		if _, err := harness.Git(ctx, checkout, author, "2026-11-20T09:00:00Z", s...); err != nil {
			return err
		}
	}
	commit1, err = harness.Git(ctx, checkout, author, "", "rev-parse", "--short=12", "HEAD")
	return err
}

func ptr[T any](v T) *T { return &v }
