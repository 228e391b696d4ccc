package mask

import (
	"strings"
	"testing"
	"time"
)

// maskWithin masks s and fails when it takes longer than bound, without
// waiting for a runaway masker to finish.
func maskWithin(t *testing.T, m *Masker, s string, bound time.Duration) string {
	t.Helper()
	done := make(chan string, 1)
	start := time.Now()
	go func() { out, _ := m.Text(s); done <- out }()
	select {
	case out := <-done:
		return out
	case <-time.After(bound):
		t.Fatalf("masking %d bytes of %q… took over %v", len(s), s[:min(len(s), 40)], time.Since(start).Round(time.Millisecond))
		return ""
	}
}

// TestLongKeyRunsStayLinear: the key=value and flag line tests looked at
// the run of key characters around every occurrence of a hint, so a line
// that is one long run holding a hint every few bytes ("pwpwpw…", a long
// URL-safe base64 value) was read once per occurrence: 256 KiB of "pw"
// took minutes. The old masker (one hint test per line) took 0.25 s.
func TestLongKeyRunsStayLinear(t *testing.T) {
	m := New(testKey)
	for _, unit := range []string{"pw", "pass", "keyx-", "tokenpath_", "passwordfile.", "secret.", "cookie_", "dsn-auth-cred"} {
		for _, tail := range []string{"", " x", ": x"} {
			s := strings.Repeat(unit, (256<<10)/len(unit)) + tail
			maskWithin(t, m, s, 10*time.Second)
			maskWithin(t, m, "--"+s+" value9", 10*time.Second)
		}
	}
}
