package harness

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Swarm is a real dockerd (Debian's engine, unpacked) in Swarm mode on
// loopback, with a local busybox image (no pulls are possible here).
type Swarm struct {
	// Host is the engine's address for clients (unix://...).
	Host   string
	Proc   *Proc
	dir    string
	root   string // the unpacked packages
	env    []string
	execRt string
	// made are host paths dockerd creates that did not exist before.
	made []string
}

// BusyboxImage is the image every test service runs.
const BusyboxImage = "local/busybox:latest"

// StartSwarm unpacks the engine (once), starts dockerd in dir with host
// networking left alone, inits a single-node swarm on 127.0.0.1 and
// imports the busybox image. It needs root.
func StartSwarm(ctx context.Context, dir string) (*Swarm, error) {
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("the Swarm harness needs root (dockerd)")
	}
	if _, err := Upstreams("docker"); err != nil {
		return nil, err
	}
	cache := os.Getenv("OPSMCP_E2E_CACHE")
	if cache == "" {
		base := os.Getenv("XDG_CACHE_HOME")
		if base == "" {
			base = filepath.Join(os.Getenv("HOME"), ".cache")
		}
		cache = filepath.Join(base, "opsmcp-e2e")
	}
	root := filepath.Join(cache, "docker-20.10.24", "root")
	// Short paths: unix socket paths are limited to 108 bytes.
	work, err := os.MkdirTemp("", "osw-")
	if err != nil {
		return nil, err
	}
	s := &Swarm{dir: work, root: root, execRt: filepath.Join(work, "x")}
	for _, p := range []string{"/run/containerd", "/run/docker"} {
		if _, err := os.Stat(p); os.IsNotExist(err) {
			s.made = append(s.made, p)
		}
	}
	path := strings.Join([]string{filepath.Join(root, "usr/bin"), filepath.Join(root, "usr/sbin"), os.Getenv("PATH")}, ":")
	s.env = append(os.Environ(), "PATH="+path)
	cfg := filepath.Join(work, "daemon.json")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`{"deprecated-key-path": %q}`, filepath.Join(work, "key.json"))), 0o600); err != nil {
		return nil, err
	}
	sock := filepath.Join(work, "d.sock")
	s.Host = "unix://" + sock
	cmd := exec.Command(filepath.Join(root, "usr/sbin/dockerd"),
		"--config-file", cfg, "--data-root", filepath.Join(work, "data"), "--exec-root", s.execRt,
		"--pidfile", filepath.Join(work, "d.pid"), "-H", s.Host,
		"--iptables=false", "--ip6tables=false", "--ip-forward=false", "--ip-masq=false", "--bridge=none",
		// Debug logs name every API call ("Calling GET /v1.41/services"):
		// the read-only proof reads them.
		"--debug")
	cmd.Env = s.env
	logPath := filepath.Join(dir, "dockerd.log")
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = f, f
	if s.Proc, err = startCmd("dockerd", cmd, f, logPath); err != nil {
		return nil, err
	}
	client := &http.Client{Transport: &http.Transport{DialContext: unixDialer(sock)}}
	if err := WaitHTTP(ctx, s.Proc, "http://docker/_ping", "", client, 60*time.Second); err != nil {
		s.Stop()
		return nil, err
	}
	port, err := FreePort()
	if err != nil {
		s.Stop()
		return nil, err
	}
	if _, err := s.CLI(ctx, "swarm", "init", "--advertise-addr", "127.0.0.1", "--listen-addr", fmt.Sprintf("127.0.0.1:%d", port)); err != nil {
		s.Stop()
		return nil, err
	}
	if err := s.importBusybox(ctx); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

// importBusybox makes an image from the unpacked busybox-static: the
// binary and a link per applet the tests use.
func (s *Swarm) importBusybox(ctx context.Context) error {
	bin, err := os.ReadFile(filepath.Join(s.root, "bin/busybox"))
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "bin/", Typeflag: tar.TypeDir, Mode: 0o755})
	tw.WriteHeader(&tar.Header{Name: "bin/busybox", Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(bin))})
	tw.Write(bin)
	for _, applet := range []string{"sh", "echo", "sleep", "cat", "date", "true", "false", "env", "ls", "printf", "seq"} {
		tw.WriteHeader(&tar.Header{Name: "bin/" + applet, Typeflag: tar.TypeSymlink, Linkname: "busybox", Mode: 0o777})
	}
	tw.WriteHeader(&tar.Header{Name: "tmp/", Typeflag: tar.TypeDir, Mode: 0o1777})
	if err := tw.Close(); err != nil {
		return err
	}
	tarPath := filepath.Join(s.dir, "busybox.tar")
	if err := os.WriteFile(tarPath, buf.Bytes(), 0o644); err != nil {
		return err
	}
	_, err = s.CLI(ctx, "import", "-c", `CMD ["/bin/sh"]`, tarPath, BusyboxImage)
	return err
}

// LogSize is the current size of dockerd's log.
func (s *Swarm) LogSize() int64 {
	st, err := os.Stat(s.Proc.Log)
	if err != nil {
		return 0
	}
	return st.Size()
}

// Calls returns the API calls dockerd logged after the first skip bytes
// of its log, as "METHOD /path".
func (s *Swarm) Calls(skip int64) ([]string, error) {
	b, err := os.ReadFile(s.Proc.Log)
	if err != nil {
		return nil, err
	}
	if skip > int64(len(b)) {
		skip = int64(len(b))
	}
	var out []string
	for _, line := range strings.Split(string(b[skip:]), "\n") {
		i := strings.Index(line, `msg="Calling `)
		if i < 0 {
			continue
		}
		call := line[i+len(`msg="Calling `):]
		if j := strings.IndexByte(call, '"'); j >= 0 {
			call = call[:j]
		}
		out = append(out, call)
	}
	return out, nil
}

// Command is an exec.Cmd for the docker CLI against this engine, for
// tools that call docker themselves (make images).
func (s *Swarm) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(s.env, "DOCKER_HOST="+s.Host, "DOCKER_CONFIG="+filepath.Join(s.dir, "cli"))
	return cmd
}

// CLIPath is the docker CLI binary of the unpacked engine.
func (s *Swarm) CLIPath() string { return filepath.Join(s.root, "usr/bin/docker") }

// CLI runs the docker CLI against this engine.
func (s *Swarm) CLI(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(s.root, "usr/bin/docker"), append([]string{"-H", s.Host}, args...)...)
	cmd.Env = append(s.env, "DOCKER_CONFIG="+filepath.Join(s.dir, "cli"))
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("docker %s: %w: %s", strings.Join(args, " "), err, errb.String())
	}
	return strings.TrimSpace(out.String()), nil
}

// Stop removes services, stacks and containers, leaves the swarm, removes the
// gateway bridge Swarm made, stops dockerd and unmounts what it mounted,
// so nothing is left on the host.
func (s *Swarm) Stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if s.Proc != nil && !s.Proc.Exited() {
		if ids, err := s.CLI(ctx, "service", "ls", "-q"); err == nil && ids != "" {
			s.CLI(ctx, append([]string{"service", "rm"}, strings.Fields(ids)...)...)
		}
		// Containers outside the swarm too: one whose PID 1 ignores
		// SIGTERM (busybox sleep) would outlive dockerd's shutdown, shim
		// and all.
		if ids, err := s.CLI(ctx, "ps", "-aq"); err == nil && ids != "" {
			s.CLI(ctx, append([]string{"rm", "-f"}, strings.Fields(ids)...)...)
		}
		s.CLI(ctx, "swarm", "leave", "--force")
		s.CLI(ctx, "network", "rm", "docker_gwbridge")
		s.Proc.Stop()
	}
	syscall.Unmount(filepath.Join(s.execRt, "netns", "default"), syscall.MNT_DETACH)
	os.RemoveAll(s.dir)
	// Only empty directories go: another harness's dockerd (e2e packages
	// run in parallel) may have its shims' sockets under /run/containerd.
	for _, p := range s.made {
		removeEmptyDirs(p)
	}
}

// removeEmptyDirs removes dir and the directories under it that hold no
// file, deepest first, and never a file.
func removeEmptyDirs(dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if e.IsDir() {
			removeEmptyDirs(filepath.Join(dir, e.Name()))
		}
	}
	os.Remove(dir) // fails, as it should, while anything is left
}

func unixDialer(path string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", path)
	}
}

// Recording is a reverse proxy in front of dockerd's socket that records
// the method and the raw request URI of every request a client sends
// through it, before anything (Go's or dockerd's router) cleans the path:
// the proof of what a server under test asked the engine for, including
// requests dockerd would route elsewhere or refuse.
type Recording struct {
	// Host is the proxy's address for clients (DOCKER_HOST).
	Host string
	srv  *http.Server
	mu   sync.Mutex
	reqs []string
}

// StartRecording starts a recording proxy on a unix socket next to the
// engine's.
func (s *Swarm) StartRecording() (*Recording, error) {
	sock := filepath.Join(s.dir, "rec.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		return nil, fmt.Errorf("recording proxy: %w", err)
	}
	rec := &Recording{Host: "unix://" + sock}
	proxy := &httputil.ReverseProxy{
		// The outgoing URL keeps the incoming path byte for byte: only
		// where it goes changes.
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme, pr.Out.URL.Host, pr.Out.Host = "http", "docker", "docker"
		},
		Transport:     &http.Transport{DialContext: unixDialer(strings.TrimPrefix(s.Host, "unix://"))},
		FlushInterval: -1, // logs stream
	}
	// A bare handler, not a ServeMux: a mux would clean (and redirect)
	// the very paths this proxy exists to see.
	rec.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.mu.Lock()
		rec.reqs = append(rec.reqs, r.Method+" "+r.RequestURI)
		rec.mu.Unlock()
		proxy.ServeHTTP(w, r)
	}), ReadHeaderTimeout: 10 * time.Second}
	go rec.srv.Serve(ln)
	return rec, nil
}

// Requests returns every request recorded so far, as "METHOD URI".
func (r *Recording) Requests() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.reqs...)
}

// Close stops the proxy.
func (r *Recording) Close() { r.srv.Close() }
