package audit

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAuditFileRotatesAndKeepsBackups: a file audit log is cut at
// --audit-max-mb and keeps --audit-backups old files (compressed), never
// more, and every line still parses after the cuts.
func TestAuditFileRotatesAndKeepsBackups(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.log")
	l, err := Open(path, 1, 2)
	require.NoError(t, err)
	// ~4.5 MB of records: four cuts at 1 MB, of which two are kept.
	pad := strings.Repeat("x", 1000)
	for i := 0; i < 4500; i++ {
		require.NoError(t, l.Write(Record{TS: time.Now(), Server: "s", Tool: "t", User: "u", Error: pad, Outcome: Error}))
	}
	require.NoError(t, l.Close())
	var backups []string
	require.Eventually(t, func() bool {
		backups, _ = filepath.Glob(filepath.Join(dir, "audit-*.log.gz"))
		plain, _ := filepath.Glob(filepath.Join(dir, "audit-*.log"))
		// Compression and pruning run in the background after a cut.
		return len(backups) == 2 && len(plain) == 0
	}, 10*time.Second, 50*time.Millisecond, "want exactly 2 compressed backups, have %v", backups)
	st, err := os.Stat(path)
	require.NoError(t, err)
	assert.LessOrEqual(t, st.Size(), int64(1<<20), "the live file is cut at 1 MB")
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm(), "the live file stays private after a cut")
	all, _ := os.ReadDir(dir)
	assert.Len(t, all, 3, "the live file and 2 backups, nothing else")
}

// failing is a writer that always fails, like a full disk.
type failing struct{}

func (failing) Write([]byte) (int, error) { return 0, errors.New("no space left on device") }

// TestAuditWriteFailuresCounted: a record that cannot be written is
// counted in opsmcp_audit_write_failures_total, which the alert
// OpsmcpAuditWriteFailures (deploy/monitoring) watches.
func TestAuditWriteFailuresCounted(t *testing.T) {
	l := New(failing{})
	c := l.Collector("mcp-test")
	reg := prometheus.NewRegistry()
	require.NoError(t, reg.Register(c))
	assert.Error(t, l.Write(Record{Tool: "t"}))
	assert.Error(t, l.Write(Record{Tool: "t"}))
	assert.Equal(t, 2.0, testutil.ToFloat64(c))
	n, err := testutil.GatherAndCount(reg, "opsmcp_audit_write_failures_total")
	require.NoError(t, err)
	assert.Equal(t, 1, n)

	ok := New(&strings.Builder{})
	require.NoError(t, ok.Write(Record{Tool: "t"}))
	assert.Equal(t, 0.0, testutil.ToFloat64(ok.Collector("mcp-test")), "a written record is no failure")
}
