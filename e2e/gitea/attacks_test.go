package gitea_test

// Reproductions of issues 13 and 23 against the real Gitea: each attack
// now fails safe. The fixtures are private repositories of their own user
// (auditor), so the reader's view the other tests check is unchanged.

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"code.gitea.io/sdk/gitea"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsmcp/opsmcp/e2e/harness"
)

// keyBody are the body lines of private keys committed in auditor/keys:
// each alone looks like nothing a masker knows, so only masking the whole
// text hides them. They are planted secrets for TestZZNoSecretLeftAnyServer.
var keyBody = func() []string {
	var out []string
	for i := 0; i < 24; i++ {
		l := fmt.Sprintf("MIIE%02dPlantedKeyBody%02dx", i, i)
		out = append(out, l+strings.Repeat("Qk9Zb3V3", 6)[:64-len(l)])
	}
	return out
}()

// probed is a value behind a secret-looking key: masked, so a search
// must not be able to guess it a character at a time.
const probed = "Probe-planted-Pw-4242"

func init() {
	planted = append(planted, keyBody...)
	planted = append(planted, probed)
}

// lab is auditor's world: a read-only token and private repositories.
var lab struct {
	once    sync.Once
	err     error
	token   string
	admin   *gitea.Client
	c1, c2  string // keys: README only; the keys added
	c3      string // keys: one body line of each key changed
	keyYAML string // deploy/key.yaml at c2
}

const keyYAMLHead = "name: deploy\nkey: |\n"

func keyYAML(body []string) string {
	return keyYAMLHead + "  -----BEGIN RSA PRIVATE KEY-----\n  " + strings.Join(body, "\n  ") + "\n  -----END RSA PRIVATE KEY-----\ndb:\n  password: " + probed + "\nafter: done\n"
}

func longPEM(body []string) string {
	return "-----BEGIN EC PRIVATE KEY-----\n" + strings.Join(body, "\n") + "\n-----END EC PRIVATE KEY-----\n"
}

func setupLab(t *testing.T) {
	t.Helper()
	lab.once.Do(func() { lab.err = makeLab(context.Background()) })
	require.NoError(t, lab.err)
}

func makeLab(ctx context.Context) error {
	var err error
	if lab.token, err = forge.User(ctx, "auditor", false, "read:repository,read:issue,read:user"); err != nil {
		return err
	}
	if lab.admin, err = gitea.NewClient(forge.URL, gitea.SetToken(adminToken)); err != nil {
		return err
	}
	dir := filepath.Join(workDir, "keys-src")
	shas, err := pushCommits(ctx, lab.admin, forge, adminToken, "auditor", "keys", dir, []map[string]string{
		{"README.md": "# keys\n"},
		{"deploy/key.yaml": keyYAML(keyBody[:8]), "deploy/long.pem": longPEM(keyBody[8:])},
		{"deploy/key.yaml": keyYAML(append(append([]string{}, keyBody[:3]...), append([]string{"MIIE03ChangedLine" + strings.Repeat("x", 47)}, keyBody[4:8]...)...)),
			"deploy/long.pem": longPEM(append(append([]string{}, keyBody[8:18]...), append([]string{"MIIE18ChangedLine" + strings.Repeat("y", 47)}, keyBody[19:]...)...))},
	})
	if err != nil {
		return err
	}
	lab.c1, lab.c2, lab.c3 = shas[0], shas[1], shas[2]
	lab.keyYAML = keyYAML(keyBody[:8])
	return nil
}

// pushCommits makes owner/name (private) on g and pushes one commit per
// file set, returning their ids.
func pushCommits(ctx context.Context, admin *gitea.Client, g *harness.Gitea, adminTok, owner, name, dir string, commits []map[string]string) ([]string, error) {
	if _, _, err := admin.AdminCreateRepo(owner, gitea.CreateRepoOption{Name: name, Private: true, DefaultBranch: "main"}); err != nil {
		return nil, fmt.Errorf("create %s/%s: %w", owner, name, err)
	}
	os.RemoveAll(dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if _, err := git(ctx, dir, alice, "2026-03-01T00:00:00Z", "init", "-q", "-b", "main"); err != nil {
		return nil, err
	}
	var shas []string
	for i, files := range commits {
		for p, body := range files {
			os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755)
			if err := os.WriteFile(filepath.Join(dir, p), []byte(body), 0o644); err != nil {
				return nil, err
			}
		}
		when := fmt.Sprintf("2026-03-0%dT00:00:00Z", i+1)
		for _, args := range [][]string{{"add", "-A"}, {"commit", "-q", "-m", fmt.Sprintf("step %d", i+1)}} {
			if _, err := git(ctx, dir, alice, when, args...); err != nil {
				return nil, err
			}
		}
		sha, err := git(ctx, dir, alice, when, "rev-parse", "HEAD")
		if err != nil {
			return nil, err
		}
		shas = append(shas, sha)
	}
	remote := strings.Replace(g.URL, "http://", "http://root-admin:"+adminTok+"@", 1) + "/" + owner + "/" + name + ".git"
	if _, err := git(ctx, dir, alice, "2026-03-09T00:00:00Z", "push", "-q", "-f", remote, "main"); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if r, _, err := admin.GetRepo(owner, name); err == nil && !r.Empty {
			return shas, nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return nil, fmt.Errorf("%s/%s: Gitea did not show the push", owner, name)
}

// labSession starts the binary over stdio with token against url, its
// mirrors in mirrors.
func labSession(t *testing.T, url, token, mirrors string, extra ...string) *mcp.ClientSession {
	t.Helper()
	dir := t.TempDir()
	tok := filepath.Join(dir, "token")
	require.NoError(t, os.WriteFile(tok, []byte(token+"\n"), 0o600))
	args := append([]string{"--gitea-url", url, "--gitea-token-file", tok, "--audit-log", filepath.Join(dir, "audit.log"), "--rate-limit", "0",
		"--mirror-dir", mirrors}, extra...)
	return harness.StdioSession(t, &seen, binary, args...)
}

// accessSince returns Gitea's access log lines after mark, waiting until
// one holds until (a request the test made last, so everything before it
// is written).
func accessSince(t *testing.T, g *harness.Gitea, mark int, until string) []string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		lines, err := g.AccessLog()
		require.NoError(t, err)
		if mark > len(lines) {
			mark = len(lines)
		}
		for i, l := range lines[mark:] {
			if strings.Contains(l, until) {
				return lines[mark : mark+i]
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no access log line with %q after line %d", until, mark)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func accessLen(t *testing.T, g *harness.Gitea) int {
	lines, err := g.AccessLog()
	require.NoError(t, err)
	return len(lines)
}

// TestAttackPathsSendNothing: caller values that would pick another
// upstream path or ref (dot segments, encoded separators, query and
// reflog syntax, a wiki, negative numbers) are refused by Gitea's and
// git's own naming rules with an error that says what to fix, and Gitea's
// access log shows that not one request left for them.
func TestAttackPathsSendNothing(t *testing.T) {
	setupLab(t)
	s := labSession(t, forge.URL, lab.token, t.TempDir())
	mustCall(t, s, "gitea_file", map[string]any{"repo": "auditor/keys", "path": "README.md", "ref": lab.c2})
	// The log is written asynchronously: start after this call's line.
	mark := len(accessSince(t, forge, 0, "/raw/README.md?ref="+lab.c2)) + 1
	attacks := []struct {
		tool string
		args map[string]any
		want string
	}{
		{"gitea_file", map[string]any{"repo": "auditor/keys", "path": "../../../../../api/v1/admin/users"}, `".." segments`},
		{"gitea_file", map[string]any{"repo": "auditor/keys", "path": "..%2F..%2F..%2Fadmin"}, "%"},
		{"gitea_file", map[string]any{"repo": "auditor/keys", "path": "/README.md"}, "leading /"},
		{"gitea_file", map[string]any{"repo": "auditor/keys", "path": "README.md", "ref": "main/../../../../admin"}, ".."},
		{"gitea_file", map[string]any{"repo": "auditor/keys", "path": "README.md", "ref": "main?token=x"}, "ref"},
		{"gitea_file", map[string]any{"repo": "../api/v1", "path": "x"}, "owner"},
		{"gitea_blame", map[string]any{"repo": "auditor/keys.wiki", "path": "Home.md"}, ".wiki"},
		{"gitea_blame", map[string]any{"repo": "auditor__x/keys", "path": "README.md"}, "owner"},
		{"gitea_blame", map[string]any{"repo": "auditor/keys", "path": "README.md", "ref": "HEAD@{1}"}, "@{"},
		{"gitea_tree", map[string]any{"repo": "auditor/keys", "ref": "..%2F..%2Fadmin"}, "ref"},
		{"gitea_commits", map[string]any{"repo": "auditor/keys", "path": "a/../../../b"}, "path"},
		{"gitea_commits", map[string]any{"repo": "auditor/keys", "ref": "--all"}, "ref"},
		{"gitea_diff", map[string]any{"repo": "auditor/keys", "commit": "../../../../admin/users?x="}, "hex"},
		{"gitea_diff", map[string]any{"repo": "auditor/keys", "pull": -1}, "start at 1"},
		{"gitea_diff", map[string]any{"repo": "auditor/keys", "base": "main", "head": "main~3"}, "head"},
		{"gitea_pulls", map[string]any{"repo": "auditor/keys", "number": -7}, "start at 1"},
		{"gitea_issues", map[string]any{"repo": "auditor/keys", "number": -7}, "start at 1"},
		{"gitea_refs", map[string]any{"repo": "auditor/keys/../../x"}, "owner/name"},
		{"gitea_iac", map[string]any{"repo": "auditor/keys", "path": "../.."}, "path"},
		{"gitea_search", map[string]any{"query": "x", "ref": "a..b"}, "ref"},
	}
	for _, a := range attacks {
		r := call(t, s, a.tool, a.args)
		assert.True(t, r.IsError, "%s %v: %s", a.tool, a.args, r.Text)
		assert.Contains(t, r.Text, "invalid arguments", "%s %v", a.tool, a.args)
		assert.Contains(t, r.Text, a.want, "%s %v", a.tool, a.args)
	}
	// A last, good call: its request closes the window to read.
	mustCall(t, s, "gitea_file", map[string]any{"repo": "auditor/keys", "path": "README.md", "ref": lab.c1})
	during := accessSince(t, forge, mark, "/raw/README.md?ref="+lab.c1)
	assert.Empty(t, during, "Gitea saw no request for any attack")
}

// TestAttackMultilineSecretMasked: a private key committed in a file never
// comes back, whole or as any body line, from a line range of gitea_file,
// from gitea_blame, gitea_search or gitea_diff.
func TestAttackMultilineSecretMasked(t *testing.T) {
	setupLab(t)
	s := labSession(t, forge.URL, lab.token, t.TempDir())
	var out []string
	keep := func(r result) result {
		out = append(out, r.Text, fmt.Sprint(r.Data))
		return r
	}
	lines := strings.Count(lab.keyYAML, "\n")
	for i := 1; i <= lines; i++ {
		keep(mustCall(t, s, "gitea_file", map[string]any{"repo": "auditor/keys", "path": "deploy/key.yaml", "ref": lab.c2, "start_line": i, "end_line": i}))
	}
	r := keep(mustCall(t, s, "gitea_file", map[string]any{"repo": "auditor/keys", "path": "deploy/key.yaml", "ref": lab.c2, "start_line": 4, "end_line": 6}))
	assert.Equal(t, "\n\n\n", r.Data["content"], "lines inside the key come back empty")
	r = keep(mustCall(t, s, "gitea_file", map[string]any{"repo": "auditor/keys", "path": "deploy/key.yaml", "ref": lab.c2, "start_line": 15, "end_line": 15}))
	assert.Equal(t, "after: done\n", r.Data["content"], "line numbers still point at the same lines")
	keep(mustCall(t, s, "gitea_file", map[string]any{"repo": "auditor/keys", "path": "deploy/long.pem", "start_line": 5, "end_line": 9}))

	b := keep(mustCall(t, s, "gitea_blame", map[string]any{"repo": "auditor/keys", "path": "deploy/key.yaml"}))
	require.NotEmpty(t, items(b))
	assert.Equal(t, "after: done", lastLine(items(b)), "blame lines stay aligned")
	keep(mustCall(t, s, "gitea_blame", map[string]any{"repo": "auditor/keys", "path": "deploy/long.pem", "start_line": 10, "end_line": 20}))
	keep(mustCall(t, s, "gitea_blame", map[string]any{"repo": "auditor/keys", "path": "deploy/key.yaml", "ref": lab.c2, "start_line": 5, "end_line": 6}))

	for _, l := range keyBody {
		r := keep(mustCall(t, s, "gitea_search", map[string]any{"query": l[:16], "repos": []string{"auditor/keys"}}))
		assert.Empty(t, items(r), "search for a body line finds nothing")
	}
	r = keep(mustCall(t, s, "gitea_search", map[string]any{"query": `[A-Za-z0-9+/]{40,}`, "regex": true, "repos": []string{"auditor/keys"}}))
	assert.Empty(t, items(r), "no base64 line is left to match")
	r = keep(mustCall(t, s, "gitea_search", map[string]any{"query": `MASKED:private-key`, "repos": []string{"auditor/keys"}}))
	assert.Equal(t, []string{"deploy/key.yaml", "deploy/long.pem"}, field(items(r), "path"), "search sees the masked text, where the keys are placeholders")
	assert.Equal(t, []string{"3", "1"}, field(items(r), "line"), "hits at the keys' BEGIN lines")

	for _, args := range []map[string]any{
		{"repo": "auditor/keys", "commit": lab.c2},
		{"repo": "auditor/keys", "commit": lab.c3},
		{"repo": "auditor/keys", "base": lab.c1, "head": "main"},
		{"repo": "auditor/keys", "base": lab.c2, "head": "main"},
	} {
		d := keep(mustCall(t, s, "gitea_diff", args))
		assert.NotEmpty(t, items(d), "%v", args)
	}
	all := strings.Join(out, "\n")
	for _, l := range keyBody {
		assert.NotContains(t, all, l[:16], "a key body line came back")
	}
	assert.NotContains(t, all, probed)
}

func lastLine(its []map[string]any) string {
	ls, _ := its[len(its)-1]["lines"].([]any)
	if len(ls) == 0 {
		return ""
	}
	return fmt.Sprint(ls[len(ls)-1])
}

// TestAttackSearchProbesMaskedValue: a regex that guesses a masked value a
// character at a time finds nothing, at any length: search runs over the
// masked text only.
func TestAttackSearchProbesMaskedValue(t *testing.T) {
	setupLab(t)
	s := labSession(t, forge.URL, lab.token, t.TempDir())
	for i := 1; i <= len(probed); i++ {
		for _, args := range []map[string]any{
			{"query": "password: " + probed[:i], "repos": []string{"auditor/keys"}},
			{"query": `password:\s*` + regexpQuote(probed[:i]), "regex": true, "ignore_case": true},
		} {
			r := mustCall(t, s, "gitea_search", args)
			assert.Empty(t, items(r), "probe %q", args["query"])
			assert.NotContains(t, r.Text, probed)
		}
	}
	r := mustCall(t, s, "gitea_search", map[string]any{"query": `password: \[MASKED:`, "regex": true, "repos": []string{"auditor/keys"}})
	assert.Equal(t, []string{"deploy/key.yaml"}, field(items(r), "path"), "the line is there, masked")
}

func regexpQuote(s string) string {
	return strings.NewReplacer("-", `\-`, ".", `\.`).Replace(s)
}

// caseVariants are the 2^n spellings of s over its first n letters.
func caseVariants(s string, n int) []string {
	var idx []int
	for i, r := range s {
		if r >= 'a' && r <= 'z' && len(idx) < n {
			idx = append(idx, i)
		}
	}
	var out []string
	for mask := 0; mask < 1<<len(idx); mask++ {
		b := []byte(s)
		for j, i := range idx {
			if mask&(1<<j) != 0 {
				b[i] -= 'a' - 'A'
			}
		}
		out = append(out, string(b))
	}
	return out
}

func dirs(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	require.NoError(t, err)
	var out []string
	for _, e := range es {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	return out
}

// TestMirrorCaseVariantsShareOne: Gitea resolves names case-insensitively;
// the 2^8 spellings of auditor/keys are one repository and make one
// mirror, not 256 clones.
func TestMirrorCaseVariantsShareOne(t *testing.T) {
	setupLab(t)
	mirrors := t.TempDir()
	s := labSession(t, forge.URL, lab.token, mirrors)
	vs := caseVariants("auditor/keys", 8)
	require.Len(t, vs, 256)
	for _, v := range vs {
		r := mustCall(t, s, "gitea_blame", map[string]any{"repo": v, "path": "README.md"})
		require.Equal(t, []any{"# keys"}, items(r)[0]["lines"], v)
		assert.Equal(t, "auditor/keys", r.Data["repo"], "named as Gitea names it")
	}
	assert.Len(t, dirs(t, mirrors), 1, "one mirror for every spelling")
}

// TestMirrorFollowsGiteaURL: the same mirror directory, a server pointed
// at another Gitea with a repository of the same name: a new mirror, and
// the new Gitea's content (it used to serve, and fetch, the first one's).
func TestMirrorFollowsGiteaURL(t *testing.T) {
	setupLab(t)
	ctx := context.Background()
	other, err := harness.StartGitea(ctx, t.TempDir())
	require.NoError(t, err)
	defer other.Stop()
	otherAdmin, err := other.User(ctx, "root-admin", true, "all")
	require.NoError(t, err)
	otherTok, err := other.User(ctx, "auditor", false, "read:repository,read:issue,read:user")
	require.NoError(t, err)
	oa, err := gitea.NewClient(other.URL, gitea.SetToken(otherAdmin))
	require.NoError(t, err)
	_, err = pushCommits(ctx, oa, other, otherAdmin, "auditor", "keys", filepath.Join(t.TempDir(), "src"), []map[string]string{{"README.md": "# keys on the other Gitea\n"}})
	require.NoError(t, err)

	mirrors := t.TempDir()
	first := labSession(t, forge.URL, lab.token, mirrors)
	r := mustCall(t, first, "gitea_blame", map[string]any{"repo": "auditor/keys", "path": "README.md"})
	assert.Equal(t, []any{"# keys"}, items(r)[0]["lines"])
	first.Close()
	mark := accessLen(t, forge)

	second := labSession(t, other.URL, otherTok, mirrors)
	r = mustCall(t, second, "gitea_blame", map[string]any{"repo": "auditor/keys", "path": "README.md"})
	assert.Equal(t, []any{"# keys on the other Gitea"}, items(r)[0]["lines"], "the Gitea it points at now")
	r = mustCall(t, second, "gitea_search", map[string]any{"query": "other Gitea"})
	assert.Equal(t, []string{"README.md"}, field(items(r), "path"))
	assert.Len(t, dirs(t, mirrors), 2, "a new mirror for the new URL")

	lines, err := forge.AccessLog()
	require.NoError(t, err)
	for _, l := range lines[min(mark, len(lines)):] {
		assert.NotContains(t, l, "auditor/keys", "nothing fetched from the old Gitea")
	}
}

// TestMirrorRecreatedRepo: a repository deleted and made again under the
// same name is another repository: its mirror is new, so the old one's
// commits (gone from Gitea) cannot be read by id from a kept mirror.
func TestMirrorRecreatedRepo(t *testing.T) {
	setupLab(t)
	ctx := context.Background()
	old, err := pushCommits(ctx, lab.admin, forge, adminToken, "auditor", "scratch", filepath.Join(workDir, "scratch-1"), []map[string]string{{"README.md": "first life: Gone-planted-Note-88\n"}})
	require.NoError(t, err)
	mirrors := t.TempDir()
	s := labSession(t, forge.URL, lab.token, mirrors, "--mirror-ttl", "1s")
	r := mustCall(t, s, "gitea_blame", map[string]any{"repo": "auditor/scratch", "path": "README.md"})
	assert.Equal(t, []any{"first life: Gone-planted-Note-88"}, items(r)[0]["lines"])

	_, err = lab.admin.DeleteRepo("auditor", "scratch")
	require.NoError(t, err)
	_, err = pushCommits(ctx, lab.admin, forge, adminToken, "auditor", "scratch", filepath.Join(workDir, "scratch-2"), []map[string]string{{"README.md": "second life\n"}})
	require.NoError(t, err)
	time.Sleep(1500 * time.Millisecond)
	r = mustCall(t, s, "gitea_blame", map[string]any{"repo": "auditor/scratch", "path": "README.md"})
	assert.Equal(t, []any{"second life"}, items(r)[0]["lines"])
	gone := call(t, s, "gitea_blame", map[string]any{"repo": "auditor/scratch", "path": "README.md", "ref": old[0]})
	assert.True(t, gone.IsError, "the deleted repository's commit is not served: %s", gone.Text)
	assert.NotContains(t, gone.Text, "Gone-planted")
	assert.Len(t, dirs(t, mirrors), 2, "a new mirror for the new repository")
}

// TestMirrorBudget: with --mirror-max-mb 1, two repositories of 700 KiB
// each do not both stay: the least recently used mirror is removed, and
// made again when needed.
func TestMirrorBudget(t *testing.T) {
	setupLab(t)
	ctx := context.Background()
	for _, name := range []string{"big1", "big2"} {
		blob := make([]byte, 700<<10)
		rand.Read(blob)
		_, err := pushCommits(ctx, lab.admin, forge, adminToken, "auditor", name, filepath.Join(workDir, name+"-src"), []map[string]string{{"README.md": name + "\n", "blob.bin": string(blob)}})
		require.NoError(t, err)
	}
	mirrors := t.TempDir()
	s := labSession(t, forge.URL, lab.token, mirrors, "--mirror-max-mb", "1")
	for _, name := range []string{"big1", "big2", "big1"} {
		r := mustCall(t, s, "gitea_blame", map[string]any{"repo": "auditor/" + name, "path": "README.md"})
		assert.Equal(t, []any{name}, items(r)[0]["lines"])
		assert.Len(t, dirs(t, mirrors), 1, "one 700 KiB mirror fits in 1 MiB, two do not")
	}
}

// TestRequireCallerToken: with --require-caller-token a caller who sends
// no X-Gitea-Token is refused, and nothing is read with the server's
// token; a caller with her own token reads what she may.
func TestRequireCallerToken(t *testing.T) {
	setupLab(t)
	url, _ := httpServer(t, "mcp-gitea-require", "aud-1f2e,auditor,sre\nnone-9c8d,nobody,sre\n", "roles:\n  sre:\n    tools: [\"*\"]\n", "--require-caller-token")
	mark := accessLen(t, forge)

	nobody := harness.Connect(t, &mcp.StreamableClientTransport{Endpoint: url + "/mcp", HTTPClient: harness.HTTPClient("none-9c8d")})
	for _, c := range []struct {
		tool string
		args map[string]any
	}{
		{"gitea_repos", map[string]any{}},
		{"gitea_file", map[string]any{"repo": "ops/vault", "path": "README.md"}},
		{"gitea_blame", map[string]any{"repo": "ops/vault", "path": "README.md"}},
		{"gitea_search", map[string]any{"query": "break-glass"}},
	} {
		r := call(t, nobody, c.tool, c.args)
		assert.True(t, r.IsError, c.tool)
		assert.Contains(t, r.Text, "X-Gitea-Token", c.tool)
		assert.NotContains(t, r.Text, "break-glass")
	}

	own := &http.Client{Transport: giteaToken{token: lab.token, next: harness.Bearer{Token: "aud-1f2e", Next: http.DefaultTransport}}}
	auditor := harness.Connect(t, &mcp.StreamableClientTransport{Endpoint: url + "/mcp", HTTPClient: own})
	repos := mustCall(t, auditor, "gitea_repos", map[string]any{})
	assert.Contains(t, field(items(repos), "name"), "auditor/keys")
	assert.NotContains(t, field(items(repos), "name"), "ops/vault", "her own token: not the server's view")

	during := accessSince(t, forge, mark, "/api/v1/repos/search")
	for _, l := range during {
		if strings.Contains(l, "/api/v1/version") {
			continue // the server's start-up and readiness probe, not a read of anything
		}
		assert.NotContains(t, l, " - mcp-reader [", "nothing was read with the server's token: %s", l)
	}
}

// TestAttackIssueQueryProbe: the issue's body holds a password (masked
// when read); a keyword that guesses it finds no issue, because the
// keyword is matched on masked text, not by Gitea's search.
func TestAttackIssueQueryProbe(t *testing.T) {
	s, _ := session(t)
	for _, q := range []string{"Issue-planted-Pw-11", "Issue-planted", "planted"} {
		r := mustCall(t, s, "gitea_issues", map[string]any{"repo": "ops/infra", "state": "all", "query": q})
		assert.Empty(t, items(r), "probe %q", q)
	}
	r := mustCall(t, s, "gitea_issues", map[string]any{"repo": "ops/infra", "state": "all", "query": "rotate"})
	assert.Equal(t, []string{"Rotate the orders DB password"}, field(items(r), "title"))
}
