package parse

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestKindOf(t *testing.T) {
	charts := map[string]bool{"charts/api": true}
	cases := map[string]string{
		"runbooks/failover.md":                   Markdown,
		"adr/0001-mesh.adoc":                     AsciiDoc,
		"notes.txt":                              Text,
		"manuals/ollama.pdf":                     PDF,
		"k8s/deploy.yaml":                        Manifest,
		"charts/api/Chart.yaml":                  Helm,
		"charts/api/values.yaml":                 Helm,
		"charts/api/values-prod.yaml":            Helm,
		"charts/api/templates/deployment.yaml":   Helm,
		"charts/api/templates/_helpers.tpl":      Helm,
		"charts/api/README.md":                   Markdown,
		"infra/main.tf":                          Terraform,
		".gitea/workflows/ci.yml":                Pipeline,
		".github/workflows/release.yaml":         Pipeline,
		".gitlab-ci.yml":                         Pipeline,
		"Jenkinsfile":                            Pipeline,
		"bin/tool":                               "",
		"images/logo.png":                        "",
		"charts/other/templates/deployment.yaml": Manifest, // no Chart.yaml: a plain manifest
	}
	for p, want := range cases {
		assert.Equal(t, want, KindOf(p, charts), p)
	}
}

func headings(s []Section) []string {
	var out []string
	for _, x := range s {
		out = append(out, strings.Join(x.Heading, " > "))
	}
	return out
}

func TestMarkdownHeadingTree(t *testing.T) {
	src := "Intro line.\n\n# Failover\n\nWhen GCP-A is down.\n\n## Steps\n\n1. Drain.\n\n```sh\n# not a heading\nkubectl get pods\n```\n\n### Verify\n\nCheck /api/tags.\n\nRollback\n--------\n\nSet the bridge back.\n\n# Appendix\n\nLinks.\n"
	s := markdown([]byte(src))
	assert.Equal(t, []string{"", "Failover", "Failover > Steps", "Failover > Steps > Verify", "Failover > Rollback", "Appendix"}, headings(s))
	assert.Equal(t, "Intro line.", s[0].Text)
	assert.Contains(t, s[2].Text, "# not a heading", "a # in a code fence stays text")
	assert.Equal(t, "Set the bridge back.", s[4].Text)
}

func TestAsciiDoc(t *testing.T) {
	src := "= ADR 7: Mesh\n\nStatus: accepted.\n\n== Context\n\nPublic proxy.\n\n----\n== not a title\n----\n\n=== Options\n\nWireGuard.\n\n== Decision\n\nMesh.\n"
	s := asciidoc([]byte(src))
	assert.Equal(t, []string{"ADR 7: Mesh", "ADR 7: Mesh > Context", "ADR 7: Mesh > Context > Options", "ADR 7: Mesh > Decision"}, headings(s))
	assert.Contains(t, s[1].Text, "== not a title")
}

func TestManifestsByObject(t *testing.T) {
	src := "apiVersion: v1\nkind: Service\nmetadata:\n  name: api\n  namespace: web\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\n---\n# just a comment\nfoo: [unclosed\n"
	s := manifests([]byte(src))
	assert.Equal(t, []string{"Service web/api", "Deployment api", "document 3"}, headings(s))
}

func TestHelm(t *testing.T) {
	tmpl := "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ include \"api.fullname\" . }}\nspec:\n  replicas: {{ .Values.replicas }}\n"
	assert.Equal(t, []string{"Deployment"}, headings(helm("charts/api/templates/deployment.yaml", []byte(tmpl))))
	values := "# how many pods\nreplicas: 2\nimage:\n  tag: 1.2.3\nresources: {}\n"
	s := helm("charts/api/values.yaml", []byte(values))
	assert.Equal(t, []string{"replicas", "image", "resources"}, headings(s))
	assert.True(t, strings.HasPrefix(s[0].Text, "# how many pods"), "a comment stays with the key below it")
}

func TestTerraformByBlock(t *testing.T) {
	src := "variable \"region\" {\n  default = \"eu\"\n}\n\nresource \"google_compute_instance\" \"gcp_a\" {\n  name = \"ollama-a\"\n}\n"
	s, err := terraform("main.tf", []byte(src))
	require.NoError(t, err)
	assert.Equal(t, []string{`variable "region"`, `resource "google_compute_instance" "gcp_a"`}, headings(s))
	assert.True(t, strings.HasPrefix(s[1].Text, `resource "google_compute_instance"`))
	s, err = terraform("bad.tf", []byte("resource {{{"))
	require.NoError(t, err, "a file HCL cannot parse is still text")
	assert.Len(t, s, 1)
}

func TestPipelineByJob(t *testing.T) {
	src := "name: ci\non: [push]\njobs:\n  test:\n    runs-on: ubuntu\n    steps:\n      - run: make test\n  deploy:\n    needs: test\n    steps:\n      - run: flux reconcile\n"
	s := pipeline(".gitea/workflows/ci.yml", []byte(src))
	assert.Equal(t, []string{"ci", "ci > job deploy", "ci > job test"}, headings(s))
	assert.Contains(t, s[2].Text, "make test")
	gl := "stages: [build]\nbuild-image:\n  stage: build\n  script: [docker build .]\n"
	assert.Equal(t, []string{".gitlab-ci.yml > stages", ".gitlab-ci.yml > build-image"}, headings(pipeline(".gitlab-ci.yml", []byte(gl))))
}

func TestBinaryIsSkipped(t *testing.T) {
	s, err := Parse(Text, "x.txt", []byte{0xff, 0x00, 0xfe, 0x01})
	require.NoError(t, err)
	assert.Empty(t, s)
}

func TestBadPDFIsAnError(t *testing.T) {
	_, err := Parse(PDF, "x.pdf", []byte("%PDF-1.4 not really"))
	assert.Error(t, err)
}
