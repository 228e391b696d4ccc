package service

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRepoSourcesTakesOnlyReadmeDocsDeploy: the default source holds the
// root README.md and what is under docs/ and deploy/, not another
// folder's README.md (test fixtures) nor its code.
func TestRepoSourcesTakesOnlyReadmeDocsDeploy(t *testing.T) {
	root := t.TempDir()
	for _, p := range []string{"go.work", "README.md", "docs/security.md", "deploy/compose/servers.yaml",
		"mcp-docs/testdata/distractors/README.md", "e2e/README.md", "mcp-docs/go.mod"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(root, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, p), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if !isRepoRoot(root) {
		t.Fatal("a folder with go.work, README.md, docs/ and mcp-docs/ is a repository root")
	}
	if isRepoRoot(filepath.Join(root, "docs")) {
		t.Fatal("docs/ is not a repository root")
	}
	cfg, err := RepoSources(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Sources) != 1 || cfg.Sources[0].Name != DefaultSourceName || cfg.Sources[0].Path != root {
		t.Fatalf("sources = %+v", cfg.Sources)
	}
	src := cfg.Sources[0]
	for p, want := range map[string]bool{
		"README.md": true, "docs/security.md": true, "deploy/compose/servers.yaml": true,
		"mcp-docs/testdata/distractors/README.md": false, "e2e/README.md": false, "go.work": false, "mcp-docs/go.mod": false,
	} {
		if got := src.Wanted(p); got != want {
			t.Errorf("Wanted(%q) = %v, want %v", p, got, want)
		}
	}
}

// TestRepoRootFromWorkingDirectory: run from inside the repository (a
// subfolder too), the root is found; from elsewhere, the error says to
// give --config.
func TestRepoRootFromWorkingDirectory(t *testing.T) {
	wd, _ := os.Getwd()
	t.Cleanup(func() { os.Chdir(wd) })
	// This package lives in the repository: three levels up is its root.
	want, _ := filepath.Abs(filepath.Join(wd, "..", "..", ".."))
	if err := os.Chdir(filepath.Join(want, "docs")); err != nil {
		t.Fatal(err)
	}
	got, err := RepoRoot()
	if err != nil || got != want {
		t.Fatalf("RepoRoot() = %q, %v; want %q", got, err, want)
	}
	if err := os.Chdir(t.TempDir()); err != nil {
		t.Fatal(err)
	}
	// The test binary lives in a temp folder: nothing above it is a root.
	if got, err := RepoRoot(); err == nil {
		t.Fatalf("RepoRoot() from a temp folder = %q, want an error", got)
	} else if !strings.Contains(err.Error(), "give --config") {
		t.Fatalf("error %q does not say what to do", err)
	}
}

// TestRepoRootOwnedByAnotherUserRefused: the root is looked for in the
// working directory's parents; in a shared folder (/tmp) another user
// can plant go.work, README.md, docs/ and mcp-docs/ above where the
// server runs and have their files served as this repository's. As git
// does for its repositories (safe.directory), a root, and each of those
// entries, must belong to the user running the server or to root.
func TestRepoRootOwnedByAnotherUserRefused(t *testing.T) {
	root := t.TempDir()
	for _, p := range []string{"go.work", "README.md", "docs/a.md", "mcp-docs/go.mod"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(root, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, p), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if !isRepoRoot(root) {
		t.Fatal("the runner's own root is a root")
	}
	// As root, hand the files to nobody; as anyone else, ask as another
	// user: either way the files belong to someone else.
	uid := os.Getuid()
	if uid == 0 {
		for _, p := range []string{"go.work", "docs"} {
			if err := os.Lchown(filepath.Join(root, p), 65534, 65534); err != nil {
				t.Fatal(err)
			}
			if ownedByTrusted(root, uid) {
				t.Fatalf("%s belongs to nobody, yet the root was trusted", p)
			}
			if err := os.Lchown(filepath.Join(root, p), 0, 0); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Lchown(root, 65534, 65534); err != nil {
			t.Fatal(err)
		}
		if ownedByTrusted(root, uid) || isRepoRoot(root) {
			t.Fatal("a root folder belonging to nobody was trusted")
		}
	} else if ownedByTrusted(root, uid+1) {
		t.Fatal("files of another user were trusted")
	}
}
