package gitea_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRepos(t *testing.T) {
	s, _ := session(t)
	r := mustCall(t, s, "gitea_repos", map[string]any{})
	assert.Equal(t, []string{"ops/infra", "ops/site", "ops/vault"}, field(items(r), "name"), "all the reader can see, private vault included")
	assert.Equal(t, "main", items(r)[0]["default_branch"])

	only, _ := session(t, "--repos", "ops/infra")
	r = mustCall(t, only, "gitea_repos", map[string]any{})
	assert.Equal(t, []string{"ops/infra"}, field(items(r), "name"), "the allowlist hides the others")
	denied := call(t, only, "gitea_file", map[string]any{"repo": "ops/site", "path": "README.md"})
	assert.True(t, denied.IsError)
	assert.Contains(t, denied.Text, "not in this server's repository allowlist")
	hits := mustCall(t, only, "gitea_search", map[string]any{"query": "replicas"})
	for _, it := range items(hits) {
		assert.Equal(t, "ops/infra", it["repo"], "search results stay inside the allowlist")
	}
	assert.NotEmpty(t, items(hits))
}

func TestFileAtRefs(t *testing.T) {
	s, _ := session(t)
	atTag := mustCall(t, s, "gitea_file", map[string]any{"repo": "ops/infra", "path": "k8s/deployment.yaml", "ref": "v1.0.0"})
	sameButMasked(t, string(fx.deploymentAtA), fmt.Sprint(atTag.Data["content"]))
	assert.Contains(t, atTag.Text, "web/api:1.4.2", "the tag has the old image")
	main := mustCall(t, s, "gitea_file", map[string]any{"repo": "ops/infra", "path": "k8s/deployment.yaml"})
	assert.Contains(t, main.Text, "web/api:1.5.0", "the default branch has the bump")
	assert.Contains(t, main.Text, "replicas: 2")
	branch := mustCall(t, s, "gitea_file", map[string]any{"repo": "ops/infra", "path": "k8s/deployment.yaml", "ref": "feature/scale"})
	assert.Contains(t, branch.Text, "replicas: 4")
	byCommit := mustCall(t, s, "gitea_file", map[string]any{"repo": "ops/infra", "path": "k8s/deployment.yaml", "ref": fx.commitA, "start_line": 17, "end_line": 18})
	assert.Equal(t, "        - name: api\n          image: registry.example/web/api:1.4.2\n", byCommit.Text)
	assert.EqualValues(t, 51, byCommit.Data["lines"])

	bin := mustCall(t, s, "gitea_file", map[string]any{"repo": "ops/infra", "path": "logo.png"})
	assert.Equal(t, true, bin.Data["binary"])
	assert.Equal(t, "image/png", bin.Data["content_type"])
	assert.Contains(t, bin.Text, "binary file")
	assert.NotContains(t, bin.Text, "IHDR")

	// A byte cap pages through the file with a cursor, losing nothing.
	args := map[string]any{"repo": "ops/infra", "path": "k8s/deployment.yaml", "max_bytes": 300}
	var got strings.Builder
	for i := 0; ; i++ {
		require.Less(t, i, 20)
		r := mustCall(t, s, "gitea_file", args)
		body, _, _ := strings.Cut(r.Text, "\n[truncated: ")
		got.WriteString(body)
		c, _ := r.Data["cursor"].(string)
		if c == "" {
			break
		}
		if !strings.HasSuffix(body, "\n") {
			got.WriteString("\n")
		}
		args["cursor"] = c
	}
	assert.Contains(t, got.String(), "kind: CronJob")
	assert.Equal(t, strings.Count(main.Text, "\n"), strings.Count(got.String(), "\n"))

	missing := call(t, s, "gitea_file", map[string]any{"repo": "ops/infra", "path": "nope.yaml"})
	assert.True(t, missing.IsError)
	assert.Contains(t, missing.Text, "not found")
}

// sameButMasked compares pushed content with what came back: equal line
// by line, but for lines whose secret was masked.
func sameButMasked(t *testing.T, pushed, got string) {
	t.Helper()
	pl := strings.Split(pushed, "\n")
	gl := strings.Split(got, "\n")
	require.Equal(t, len(pl), len(gl))
	for i := range pl {
		if pl[i] != gl[i] {
			assert.Contains(t, gl[i], "[MASKED:", "line %d differs only by masking", i+1)
		}
	}
}

func TestTreeAndRefs(t *testing.T) {
	s, _ := session(t)
	r := mustCall(t, s, "gitea_tree", map[string]any{"repo": "ops/infra", "path": "k8s"})
	assert.Equal(t, []string{"k8s/deployment.yaml", "k8s/kustomization.yaml", "k8s/secret.yaml"}, field(items(r), "path"))
	r = mustCall(t, s, "gitea_tree", map[string]any{"repo": "ops/infra", "ref": "feature/scale", "glob": "*.yaml", "recursive": true})
	assert.Contains(t, field(items(r), "path"), "k8s/hpa.yaml")
	assert.Contains(t, field(items(r), "path"), "charts/web/templates/deployment.yaml")
	top := mustCall(t, s, "gitea_tree", map[string]any{"repo": "ops/infra"})
	assert.Contains(t, top.Text, "k8s/")
	assert.Contains(t, field(items(top), "path"), "Jenkinsfile")

	refs := mustCall(t, s, "gitea_refs", map[string]any{"repo": "ops/infra"})
	var got []string
	for _, it := range items(refs) {
		got = append(got, fmt.Sprintf("%s %s %.7s", it["kind"], it["name"], fmt.Sprint(it["commit"])))
	}
	assert.Contains(t, got, "branch main "+fx.commitB[:7])
	assert.Contains(t, got, "branch feature/scale "+fx.commitC[:7])
	assert.Contains(t, got, "tag v1.0.0 "+fx.commitA[:7])
	assert.Contains(t, strings.Join(got, "\n"), "release v1.0.0")
}

func TestCommitsDiffBlame(t *testing.T) {
	s, _ := session(t)
	r := mustCall(t, s, "gitea_commits", map[string]any{"repo": "ops/infra"})
	assert.Equal(t, []string{fx.commitB, fx.commitA}, field(items(r), "sha"))
	assert.Equal(t, []string{"Bump api to 1.5.0", "Initial infrastructure"}, field(items(r), "summary"))
	r = mustCall(t, s, "gitea_commits", map[string]any{"repo": "ops/infra", "ref": "feature/scale", "author": "carol"})
	assert.Equal(t, []string{fx.commitC}, field(items(r), "sha"))
	r = mustCall(t, s, "gitea_commits", map[string]any{"repo": "ops/infra", "ref": "feature/scale", "since": "2026-02-01", "until": "2026-02-15"})
	assert.Equal(t, []string{fx.commitB}, field(items(r), "sha"))
	r = mustCall(t, s, "gitea_commits", map[string]any{"repo": "ops/infra", "path": "README.md"})
	assert.Equal(t, []string{fx.commitA}, field(items(r), "sha"), "only commits touching the path")

	d := mustCall(t, s, "gitea_diff", map[string]any{"repo": "ops/infra", "commit": fx.commitB})
	assert.Equal(t, []string{"k8s/deployment.yaml"}, field(items(d), "path"))
	assert.Contains(t, d.Text, "-          image: registry.example/web/api:1.4.2\n+          image: registry.example/web/api:1.5.0\n", "the patch is raw text")
	assert.EqualValues(t, 1, d.Data["additions"])

	pr := mustCall(t, s, "gitea_diff", map[string]any{"repo": "ops/infra", "pull": fx.pull, "detail": "files"})
	assert.Equal(t, []string{"k8s/deployment.yaml", "k8s/hpa.yaml"}, field(items(pr), "path"))
	assert.Equal(t, []string{"modified", "added"}, field(items(pr), "status"))
	assert.NotContains(t, pr.Text, "@@", "files detail has no patch")

	cmp := mustCall(t, s, "gitea_diff", map[string]any{"repo": "ops/infra", "base": "v1.0.0", "head": "feature/scale", "path": "*.yaml"})
	assert.Equal(t, []string{"k8s/deployment.yaml", "k8s/hpa.yaml"}, field(items(cmp), "path"))
	assert.Contains(t, cmp.Text, "+  replicas: 4")
	assert.Contains(t, cmp.Text, "+          image: registry.example/web/api:1.5.0")

	// Paged per file: one file per page at a small budget.
	paged := mustCall(t, s, "gitea_diff", map[string]any{"repo": "ops/infra", "pull": fx.pull, "max_bytes": 700})
	assert.Len(t, items(paged), 1)
	assert.NotEmpty(t, paged.Data["cursor"])

	b := mustCall(t, s, "gitea_blame", map[string]any{"repo": "ops/infra", "path": "k8s/deployment.yaml", "ref": "feature/scale", "start_line": 7, "end_line": 18})
	var ranges []string
	for _, it := range items(b) {
		ranges = append(ranges, fmt.Sprintf("%v-%v %.7s %s %s", it["start"], it["end"], fmt.Sprint(it["commit"]), it["author"], it["summary"]))
	}
	// Line 7 is replicas (Carol's change), 18 the image (Bob's bump).
	assert.Equal(t, []string{
		fmt.Sprintf("7-7 %.7s Carol SRE Scale api to 4 replicas, add HPA", fx.commitC),
		fmt.Sprintf("8-17 %.7s Alice Ops Initial infrastructure", fx.commitA),
		fmt.Sprintf("18-18 %.7s Bob Dev Bump api to 1.5.0", fx.commitB),
	}, ranges)
	assert.Equal(t, "2026-02-20T15:00:00Z", items(b)[0]["date"])
	assert.Equal(t, []any{"  replicas: 4"}, items(b)[0]["lines"])
}

func TestPullsAndIssues(t *testing.T) {
	s, _ := session(t)
	list := mustCall(t, s, "gitea_pulls", map[string]any{"repo": "ops/infra"})
	require.Len(t, items(list), 1)
	assert.Equal(t, "Scale api to 4 replicas", items(list)[0]["title"])
	assert.Equal(t, "feature/scale", items(list)[0]["head"])

	one := mustCall(t, s, "gitea_pulls", map[string]any{"repo": "ops/infra", "number": fx.pull})
	var kinds []string
	for _, it := range items(one) {
		kinds = append(kinds, fmt.Sprintf("%v %v %v", it["kind"], it["author"], it["state"]))
	}
	assert.Contains(t, kinds, "review dave REQUEST_CHANGES")
	assert.Contains(t, kinds, "review_comment dave <nil>")
	assert.Contains(t, kinds, "comment root-admin <nil>")
	assert.Contains(t, one.Text, "review comment by dave on k8s/deployment.yaml:8")
	assert.Contains(t, one.Text, "Keep 2 here and let the HPA scale")
	assert.Contains(t, one.Text, "Load tests need more replicas")

	issues := mustCall(t, s, "gitea_issues", map[string]any{"repo": "ops/infra"})
	assert.Equal(t, []string{"Rotate the orders DB password"}, field(items(issues), "title"), "pull requests are not listed as issues")
	is := mustCall(t, s, "gitea_issues", map[string]any{"repo": "ops/infra", "number": fx.issue})
	assert.Contains(t, is.Text, "Rotated; the new one is in Vault only.")
	assert.Contains(t, is.Text, "password: [MASKED:")
}

func TestSearch(t *testing.T) {
	s, _ := session(t)
	r := mustCall(t, s, "gitea_search", map[string]any{"query": "replicas:"})
	var got []string
	for _, it := range items(r) {
		got = append(got, fmt.Sprintf("%s:%s:%v", it["repo"], it["path"], it["line"]))
	}
	assert.Equal(t, []string{"ops/infra:charts/web/templates/deployment.yaml:6", "ops/infra:k8s/deployment.yaml:7", "ops/site:deploy.yaml:2"}, got,
		"every allowed repository at its default branch; vault has no match")
	r = mustCall(t, s, "gitea_search", map[string]any{"query": `image:\s+\S+:latest`, "regex": true, "repos": []string{"ops/infra"}, "path": "*.y*ml"})
	got = nil
	for _, it := range items(r) {
		got = append(got, fmt.Sprintf("%s:%v", it["path"], it["line"]))
	}
	assert.Equal(t, []string{".gitea/workflows/ci.yaml:14", "k8s/deployment.yaml:30"}, got)
	r = mustCall(t, s, "gitea_search", map[string]any{"query": "MINREPLICAS", "ignore_case": true, "ref": "feature/scale"})
	assert.Equal(t, []string{"k8s/hpa.yaml"}, field(items(r), "path"))
	bad := call(t, s, "gitea_search", map[string]any{"query": "(", "regex": true})
	assert.True(t, bad.IsError)
	assert.Contains(t, bad.Text, "not a valid RE2")
}

func TestIaC(t *testing.T) {
	s, _ := session(t)
	r := mustCall(t, s, "gitea_iac", map[string]any{"repo": "ops/infra", "ref": "v1.0.0", "only": "findings"})
	var got []string
	for _, it := range items(r) {
		got = append(got, fmt.Sprintf("%s:%v %s", it["path"], it["line"], it["rule"]))
	}
	assert.Contains(t, got, "k8s/deployment.yaml:30 image-latest")
	assert.Contains(t, got, "k8s/deployment.yaml:32 privileged")
	assert.Contains(t, got, "k8s/deployment.yaml:36 host-path")
	assert.Contains(t, got, "k8s/secret.yaml:8 plaintext-secret")
	assert.Contains(t, got, "terraform/main.tf:22 plaintext-secret")
	assert.Contains(t, got, "docker-compose.yml:7 image-unpinned")
	assert.EqualValues(t, 15, r.Data["findings"])
	inv := mustCall(t, s, "gitea_iac", map[string]any{"repo": "ops/infra", "ref": "feature/scale", "only": "inventory"})
	assert.Contains(t, inv.Text, "HorizontalPodAutoscaler api -n web", "the branch's new manifest")
	assert.Contains(t, inv.Text, "dependency redis 19.6.0")
	assert.Contains(t, inv.Text, "step 1 uses actions/checkout@v4")
	assert.Contains(t, inv.Text, "jenkinsfile")
}
