// Package gitea_test drives the built mcp-gitea binary, as a real MCP
// client over stdio and HTTP, against a real Gitea started on loopback
// with SQLite; fixtures are made through its CLI, its API and git push.
package gitea_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"code.gitea.io/sdk/gitea"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/opsmcp/opsmcp/e2e/harness"
)

var (
	forge   *harness.Gitea
	binary  string
	workDir string
	seen    harness.Recorder
	// Tokens: the admin makes fixtures; the server reads with reader's;
	// carol and dave are people with their own tokens.
	adminToken, readerToken, carolToken string
	// accessLogStart is how many access log lines came before any server
	// under test ran.
	accessLogStart int
	fx             fixtures
)

// Planted secrets: none may come back from any tool.
var planted = []string{
	"Gh7-planted-DbPass-77", "tok_planted_5fG8hJ2kL9mN3pQ6", "Chart-planted-Admin-42", "Tf-planted-Passw0rd-99",
	"Compose-planted-Pw-31", "sk_live_PlantedStripeKey51HxYz0123456789", "Issue-planted-Pw-11", "Review-planted-Tok-0x9f3c1b7d5e",
}

// fixtures are what was pushed, for the tests to compare with.
type fixtures struct {
	commitA, commitB, commitC string // initial, image bump on main, scale on feature/scale
	deploymentAtA             []byte
	pull                      int64
	issue                     int64
}

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	var err error
	workDir, binary, err = harness.Prepare("mcp-gitea", "mcp-gitea")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(workDir)
	forge, err = harness.StartGitea(ctx, workDir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "start gitea:", err)
		return 1
	}
	defer forge.Stop()
	if err := seed(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "seed fixtures:", err)
		if forge.Proc != nil {
			fmt.Fprintln(os.Stderr, forge.Proc.Tail(3000))
		}
		return 1
	}
	lines, _ := forge.AccessLog()
	accessLogStart = len(lines)
	return m.Run()
}

func seed(ctx context.Context) error {
	var err error
	if adminToken, err = forge.User(ctx, "root-admin", true, "all"); err != nil {
		return err
	}
	if readerToken, err = forge.User(ctx, "mcp-reader", false, "read:repository,read:issue,read:user,read:organization"); err != nil {
		return err
	}
	if carolToken, err = forge.User(ctx, "carol", false, "read:repository,read:issue,read:user"); err != nil {
		return err
	}
	daveToken, err := forge.User(ctx, "dave", false, "write:repository,write:issue,read:user")
	if err != nil {
		return err
	}
	admin, err := gitea.NewClient(forge.URL, gitea.SetToken(adminToken))
	if err != nil {
		return err
	}
	if _, _, err := admin.CreateOrg(gitea.CreateOrgOption{Name: "ops", Visibility: gitea.VisibleTypePublic}); err != nil {
		return fmt.Errorf("create org: %w", err)
	}
	for _, r := range []gitea.CreateRepoOption{
		{Name: "infra", Description: "Manifests, charts and pipelines", DefaultBranch: "main"},
		{Name: "site", Description: "Public web site", DefaultBranch: "main"},
		{Name: "vault", Description: "Break-glass runbooks", DefaultBranch: "main", Private: true},
	} {
		if _, _, err := admin.CreateOrgRepo("ops", r); err != nil {
			return fmt.Errorf("create repo %s: %w", r.Name, err)
		}
	}
	read, write := gitea.AccessModeRead, gitea.AccessModeWrite
	if _, err := admin.AddCollaborator("ops", "vault", "mcp-reader", gitea.AddCollaboratorOption{Permission: &read}); err != nil {
		return fmt.Errorf("collaborator: %w", err)
	}
	if _, err := admin.AddCollaborator("ops", "infra", "dave", gitea.AddCollaboratorOption{Permission: &write}); err != nil {
		return fmt.Errorf("collaborator: %w", err)
	}
	if err := pushInfra(ctx); err != nil {
		return err
	}
	if err := pushSmall(ctx, "site", map[string]string{"README.md": "# site\n", "deploy.yaml": "image: nginx:latest\nreplicas: 3\n"}); err != nil {
		return err
	}
	if err := pushSmall(ctx, "vault", map[string]string{"README.md": "# vault\nbreak-glass: call the on-call SRE\n"}); err != nil {
		return err
	}
	// Gitea marks a repository non-empty and indexes its branches
	// asynchronously after a push; wait before using them.
	for repo, branches := range map[string]int{"infra": 2, "site": 1, "vault": 1} {
		if err := waitPushed(ctx, admin, repo, branches); err != nil {
			return err
		}
	}
	if _, _, err := admin.CreateRelease("ops", "infra", gitea.CreateReleaseOption{TagName: "v1.0.0", Title: "First release", Note: "initial manifests"}); err != nil {
		return fmt.Errorf("release: %w", err)
	}
	pr, _, err := admin.CreatePullRequest("ops", "infra", gitea.CreatePullRequestOption{Head: "feature/scale", Base: "main", Title: "Scale api to 4 replicas", Body: "Load tests need more replicas; adds an HPA too."})
	if err != nil {
		return fmt.Errorf("pull request: %w", err)
	}
	fx.pull = pr.Index
	dave, err := gitea.NewClient(forge.URL, gitea.SetToken(daveToken))
	if err != nil {
		return err
	}
	review := gitea.CreatePullReviewOptions{
		State: gitea.ReviewStateRequestChanges, Body: "Four replicas will not fit the namespace quota.",
		Comments: []gitea.CreatePullReviewComment{{Path: "k8s/deployment.yaml", Body: "Keep 2 here and let the HPA scale; also do not paste Review-planted-Tok-0x9f3c1b7d5e as token: Review-planted-Tok-0x9f3c1b7d5e", NewLineNum: 8}},
	}
	// Gitea once answered dave's fresh token (made by its CLI, another
	// process) with 401 "token is required" in a full make test, and took
	// it on other runs: seeding retries that answer a few times.
	for try := 0; ; try++ {
		_, _, err := dave.CreatePullReview("ops", "infra", pr.Index, review)
		if err == nil {
			break
		}
		if try == 4 || !strings.Contains(err.Error(), "token is required") {
			return fmt.Errorf("review: %w", err)
		}
		time.Sleep(time.Second)
	}
	if _, _, err := admin.CreateIssueComment("ops", "infra", pr.Index, gitea.CreateIssueCommentOption{Body: "Quota raised to 6 pods."}); err != nil {
		return fmt.Errorf("pr comment: %w", err)
	}
	is, _, err := admin.CreateIssue("ops", "infra", gitea.CreateIssueOption{Title: "Rotate the orders DB password", Body: "The old one leaked in chat: password: Issue-planted-Pw-11\nRotate it and move it to Vault."})
	if err != nil {
		return fmt.Errorf("issue: %w", err)
	}
	fx.issue = is.Index
	if _, _, err := admin.CreateIssueComment("ops", "infra", is.Index, gitea.CreateIssueCommentOption{Body: "Rotated; the new one is in Vault only."}); err != nil {
		return fmt.Errorf("issue comment: %w", err)
	}
	return nil
}

// waitPushed polls until Gitea shows want branches of a pushed repository.
func waitPushed(ctx context.Context, admin *gitea.Client, repo string, want int) error {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		r, _, err := admin.GetRepo("ops", repo)
		if err == nil && !r.Empty {
			bs, _, err := admin.ListRepoBranches("ops", repo, gitea.ListRepoBranchesOptions{})
			if err == nil && len(bs) >= want {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	return fmt.Errorf("ops/%s: Gitea did not show the push within 60s", repo)
}

// git runs git in dir as author at when (harness.Git).
var git = harness.Git

func remote(repo string) string {
	return strings.Replace(forge.URL, "http://", "http://root-admin:"+adminToken+"@", 1) + "/ops/" + repo + ".git"
}

const (
	alice = "Alice Ops <alice@e2e.test>"
	bob   = "Bob Dev <bob@e2e.test>"
	carol = "Carol SRE <carol@e2e.test>"
)

// pushInfra makes ops/infra's history: A (the testdata/infra tree, tagged
// v1.0.0), B on main (image bump), C on feature/scale (replicas, an HPA).
func pushInfra(ctx context.Context) error {
	dir := filepath.Join(workDir, "infra-src")
	src := filepath.Join(harness.Root(), "mcp-gitea", "internal", "iac", "testdata", "infra")
	if err := os.CopyFS(dir, os.DirFS(src)); err != nil {
		return err
	}
	// A small PNG: a binary file gitea_file must describe, not dump.
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")
	if err := os.WriteFile(filepath.Join(dir, "logo.png"), png, 0o644); err != nil {
		return err
	}
	var err error
	fx.deploymentAtA, err = os.ReadFile(filepath.Join(dir, "k8s", "deployment.yaml"))
	if err != nil {
		return err
	}
	steps := [][]string{
		{alice, "2026-01-05T10:00:00Z", "init", "-q", "-b", "main"},
		{alice, "2026-01-05T10:00:00Z", "add", "-A"},
		{alice, "2026-01-05T10:00:00Z", "commit", "-q", "-m", "Initial infrastructure\n\nManifests, chart, Terraform and pipelines."},
		{alice, "2026-01-05T10:00:00Z", "tag", "-a", "v1.0.0", "-m", "v1.0.0"},
	}
	for _, s := range steps {
		if _, err := git(ctx, dir, s[0], s[1], s[2:]...); err != nil {
			return err
		}
	}
	if fx.commitA, err = git(ctx, dir, alice, "2026-01-05T10:00:00Z", "rev-parse", "HEAD"); err != nil {
		return err
	}
	dep := strings.Replace(string(fx.deploymentAtA), "web/api:1.4.2", "web/api:1.5.0", 1)
	if err := os.WriteFile(filepath.Join(dir, "k8s", "deployment.yaml"), []byte(dep), 0o644); err != nil {
		return err
	}
	if _, err := git(ctx, dir, bob, "2026-02-10T09:30:00Z", "commit", "-q", "-am", "Bump api to 1.5.0"); err != nil {
		return err
	}
	if fx.commitB, err = git(ctx, dir, bob, "2026-02-10T09:30:00Z", "rev-parse", "HEAD"); err != nil {
		return err
	}
	if _, err := git(ctx, dir, carol, "2026-02-20T15:00:00Z", "checkout", "-q", "-b", "feature/scale"); err != nil {
		return err
	}
	dep = strings.Replace(dep, "replicas: 2", "replicas: 4", 1)
	os.WriteFile(filepath.Join(dir, "k8s", "deployment.yaml"), []byte(dep), 0o644)
	os.WriteFile(filepath.Join(dir, "k8s", "hpa.yaml"), []byte("apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata:\n  name: api\n  namespace: web\nspec:\n  minReplicas: 2\n  maxReplicas: 6\n"), 0o644)
	if _, err := git(ctx, dir, carol, "2026-02-20T15:00:00Z", "add", "-A"); err != nil {
		return err
	}
	if _, err := git(ctx, dir, carol, "2026-02-20T15:00:00Z", "commit", "-q", "-m", "Scale api to 4 replicas, add HPA"); err != nil {
		return err
	}
	if fx.commitC, err = git(ctx, dir, carol, "2026-02-20T15:00:00Z", "rev-parse", "HEAD"); err != nil {
		return err
	}
	_, err = git(ctx, dir, alice, "2026-02-20T15:00:00Z", "push", "-q", remote("infra"), "main", "feature/scale", "--tags")
	return err
}

func pushSmall(ctx context.Context, repo string, files map[string]string) error {
	dir := filepath.Join(workDir, repo+"-src")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			return err
		}
	}
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"add", "-A"}, {"commit", "-q", "-m", "init"}, {"push", "-q", remote(repo), "main"}} {
		if _, err := git(ctx, dir, alice, "2026-01-01T00:00:00Z", args...); err != nil {
			return err
		}
	}
	return nil
}

type result = harness.Result

func call(t *testing.T, s *mcp.ClientSession, name string, args map[string]any) result {
	t.Helper()
	return harness.Call(t, &seen, s, name, args)
}

func mustCall(t *testing.T, s *mcp.ClientSession, name string, args map[string]any) result {
	t.Helper()
	return harness.MustCall(t, &seen, s, name, args)
}

// session starts the binary over stdio as the read-only identity.
func session(t testing.TB, extra ...string) (*mcp.ClientSession, string) {
	t.Helper()
	dir := t.TempDir()
	audit := filepath.Join(dir, "audit.log")
	tok := filepath.Join(dir, "token")
	os.WriteFile(tok, []byte(readerToken+"\n"), 0o600)
	args := append([]string{"--gitea-url", forge.URL, "--gitea-token-file", tok, "--audit-log", audit, "--rate-limit", "0",
		"--mirror-dir", filepath.Join(dir, "mirrors")}, extra...)
	return harness.StdioSession(t, &seen, binary, args...), audit
}

func items(r result) []map[string]any { return r.Items() }

func field(its []map[string]any, key string) []string { return harness.Field(its, key) }
