// Package logfile reads log files under configured roots, read-only and
// streaming: plain, rotated (app.log.1) and gzip files, searched by RE2
// with time, level and JSON-field filters, and tailed, without ever
// loading a file whole.
package logfile

import (
	"bufio"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/opsmcp/opsmcp/shared/fsroot"
)

// ErrNoRoots is returned by every file operation when no root is set.
var ErrNoRoots = errors.New("no log file roots are configured: start the server with --files-root DIR (repeatable) to read log files")

// ErrOutside is wrapped by every refusal of a path outside the roots.
var ErrOutside = fsroot.ErrOutside

// Roots are the directories the file tools may read.
type Roots struct {
	*fsroot.Set
}

// NewRoots checks each directory once (see fsroot).
func NewRoots(dirs []string) (*Roots, error) {
	s, err := fsroot.New("log file roots", dirs)
	if err != nil {
		return nil, err
	}
	return &Roots{Set: s}, nil
}

// Resolve returns the real path of a regular log file inside a root; p is
// absolute or relative to a root, and neither ".." nor a symlink leaves.
func (r *Roots) Resolve(p string) (string, error) {
	real, err := r.Set.Resolve(p)
	if errors.Is(err, fsroot.ErrNoRoots) {
		return "", ErrNoRoots
	}
	return real, err
}

// File is one log file.
type File struct {
	Path    string
	Size    int64
	ModTime time.Time
	Gzip    bool
	// root is the directory the file is opened beneath (see openBeneath).
	root string
}

// List returns the log files under the roots whose path relative to their
// root, or whose base name, matches glob ("" matches all), newest
// modification first. Symlinks are followed only to files inside a root;
// binary files are left out. It stops at max files and says so.
func (r *Roots) List(glob string, max int) ([]File, bool, error) {
	if len(r.Dirs()) == 0 {
		return nil, false, ErrNoRoots
	}
	if glob != "" {
		if _, err := filepath.Match(glob, ""); err != nil {
			return nil, false, fmt.Errorf("path glob %q: %w", glob, err)
		}
	}
	var files []File
	seen := map[string]bool{}
	more := false
	for _, root := range r.Dirs() {
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return nil // unreadable entries are skipped, not fatal
			}
			if d.IsDir() {
				return nil
			}
			rel, _ := filepath.Rel(root, p)
			if glob != "" && !globMatch(glob, rel) {
				return nil
			}
			real, err := filepath.EvalSymlinks(p)
			if err != nil || !r.Inside(real) || seen[real] {
				return nil
			}
			st, err := os.Stat(real)
			if err != nil || !st.Mode().IsRegular() {
				return nil
			}
			home := r.rootOf(real)
			gz, text := sniff(home, real)
			if !text {
				return nil
			}
			if len(files) >= max {
				more = true
				return filepath.SkipAll
			}
			seen[real] = true
			files = append(files, File{Path: real, Size: st.Size(), ModTime: st.ModTime(), Gzip: gz, root: home})
			return nil
		})
		if err != nil {
			return nil, false, fmt.Errorf("list %s: %w", root, err)
		}
	}
	SortNewest(files)
	return files, more, nil
}

// SortNewest orders files newest modification first, so app.log comes
// before app.log.1 and app.log.2.gz.
func SortNewest(files []File) {
	sort.SliceStable(files, func(i, j int) bool {
		if !files[i].ModTime.Equal(files[j].ModTime) {
			return files[i].ModTime.After(files[j].ModTime)
		}
		return files[i].Path < files[j].Path
	})
}

func globMatch(glob, rel string) bool {
	if ok, _ := filepath.Match(glob, rel); ok {
		return true
	}
	if !strings.Contains(glob, "/") {
		ok, _ := filepath.Match(glob, filepath.Base(rel))
		return ok
	}
	return false
}

// rootOf is the root a real path inside the roots is under (the deepest,
// when roots nest).
func (r *Roots) rootOf(real string) string {
	best := ""
	for _, d := range r.Dirs() {
		if (real == d || strings.HasPrefix(real, d+string(filepath.Separator))) && len(d) > len(best) {
			best = d
		}
	}
	return best
}

// Stat describes one resolved file (a real path inside the roots), to be
// opened beneath its root.
func (r *Roots) Stat(path string) (File, error) {
	home := r.rootOf(path)
	if home == "" {
		return File{}, fmt.Errorf("%s: %w", path, ErrOutside)
	}
	return stat(home, path)
}

// sniff reports whether a file is gzip and whether it holds text: no NUL
// byte in its first 512 bytes (after decompression).
func sniff(root, path string) (gz, text bool) {
	f, err := openFile(root, path)
	if err != nil {
		return false, false
	}
	defer f.Close()
	br := bufio.NewReader(f)
	magic, _ := br.Peek(2)
	var rd io.Reader = br
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		gz = true
		zr, err := gzip.NewReader(br)
		if err != nil {
			return true, false
		}
		rd = zr
	}
	head := make([]byte, 512)
	n, _ := io.ReadFull(rd, head)
	for _, c := range head[:n] {
		if c == 0 {
			return gz, false
		}
	}
	return gz, true
}

// Stat describes one file, opened beneath its own directory (tests and
// benchmarks; the tools use Roots.Stat).
func Stat(path string) (File, error) {
	return stat(filepath.Dir(path), path)
}

func stat(root, path string) (File, error) {
	fh, err := openFile(root, path)
	if err != nil {
		return File{}, err
	}
	st, err := fh.Stat()
	fh.Close()
	if err != nil {
		return File{}, err
	}
	gz, text := sniff(root, path)
	if !text {
		return File{}, fmt.Errorf("%s: not a text log file", path)
	}
	return File{Path: path, Size: st.Size(), ModTime: st.ModTime(), Gzip: gz, root: root}, nil
}

// openFile opens path (a real path under root) beneath root.
func openFile(root, path string) (*os.File, error) {
	rel, err := filepath.Rel(root, path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, ErrOutside)
	}
	return openBeneath(root, filepath.ToSlash(rel), path)
}

// text is a file's text: the plain file itself (file set, seekable), or
// its gzip stream.
type text struct {
	io.Reader
	file   *os.File
	closer io.Closer
}

func (t *text) Close() error { return t.closer.Close() }

// openText opens f beneath its root and returns its text, decompressed
// when it is gzip; reads stop when ctx is done.
func openText(ctx context.Context, f File) (*text, error) {
	root := f.root
	if root == "" {
		root = filepath.Dir(f.Path)
	}
	fh, err := openFile(root, f.Path)
	if err != nil {
		return nil, err
	}
	if !f.Gzip {
		return &text{Reader: fh, file: fh, closer: fh}, nil
	}
	zr, err := gzip.NewReader(bufio.NewReaderSize(ctxReader{ctx, fh}, 256<<10))
	if err != nil {
		fh.Close()
		return nil, fmt.Errorf("%s: %w", f.Path, err)
	}
	return &text{Reader: zr, closer: fh}, nil
}
