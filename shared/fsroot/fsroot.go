// Package fsroot confines file access to configured directories. Paths are
// compared after every symlink is resolved, so neither ".." nor a link
// can leave a root.
package fsroot

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// ErrNoRoots is wrapped when no root is configured.
var ErrNoRoots = errors.New("no roots are configured")

// ErrOutside is wrapped by every refusal of a path outside the roots.
var ErrOutside = errors.New("outside the roots")

// Set is a list of root directories, as real paths.
type Set struct {
	what string // for messages: "log file roots", "compose roots"
	dirs []string
}

// New checks each directory and resolves its symlinks once, so every
// later check compares real paths. what names the roots in messages.
func New(what string, dirs []string) (*Set, error) {
	s := &Set{what: what}
	for _, d := range dirs {
		abs, err := filepath.Abs(d)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", what, d, err)
		}
		real, err := filepath.EvalSymlinks(abs)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", what, d, err)
		}
		st, err := os.Stat(real)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", what, d, err)
		}
		if !st.IsDir() {
			return nil, fmt.Errorf("%s: %s: not a directory", what, d)
		}
		s.dirs = append(s.dirs, real)
	}
	return s, nil
}

// Dirs lists the roots.
func (s *Set) Dirs() []string { return append([]string(nil), s.dirs...) }

// Inside reports whether a real (symlink-free) path is in a root.
func (s *Set) Inside(real string) bool {
	for _, d := range s.dirs {
		if real == d || strings.HasPrefix(real, d+string(filepath.Separator)) {
			return true
		}
	}
	return false
}

type outside struct {
	path, what string
	dirs       []string
}

func (e *outside) Error() string {
	return fmt.Sprintf("%s: outside the %s (%s)", e.path, e.what, strings.Join(e.dirs, ", "))
}

func (e *outside) Is(target error) bool { return target == ErrOutside }

// Resolve returns the real path of a regular file inside a root. p is
// absolute, or relative to the first root that has it.
func (s *Set) Resolve(p string) (string, error) {
	if len(s.dirs) == 0 {
		return "", fmt.Errorf("%w (%s)", ErrNoRoots, s.what)
	}
	if p == "" {
		return "", fmt.Errorf("path is required")
	}
	candidates := []string{filepath.Clean(p)}
	if !filepath.IsAbs(p) {
		candidates = candidates[:0]
		for _, d := range s.dirs {
			candidates = append(candidates, filepath.Join(d, p))
		}
	}
	var lastErr error
	for _, c := range candidates {
		real, err := filepath.EvalSymlinks(c)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				lastErr = fmt.Errorf("%s: no such file under the %s (%s)", p, s.what, strings.Join(s.dirs, ", "))
				continue
			}
			return "", fmt.Errorf("%s: %w", p, err)
		}
		if !s.Inside(real) {
			return "", &outside{path: p, what: s.what, dirs: s.dirs}
		}
		st, err := os.Stat(real)
		if err != nil {
			return "", fmt.Errorf("%s: %w", p, err)
		}
		if !st.Mode().IsRegular() {
			return "", fmt.Errorf("%s: not a regular file", p)
		}
		return real, nil
	}
	return "", lastErr
}
