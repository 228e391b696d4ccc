package mask

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestRedteam2Forms: forms the masker missed, found by a second red-team
// pass: signed URLs (an S3 or GCS presigned URL, an Azure SAS) carry a
// signature that is the credential itself, good until it expires, and CI
// logs show registry logins with -p. Each planted value is masked; the
// look-alikes beside them that are not secrets stay.
func TestRedteam2Forms(t *testing.T) {
	m := New([]byte("k"))
	leaks := map[string]string{
		"https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=20260101T000000Z&X-Amz-Signature=5f4dcc3b5aa765d61d8327deb882cf995f4dcc3b5aa765d61d8327deb882cf99": "5f4dcc3b5aa765d6",
		"https://storage.googleapis.com/b/o?X-Goog-Algorithm=GOOG4-RSA-SHA256&X-Goog-Signature=7a1c9e0b44f2d8a3c6b5e4f3a2b1c0d9e8f7a6b5": "7a1c9e0b44f2d8a3",
		"https://acct.blob.core.windows.net/c/b?sv=2021-08-06&se=2026-12-01&sr=b&sp=r&sig=Qm9vWmFyQmF6%2BUXV4eFl6enk%3D":       "Qm9vWmFyQmF6",
		`GET /files/report.pdf?expires=1767225600&signature=c2lnbmVkLXZhbHVlLTEyMzQ1Njc4 HTTP/1.1`:                                "c2lnbmVkLXZhbHVl",
		"docker login -u ci-bot -p Ci3Reg1stryPass registry.example.com":                                                           "Ci3Reg1stryPass",
		"podman login -u ci-bot -pCi3Reg1stryPass registry.example.com":                                                            "Ci3Reg1stryPass",
		"az login --service-principal -u http://app -p Sp7Pass-Word.value --tenant t":                                              "Sp7Pass-Word",
		"helm registry login reg.example.com -u bob -p 'He1mPass!x'":                                                               "He1mPass",
	}
	for in, secret := range leaks {
		out, _ := m.Text(in)
		assert.NotContains(t, out, secret, "%s", in)
	}
	keep := map[string][]string{
		"docker run -p 8080:80 -e MODE=login nginx":                       {"8080:80"},
		"ssh -p 2222 deploy@host 'login -p 22'":                           {"2222"},
		"gpg: Good signature from \"Release Key\"":                        {"Good signature"},
		"verify --signature-file app.sig --key cosign.pub":                {"app.sig", "cosign.pub"},
		"signature: verified, sig_alg=RS256":                              {"verified", "RS256"},
		"GET /x?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=900 HTTP": {"AWS4-HMAC-SHA256", "900"},
	}
	for in, parts := range keep {
		out, _ := m.Text(in)
		for _, p := range parts {
			assert.True(t, strings.Contains(out, p), "%q was masked in %q: %q", p, in, out)
		}
	}
}
