package tools

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/opsmcp/opsmcp/shared/mask"
)

func TestParseDiff(t *testing.T) {
	raw := `diff --git a/k8s/deployment.yaml b/k8s/deployment.yaml
index 1111111..2222222 100644
--- a/k8s/deployment.yaml
+++ b/k8s/deployment.yaml
@@ -1,3 +1,4 @@
 apiVersion: apps/v1
-kind: Deployment
+kind: StatefulSet
+# comment
diff --git a/new.txt b/new.txt
new file mode 100644
index 0000000..3333333
--- /dev/null
+++ b/new.txt
@@ -0,0 +1 @@
+hello
diff --git a/old.txt b/old.txt
deleted file mode 100644
--- a/old.txt
+++ /dev/null
@@ -1 +0,0 @@
-bye
diff --git a/a.txt b/b.txt
similarity index 100%
rename from a.txt
rename to b.txt
diff --git a/logo.png b/logo.png
Binary files a/logo.png and b/logo.png differ
`
	got := ParseDiff(raw)
	var summary []DiffFile
	for _, f := range got {
		f.Patch = ""
		summary = append(summary, f)
	}
	assert.Equal(t, []DiffFile{
		{Path: "k8s/deployment.yaml", Status: "modified", Additions: 2, Deletions: 1},
		{Path: "new.txt", Status: "added", Additions: 1},
		{Path: "old.txt", Status: "deleted", Deletions: 1},
		{Path: "b.txt", OldPath: "a.txt", Status: "renamed"},
		{Path: "logo.png", Status: "binary"},
	}, summary)
	assert.Contains(t, got[0].Patch, "-kind: Deployment\n+kind: StatefulSet\n")
}

// FuzzParseDiff: any text splits into files without a panic, the files'
// patches are the diff from its first header on, the counts are the
// patch's own + and - lines, and a key added in one file, masked per
// file as gitea_diff does, never shows a body line whatever the other
// files hold.
func FuzzParseDiff(f *testing.F) {
	f.Add("diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n")
	f.Add("junk\ndiff --git a/a b/b\nrename from a\nrename to b\n")
	f.Add("diff --git a/k b/k\nnew file mode 100644\n+++ b/k\n@@ -0,0 +1 @@\n+-----BEGIN PRIVATE KEY-----\n")
	f.Add("diff --git a/p b/p\nBinary files a/p and b/p differ\n")
	f.Add("")
	m := mask.New([]byte("fuzz key for ParseDiff, fixed..."))
	f.Fuzz(func(t *testing.T, raw string) {
		files := ParseDiff(raw)
		var all strings.Builder
		for _, df := range files {
			if !strings.HasPrefix(df.Patch, "diff --git ") {
				t.Fatalf("a patch that is not a file's: %q", df.Patch)
			}
			if df.Additions < 0 || df.Deletions < 0 || df.Additions+df.Deletions > strings.Count(df.Patch, "\n")+1 {
				t.Fatalf("counts %d/%d for %q", df.Additions, df.Deletions, df.Patch)
			}
			all.WriteString(df.Patch)
		}
		if i := strings.Index(raw, "diff --git "); i >= 0 && (i == 0 || raw[i-1] == '\n') && all.String() != raw[i:] {
			t.Fatalf("patches %q are not the diff %q", all.String(), raw[i:])
		}
		for _, l := range pemBody {
			if strings.Contains(raw, l[:16]) {
				return
			}
		}
		key := "diff --git a/deploy/key.pem b/deploy/key.pem\nnew file mode 100644\n--- /dev/null\n+++ b/deploy/key.pem\n@@ -0,0 +1,5 @@\n+-----BEGIN RSA PRIVATE KEY-----\n+" +
			strings.Join(pemBody, "\n+") + "\n+-----END RSA PRIVATE KEY-----\n"
		if raw != "" && !strings.HasSuffix(raw, "\n") {
			raw += "\n"
		}
		for _, df := range ParseDiff(raw + key) {
			masked, _ := m.Text(df.Patch)
			for _, l := range pemBody {
				if strings.Contains(masked, l[:16]) {
					t.Fatalf("key body line survived masking in %q", masked)
				}
			}
		}
	})
}
