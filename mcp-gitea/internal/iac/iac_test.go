package iac

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func load(t *testing.T) map[string][]byte {
	t.Helper()
	root := "testdata/infra"
	files := map[string][]byte{}
	require.NoError(t, filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if Candidate(rel) {
			b, err := os.ReadFile(p)
			files[filepath.ToSlash(rel)] = b
			return err
		}
		return nil
	}))
	return files
}

func TestFindings(t *testing.T) {
	var got []string
	for _, it := range Analyze(load(t)) {
		if it.Kind == "finding" {
			got = append(got, fmt.Sprintf("%s:%d %s", it.Path, it.Line, it.Rule))
		}
	}
	assert.Equal(t, []string{
		".gitea/workflows/ci.yaml:14 image-latest",
		"charts/web/values.yaml:3 image-latest",
		"charts/web/values.yaml:8 plaintext-secret",
		"docker-compose.yml:5 plaintext-secret",
		"docker-compose.yml:7 image-unpinned",
		"docker-compose.yml:8 privileged",
		"k8s/deployment.yaml:28 plaintext-secret",
		"k8s/deployment.yaml:29 no-resources",
		"k8s/deployment.yaml:30 image-latest",
		"k8s/deployment.yaml:32 privileged",
		"k8s/deployment.yaml:36 host-path",
		"k8s/deployment.yaml:50 no-resources",
		"k8s/deployment.yaml:51 image-unpinned",
		"k8s/secret.yaml:8 plaintext-secret",
		"terraform/main.tf:22 plaintext-secret",
	}, got)
}

func TestFindingsNeverEchoSecrets(t *testing.T) {
	for _, it := range Analyze(load(t)) {
		s := fmt.Sprintf("%+v", it)
		for _, secret := range []string{"Gh7-planted", "tok_planted", "Chart-planted", "Tf-planted", "Compose-planted"} {
			assert.NotContains(t, s, secret)
		}
	}
}

func TestInventory(t *testing.T) {
	got := map[string]Item{}
	for _, it := range Analyze(load(t)) {
		if it.Kind != "finding" {
			got[it.Kind+" "+it.Type+" "+it.Name] = it
		}
	}
	dep := got["manifest Deployment api"]
	assert.Equal(t, "web", dep.Namespace)
	assert.Equal(t, []string{"registry.example/web/api:1.4.2", "busybox:latest"}, dep.Images)
	assert.Contains(t, dep.Details, "api requests cpu=100m memory=128Mi")
	assert.Contains(t, got, "manifest CronJob report")
	assert.Contains(t, got, "manifest Secret api-credentials")
	assert.Equal(t, []string{"resource deployment.yaml", "resource secret.yaml", "image registry.example/web/api -> registry.example/web/api:1.4.3"}, got["kustomization Kustomization "].Details)
	assert.Equal(t, []string{"chart web 0.3.1 from HelmRepository/internal"}, got["flux HelmRelease web"].Details)
	assert.Equal(t, []string{"url https://git.example/ops/infra.git"}, got["flux GitRepository infra"].Details)
	chart := got["helm-chart chart 0.3.1 web"]
	assert.Equal(t, []string{"appVersion 1.4.2", "dependency redis 19.6.0 from https://charts.example/bitnami", "values keys: replicaCount, image, service, auth"}, chart.Details)
	assert.Equal(t, []string{"source terraform-aws-modules/vpc/aws"}, got["terraform module vpc"].Details)
	assert.Contains(t, got, "terraform resource aws_db_instance orders")
	assert.Contains(t, got, "terraform provider aws")
	assert.Equal(t, []string{"requires provider aws"}, got["terraform terraform "].Details)
	assert.Equal(t, []string{"runs-on ubuntu-latest", "step 1 uses actions/checkout@v4", "step 2 uses actions/setup-go@v5", "step 3 test"}, got["workflow job test"].Details)
	assert.Equal(t, 4, got["jenkinsfile stage Build"].Line)
	assert.Equal(t, 7, got["jenkinsfile stage Deploy"].Line)
	assert.Equal(t, []string{"postgres:16.4"}, got["compose service db"].Images)
	for k := range got {
		assert.False(t, strings.Contains(k, "include"), "chart templates are not parsed as manifests: %s", k)
	}
}

// TestLimited: a parser that panics or crawls costs its file, not the
// call: one not-analysed finding, within the time limit.
func TestLimited(t *testing.T) {
	got := limited("a.yaml", func() []Item { panic("boom: password=Lim-planted-1") })
	assert.Equal(t, "not-analysed", got[0].Rule)
	assert.Contains(t, got[0].Message, "the parser failed on it")
	assert.NotContains(t, got[0].Message, "Lim-planted", "a panic's value is not echoed")
	old := FileTimeout
	FileTimeout = 50 * time.Millisecond
	defer func() { FileTimeout = old }()
	start := time.Now()
	got = limited("b.tf", func() []Item { time.Sleep(2 * time.Second); return nil })
	assert.Less(t, time.Since(start), time.Second)
	assert.Equal(t, []Item{{Kind: "finding", Path: "b.tf", Rule: "not-analysed", Message: "this file was not analysed: it took longer than 50ms"}}, got)
}
