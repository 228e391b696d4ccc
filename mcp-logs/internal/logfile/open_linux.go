package logfile

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// noOpenat2 is set once the kernel (or a seccomp filter) refused the
// openat2 system call; tests set it to exercise the fallback.
var noOpenat2 atomic.Bool

// openBeneath opens rel (a clean path without "..") under the directory
// root for reading, such that what is opened is proven to be a regular
// file beneath root reached without following any symlink: a path checked
// before and swapped for a symlink since is refused, not followed.
// openat2 with RESOLVE_BENEATH and RESOLVE_NO_SYMLINKS does that in the
// kernel; without openat2, each component is opened with O_NOFOLLOW from
// its parent's descriptor. O_NONBLOCK keeps a FIFO from blocking the open.
func openBeneath(root, rel, name string) (*os.File, error) {
	if rel == "" || rel == "." || strings.HasPrefix(rel, "/") || rel == ".." || strings.HasPrefix(rel, "../") || strings.Contains(rel, "/../") || strings.HasSuffix(rel, "/..") {
		return nil, fmt.Errorf("%s: %w", name, ErrOutside)
	}
	dir, err := unix.Open(root, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return nil, fmt.Errorf("open root %s: %w", root, err)
	}
	defer unix.Close(dir)
	const flags = unix.O_RDONLY | unix.O_CLOEXEC | unix.O_NOFOLLOW | unix.O_NONBLOCK | unix.O_NOCTTY
	fd := -1
	if !noOpenat2.Load() {
		fd, err = unix.Openat2(dir, rel, &unix.OpenHow{Flags: flags, Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS})
		if errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EPERM) {
			noOpenat2.Store(true) // old kernel, or a seccomp profile without it
		}
	}
	if noOpenat2.Load() {
		fd, err = walkOpen(dir, rel, flags)
	}
	if err != nil {
		if errors.Is(err, unix.ELOOP) || errors.Is(err, unix.EXDEV) {
			return nil, fmt.Errorf("%s: a symlink on the way (changed since it was listed?): %w", name, ErrOutside)
		}
		return nil, fmt.Errorf("open %s: %w", name, err)
	}
	f := os.NewFile(uintptr(fd), name)
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("stat %s: %w", name, err)
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s: not a regular file", name)
	}
	return f, nil
}

// walkOpen opens rel under dir one component at a time, never following a
// symlink.
func walkOpen(dir int, rel string, flags int) (int, error) {
	parts := strings.Split(rel, "/")
	cur := dir
	for i, p := range parts {
		if p == "" || p == "." || p == ".." {
			if cur != dir {
				unix.Close(cur)
			}
			return -1, fmt.Errorf("path component %q: %w", p, ErrOutside)
		}
		fl := unix.O_RDONLY | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC
		if i == len(parts)-1 {
			fl = flags
		}
		fd, err := unix.Openat(cur, p, fl, 0)
		if cur != dir {
			unix.Close(cur)
		}
		if err != nil {
			if errors.Is(err, unix.ENOTDIR) && i < len(parts)-1 {
				err = unix.ELOOP // a symlink to a directory is not followed either
			}
			return -1, err
		}
		cur = fd
	}
	return cur, nil
}
