package mask

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestRedTeam5ShapesStayLinear: shapes made of the triggers of this
// round's fast paths that TestScannersStayLinear does not build: header
// anchors with only white space after them (the bounded read counts
// runs, not bytes), leads before anchors, hints where a token regexp is
// tried and fails, schemes of digits, passwords full of '@', IPv6 hosts,
// a 10,000-line key, a Secret manifest that says so last. Each was
// linear against 568bd3b's masker in a size-doubling run; 5 s for
// 256 KiB holds any of them 100 times over.
func TestRedTeam5ShapesStayLinear(t *testing.T) {
	m := New(testKey)
	for _, unit := range []string{
		"Authorization: \n\n\n\n\n\n\n\n", "authorization authorization ", "proxy-proxy-authorization=", "x-api-key:\n \n \n \n ",
		"Authorization: Bearer\n\t" + strings.Repeat("t", 40) + "\n",
		"sk-", " sk-" + strings.Repeat("a", 30), "-SWMTKN-1-" + strings.Repeat("a", 25) + "-", " AKIAAKIAAKIAAKIA", "ya29.", "xoxb-xoxb",
		"1111111111://", "a://u:p@", "https://u%40x:p%3Ass@[::1]:8443/a@b ", "h://" + strings.Repeat("A1", 30) + "-",
		"  MIIEowIBAAKCAQEAx9j3kLm0pQ+/AbCdEf==\r\n", "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----BEGIN EC PRIVATE KEY-----\n",
		"  k: dmFsdWU=\n", "identified by 'x''",
	} {
		s := fill(unit, 256<<10)
		switch {
		case strings.HasPrefix(unit, "  MIIE"):
			s = "-----BEGIN RSA PRIVATE KEY-----\r\n" + s + "-----END RSA PRIVATE KEY-----\r\n"
		case strings.HasPrefix(unit, "  k:"):
			s = "data:\n" + s + "kind: Secret\n"
		}
		start := time.Now()
		m.Text(s)
		d := time.Since(start)
		assert.Less(t, d, 5*time.Second, "%q ×%d took %v", unit[:min(len(unit), 40)], len(s)/len(unit), d)
	}
}

// TestRedTeam5HostileFormsStayMasked: secrets in the forms this round's
// scanners and fast paths read differently from the regexps they
// replaced are masked, and what sits beside them (hosts, an IPv6
// address, SHAs, digests, a ConfigMap's value) stays.
func TestRedTeam5HostileFormsStayMasked(t *testing.T) {
	const jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
	const body = "MIIEowIBAAKCAQEAx9j3kLm0pQRedTeamFivePemBody"
	m := New(testKey)
	for _, c := range []struct {
		in           string
		hidden, kept []string
	}{
		{"redis://:p@ss:w%40rd@x@[::1]:6379/0", []string{"p@ss:w%40rd@x"}, []string{"@[::1]:6379/0"}},
		{"git clone https://ghx0123456789abcdefghij@gitea.internal/ops/infra.git", []string{"ghx0123456789abcdefghij"}, []string{"@gitea.internal/ops/infra.git"}},
		{"x-" + jwt + " and (" + jwt + ")", []string{jwt}, nil},
		{"  -----BEGIN RSA PRIVATE KEY-----\r\n  " + body + "\r\n  -----END RSA PRIVATE KEY-----\r\nnext", []string{body}, []string{"next"}},
		{"key: |\n  -----BEGIN OPENSSH PRIVATE KEY-----\n  " + body + "\n  b3BlbnNzaC1rZXktdjE", []string{body, "b3BlbnNzaC1rZXktdjE"}, []string{"key: |"}},
		{"-----BEGIN EC PRIVATE KEY-----\n" + body + "A\n-----BEGIN RSA PRIVATE KEY-----\n" + body + "B\n-----END RSA PRIVATE KEY-----\nafter", []string{body + "A", body + "B"}, []string{"after"}},
		{"Authorization: Bearer\n\tRedTeam5FoldedBearerToken0123456789", []string{"RedTeam5FoldedBearerToken0123456789"}, []string{"Bearer"}},
		{"X-Api-\u212aey: RedTeam5KelvinKeyValue0123", []string{"RedTeam5KelvinKeyValue0123"}, nil},
		{"apiVersion: v1\ndata:\n  tls.key: UmVkVGVhbTVMYXRlU2VjcmV0\nkind: Secret\n", []string{"UmVkVGVhbTVMYXRlU2VjcmV0"}, []string{"tls.key:"}},
		{"kind: ConfigMap\ndata:\n  mode: visible-config-value\n---\nkind: Secret\ndata:\n  b: UmVkVGVhbTVTZWNvbmREb2M=\n", []string{"UmVkVGVhbTVTZWNvbmREb2M="}, []string{"visible-config-value"}},
		{"token=RedTeam5Repeated0123456789 then RedTeam5Repeated012345678 and RedTeam5Repeated0123456789.", []string{"RedTeam5Repeated0123456789"}, []string{"RedTeam5Repeated012345678 and"}},
		{"commit 3f786850e387550fdab836ed7e6dc881de23001b image web@sha256:9b2a4c1f5e8d7a6b3c0f1e2d4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b on 10.0.0.1 and fe80::1 db.internal.example.com", nil,
			[]string{"3f786850e387550fdab836ed7e6dc881de23001b", "sha256:9b2a4c1f5e8d7a6b3c0f1e2d4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b", "10.0.0.1", "fe80::1", "db.internal.example.com"}},
	} {
		out, _ := m.Text(c.in)
		for _, h := range c.hidden {
			assert.NotContains(t, out, h, "in %q", c.in)
		}
		for _, k := range c.kept {
			assert.Contains(t, out, k, "in %q", c.in)
		}
	}
}
