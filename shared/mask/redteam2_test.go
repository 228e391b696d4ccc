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
		"https://storage.googleapis.com/b/o?X-Goog-Algorithm=GOOG4-RSA-SHA256&X-Goog-Signature=7a1c9e0b44f2d8a3c6b5e4f3a2b1c0d9e8f7a6b5":                                             "7a1c9e0b44f2d8a3",
		"https://acct.blob.core.windows.net/c/b?sv=2021-08-06&se=2026-12-01&sr=b&sp=r&sig=Qm9vWmFyQmF6%2BUXV4eFl6enk%3D":                                                             "Qm9vWmFyQmF6",
		`GET /files/report.pdf?expires=1767225600&signature=c2lnbmVkLXZhbHVlLTEyMzQ1Njc4 HTTP/1.1`:                                                                                   "c2lnbmVkLXZhbHVl",
		"docker login -u ci-bot -p Ci3Reg1stryPass registry.example.com":                                                                                                             "Ci3Reg1stryPass",
		"podman login -u ci-bot -pCi3Reg1stryPass registry.example.com":                                                                                                              "Ci3Reg1stryPass",
		"az login --service-principal -u http://app -p Sp7Pass-Word.value --tenant t":                                                                                                "Sp7Pass-Word",
		"helm registry login reg.example.com -u bob -p 'He1mPass!x'":                                                                                                                 "He1mPass",
	}
	for in, secret := range leaks {
		out, _ := m.Text(in)
		assert.NotContains(t, out, secret, "%s", in)
	}
	keep := map[string][]string{
		"docker run -p 8080:80 -e MODE=login nginx":                      {"8080:80"},
		"ssh -p 2222 deploy@host 'login -p 22'":                          {"2222"},
		"gpg: Good signature from \"Release Key\"":                       {"Good signature"},
		"verify --signature-file app.sig --key cosign.pub":               {"app.sig", "cosign.pub"},
		"signature: verified, sig_alg=RS256":                             {"verified", "RS256"},
		"GET /x?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=900 HTTP": {"AWS4-HMAC-SHA256", "900"},
	}
	for in, parts := range keep {
		out, _ := m.Text(in)
		for _, p := range parts {
			assert.True(t, strings.Contains(out, p), "%q was masked in %q: %q", p, in, out)
		}
	}
}

// TestStructuredValuesMaskedAsTheirText: a value masked in text only for
// the key beside it (a long random value under any name: the
// high-entropy assignment) was left in clear in structured content, where
// the key is a map key and the value was masked alone. A Helm release
// stored in a ConfigMap (HELM_DRIVER=configmap; base64 of gzip of the
// release, values and passwords included) came back masked in a tool's
// text and whole in its structuredContent. Each value is now masked with
// its key as context, as the text shows it; what operators need stays.
func TestStructuredValuesMaskedAsTheirText(t *testing.T) {
	m := New([]byte("k"))
	blob := "SDRzSUFBQUFBQUFBL3hURk1hN0NNQXdHNEt0VS85emhQY0hrRXpBaWdaaTZwSTFiTEloZDJTa2dWYms3WXZwMmFDb01RaDdSWXpLZFpRSHRTRnU5"
	secrets := map[string]string{
		"release":  blob,
		"app.key":  "q8Vz3LwN5xR2tY7uJ1mK9pB4cF6hG0sD",
		"settings": "first line\nsigning: q8Vz3LwN5xR2tY7uJ1mK9pB4cF6hG0sD\n",
	}
	for k, v := range secrets {
		text, _ := m.Text(k + ": " + v)
		out, _ := m.Value(map[string]any{"kind": "ConfigMap", "data": map[string]any{k: v}})
		got := out.(map[string]any)["data"].(map[string]any)[k].(string)
		assert.NotContains(t, text, "q8Vz3LwN5xR2", "%s: the text masks it", k)
		assert.NotContains(t, got, "q8Vz3LwN5xR2", "%s: structured content masks it as the text does", k)
		assert.NotContains(t, got, blob[:24], "%s", k)
	}
	keep := map[string]string{
		"uid":             "3f2c9b1e-7a4d-4c8e-9f10-2b3c4d5e6f70",
		"image":           "registry.example.com/team/api@sha256:9b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90a",
		"resourceVersion": "123456789",
		"commit":          "0123456789abcdef0123456789abcdef01234567",
		"message":         "Back-off restarting failed container api in pod api-7d9f8b6c5d-x2x4z",
		"description":     "Rotate the keys of the staging cluster every ninety days, see the runbook",
		// The API server's page token, passed back as it is (it was
		// masked in k8s_get's text, so a text-only client could not page).
		"continue": "eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6MzE0LCJzdGFydCI6ImNtLTA0XHUwMDAwIn0",
	}
	for k, v := range keep {
		out, _ := m.Value(map[string]any{k: v})
		assert.Equal(t, v, out.(map[string]any)[k], "%s stays readable", k)
		text, _ := m.Text(k + ": " + v)
		assert.Equal(t, k+": "+v, text, "%s stays readable in text", k)
	}
}

// FuzzStructuredNeverShowsWhatTextHides: for any key and any value
// around a planted random token, when the text form "key: value" hides
// the token, the structured form {key: value} hides it too (the
// structured content of a result must not be the way around its text).
func FuzzStructuredNeverShowsWhatTextHides(f *testing.F) {
	f.Add("release", "", "")
	f.Add("app.key", "", "\n")
	f.Add("settings", "first line\nsigning: ", "\n")
	f.Add("config", "listen 8080 ", " trailing words")
	f.Add("continue", "", "")
	f.Add("x\ny", "a", "b")
	m := New([]byte("fuzz key for structured masking."))
	const planted = "q8Vz3LwN5xR2tY7uJ1mK9pB4cF6hG0sD"
	f.Fuzz(func(t *testing.T, key, before, after string) {
		if strings.Contains(key+before+after, planted[:8]) {
			return
		}
		value := before + planted + after
		text, _ := m.Text(key + ": " + value)
		out, _ := m.Value(map[string]any{key: value})
		got, ok := out.(map[string]any)
		if !ok {
			t.Fatalf("Value returned %T", out)
		}
		if strings.Contains(text, planted) {
			return // the text shows it: nothing to compare
		}
		for k, v := range got {
			if s, _ := v.(string); strings.Contains(s, planted) {
				t.Fatalf("structured {%q: …} shows the token the text %q hides: %q", k, text, s)
			}
		}
	})
}
