package service

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"github.com/opsmcp/opsmcp/mcp-docs/internal/source"
)

// DefaultSourceName is the one source mcp-docs serves with no sources
// file: this repository's own README, docs/ and deploy/.
const DefaultSourceName = "opsmcp"

// The default is read from the repository on disk, not embedded with
// go:embed: go:embed cannot reach README.md, docs/ and deploy/ from the
// mcp-docs module's directory, and a copy kept inside it would go stale
// beside the files a newcomer is reading. A binary run from the
// repository (bin/mcp-docs, go run) finds them; one installed elsewhere
// says to give --config.

// RepoRoot finds this repository's root: the parent of the executable's
// folder (bin/mcp-docs), else the working directory or one of its
// parents. A root has go.work, README.md, docs/ and mcp-docs/.
func RepoRoot() (string, error) {
	var starts []string
	if exe, err := os.Executable(); err == nil {
		if real, err := filepath.EvalSymlinks(exe); err == nil {
			exe = real
		}
		starts = append(starts, filepath.Dir(filepath.Dir(exe)))
	}
	if wd, err := os.Getwd(); err == nil {
		for d := wd; ; d = filepath.Dir(d) {
			starts = append(starts, d)
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	for _, d := range starts {
		if isRepoRoot(d) {
			return d, nil
		}
	}
	return "", errors.New("no --config, and not run from the opsmcp repository (no go.work, README.md, docs/ and mcp-docs/ next to the binary's folder or above the working directory): give --config, a sources file listing folders and git repositories to index")
}

func isRepoRoot(d string) bool {
	for _, name := range repoMarkers {
		if _, err := os.Stat(filepath.Join(d, name)); err != nil {
			return false
		}
	}
	return ownedByTrusted(d, os.Getuid())
}

// repoMarkers are what a repository root holds.
var repoMarkers = []string{"go.work", "README.md", "docs", "mcp-docs"}

// ownedByTrusted reports whether d and its markers belong to uid or to
// root. The root is looked for above the working directory, so in a
// shared folder (/tmp) another user could plant a root above where the
// server runs and have their files served under this repository's name;
// git refuses such repositories the same way (safe.directory).
func ownedByTrusted(d string, uid int) bool {
	for _, p := range append([]string{d}, repoMarkers...) {
		if p != d {
			p = filepath.Join(d, p)
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return false
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok || (int(st.Uid) != uid && st.Uid != 0) {
			return false
		}
	}
	return true
}

// RepoSources is the sources config of the repository at root: one
// folder source holding README.md at the root and everything under
// docs/ and deploy/. Every other top-level folder is excluded by name,
// so the README.md files of test fixtures stay out.
func RepoSources(root string) (*source.Config, error) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, fmt.Errorf("read repository root: %w", err)
	}
	src := source.Source{Name: DefaultSourceName, Path: root, Include: []string{"README.md", "docs/**", "deploy/**"}}
	for _, e := range entries {
		if e.IsDir() && e.Name() != "docs" && e.Name() != "deploy" {
			src.Exclude = append(src.Exclude, e.Name()+"/**")
		}
	}
	return &source.Config{Sources: []source.Source{src}}, nil
}
