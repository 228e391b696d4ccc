package harness

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Chromium is Debian's chromium unpacked by e2e/upstreams/parts/chromium.sh
// (never installed): the binary, and the library path it runs with.
type Chromium struct {
	Bin  string
	root string
}

// FindChromium unpacks chromium into the cache (once) and returns it.
func FindChromium() (*Chromium, error) {
	if _, err := Upstreams("chromium"); err != nil {
		return nil, err
	}
	root := filepath.Join(CacheDir(), "chromium", "root")
	c := &Chromium{Bin: filepath.Join(root, "usr", "lib", "chromium", "chromium"), root: root}
	if _, err := os.Stat(c.Bin); err != nil {
		return nil, fmt.Errorf("chromium: not unpacked (e2e/upstreams/build.sh chromium): %w", err)
	}
	return c, nil
}

// Command is chromium headless with args, its libraries found in the
// cache first, in a throwaway profile under dir; it reaches nothing (no
// proxy, no background networking) and runs without its sandbox (which
// needs a setuid helper or user namespaces a CI container may lack).
func (c *Chromium) Command(ctx context.Context, dir string, args ...string) *exec.Cmd {
	var libs []string
	for _, d := range []string{"usr/lib/x86_64-linux-gnu", "lib/x86_64-linux-gnu", "usr/lib/x86_64-linux-gnu/pulseaudio", "usr/lib/chromium"} {
		libs = append(libs, filepath.Join(c.root, d))
	}
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--no-proxy-server", "--user-data-dir=" + filepath.Join(dir, "chromium-profile")}
	cmd := exec.CommandContext(ctx, c.Bin, append(base, args...)...)
	cmd.Env = append(os.Environ(), "LD_LIBRARY_PATH="+strings.Join(libs, ":"), "HOME="+dir)
	return cmd
}
