package tools

import (
	"testing"

	"github.com/stretchr/testify/assert"
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
