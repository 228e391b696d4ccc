//go:build !linux

package logfile

import (
	"fmt"
	"os"
	"path/filepath"
)

// openBeneath opens root/rel and checks, after opening, that it is the
// regular file the symlink-free path names: without openat2, a swap in
// between is caught by comparing the open file with a fresh lookup.
func openBeneath(root, rel, name string) (*os.File, error) {
	p := filepath.Join(root, rel)
	real, err := filepath.EvalSymlinks(p)
	if err != nil || real != p {
		return nil, fmt.Errorf("%s: a symlink on the way: %w", name, ErrOutside)
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	lst, lerr := os.Lstat(p)
	if err != nil || lerr != nil || !st.Mode().IsRegular() || !os.SameFile(st, lst) {
		f.Close()
		return nil, fmt.Errorf("%s: not a regular file beneath the root", name)
	}
	return f, nil
}
