package engine

import (
	"context"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/moby/moby/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsmcp/opsmcp/shared/readonly"
)

// TestWritesNeverLeave: a write through the Docker client is refused in
// the process; the engine (a recorder here) sees only the reads.
func TestWritesNeverLeave(t *testing.T) {
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Method+" "+r.URL.Path)
		w.Header().Set("Api-Version", "1.41")
		w.Write([]byte("[]"))
	}))
	defer srv.Close()
	t.Setenv("DOCKER_HOST", "tcp://"+strings.TrimPrefix(srv.URL, "http://"))
	h, err := New(nil)
	require.NoError(t, err)
	cl, err := h.Get("")
	require.NoError(t, err)
	ctx := context.Background()
	_, err = cl.ServiceRemove(ctx, "web", client.ServiceRemoveOptions{})
	assert.ErrorIs(t, err, readonly.ErrRefused)
	_, err = cl.ServiceList(ctx, client.ServiceListOptions{})
	require.NoError(t, err)
	for _, g := range got {
		assert.Regexp(t, `^(GET|HEAD) `, g)
	}
	assert.NotEmpty(t, got)
}

// TestNoWriteCalls scans mcp-swarm's sources: no client call that
// creates, updates, removes, execs, attaches or pushes.
func TestNoWriteCalls(t *testing.T) {
	bad := regexp.MustCompile(`\.\w*(Create|Update|Remove|Prune|Exec|Attach|Kill|Start|Stop|Restart|Push|Pull|Rollback|Leave|Join|Init|Unlock|Load|Import|Commit|Rename|Pause|Tag)\w*\(`)
	allowed := regexp.MustCompile(`filepath\.Join|strings\.Join|cmd\.Start\(\)|Process\.Kill\(\)|loader\.LoadWithContext|UpdatedAt|UpdateStatus|Stop\(\)|time\.|strings\.|sort\.|Start[A-Z]|HasPrefix`)
	hits, files, err := readonly.Scan("../..", bad, allowed)
	require.NoError(t, err)
	assert.Empty(t, hits, "write calls")
	assert.Greater(t, files, 4)
}

func TestHosts(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix:///nonexistent.sock")
	h, err := New([]string{"prod=tcp://127.0.0.1:2376"})
	require.NoError(t, err)
	assert.Equal(t, []string{"default", "prod"}, h.Names())
	_, err = h.Get("staging")
	assert.ErrorContains(t, err, "unknown docker host \"staging\"; known: default, prod")
	_, err = New([]string{"no-url"})
	assert.ErrorContains(t, err, "use name=url")
	// A host's name is what callers pass: Docker's name grammar, once.
	for _, bad := range []string{"../x=tcp://127.0.0.1:2376", "a/b=tcp://127.0.0.1:2376", ".x=tcp://127.0.0.1:2376", "a b=tcp://127.0.0.1:2376"} {
		_, err = New([]string{bad})
		assert.ErrorContains(t, err, "must be letters, digits", bad)
	}
	_, err = New([]string{"prod=tcp://127.0.0.1:2376", "prod=tcp://127.0.0.1:2377"})
	assert.ErrorContains(t, err, "already taken")
	_, err = New([]string{"default=tcp://127.0.0.1:2376"})
	assert.ErrorContains(t, err, "already taken", "the default engine's name is taken")
}

// TestTLSHost reaches an engine over TLS with the CA from a docker-style
// certificate directory.
func TestTLSHost(t *testing.T) {
	var got []string
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Method+" "+r.URL.Path)
		w.Header().Set("Api-Version", "1.41")
		w.Write([]byte("[]"))
	}))
	defer srv.Close()
	certs := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(certs, "ca.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600))
	t.Setenv("DOCKER_HOST", "unix:///nonexistent.sock")
	host := "tcp://" + strings.TrimPrefix(srv.URL, "https://")
	h, err := New([]string{"prod=" + host + ",certs=" + certs})
	require.NoError(t, err)
	cl, _ := h.Get("prod")
	_, err = cl.ServiceList(context.Background(), client.ServiceListOptions{})
	require.NoError(t, err)
	assert.Contains(t, got, "GET /v1.41/services")

	plain, err := New([]string{"prod=" + host})
	require.NoError(t, err)
	cl, _ = plain.Get("prod")
	_, err = cl.ServiceList(context.Background(), client.ServiceListOptions{})
	assert.Error(t, err, "without the certs the TLS engine is not reached")
	_, err = New([]string{"prod=" + host + ",certs=/nonexistent"})
	assert.ErrorContains(t, err, "certs /nonexistent")
}
