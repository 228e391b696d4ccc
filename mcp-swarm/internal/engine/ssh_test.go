package engine

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moby/moby/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMain lets this test binary stand in for ssh (a fake, as no sshd
// runs here): with OPSMCP_FAKE_SSH_SOCKET set it records its arguments
// and pipes stdin/stdout to that unix socket, as `docker system
// dial-stdio` pipes them to the engine's socket on the remote host.
func TestMain(m *testing.M) {
	if sock := os.Getenv("OPSMCP_FAKE_SSH_SOCKET"); sock != "" {
		os.WriteFile(os.Getenv("OPSMCP_FAKE_SSH_ARGS"), []byte(strings.Join(os.Args[1:], " ")), 0o600)
		conn, err := net.Dial("unix", sock)
		if err != nil {
			os.Exit(2)
		}
		go io.Copy(conn, os.Stdin)
		io.Copy(os.Stdout, conn)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestSSHHost(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "d.sock")
	l, err := net.Listen("unix", sock)
	require.NoError(t, err)
	var got []string
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Method+" "+r.URL.Path)
		w.Header().Set("Api-Version", "1.41")
		w.Write([]byte("[]"))
	})}
	go srv.Serve(l)
	defer srv.Close()
	argsFile := filepath.Join(dir, "args")
	t.Setenv("OPSMCP_FAKE_SSH_SOCKET", sock)
	t.Setenv("OPSMCP_FAKE_SSH_ARGS", argsFile)
	sshCommand = os.Args[0]
	defer func() { sshCommand = "ssh" }()

	h, err := New([]string{"edge=ssh://ops@swarm-1.example:2222"})
	require.NoError(t, err)
	cl, err := h.Get("edge")
	require.NoError(t, err)
	res, err := cl.ServiceList(context.Background(), client.ServiceListOptions{})
	require.NoError(t, err)
	assert.Empty(t, res.Items)
	assert.Contains(t, got, "GET /v1.41/services")
	args, _ := os.ReadFile(argsFile)
	assert.Equal(t, "-o BatchMode=yes -l ops -p 2222 -- swarm-1.example docker system dial-stdio", string(args))
	_, err = New([]string{"bad=ssh://"})
	assert.ErrorContains(t, err, "want ssh://[user@]host[:port]")
}
