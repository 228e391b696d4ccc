package mask

import (
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// plantForms are the shapes FuzzPlanted sets a secret in; each is a whole
// line, so the text around it cannot change what the line means.
var plantForms = []string{
	"password: %s",
	"DB_PASSWORD=%s",
	`{"password":"%s","user":"x"}`,
	"Authorization: Bearer %s",
	"postgres://app:%s@db:5432/x",
	"token = \"%s\"",
	"PGPASSWORD=%s",
	"redis://:%s@cache:6379",
	"curl -u admin:%s https://x",
	"./server --db-password %s --port 80",
	"-----BEGIN RSA PRIVATE KEY-----\n%s\n-----END RSA PRIVATE KEY-----",
	"db:\n  password: |\n    %s\n",
	`{"log":"{\"password\":\"%s\"}"}`,
	"user%%3Dbob%%26password%%3D%s%%26x",
	"- name: SMTP_PASSWORD\n  value: %s",
	"export API_KEY='%s'",
	`password: "a\"%s"`,
	`password := "%s"`,
	`'password' => '%s',`,
	"<password>%s</password>",
	`<add key="DbPassword" value="%s"/>`,
	`"Authorization": ["Bearer %s"]`,
	"map[Authorization:[Bearer %s] Accept:[*/*]]",
	"ALTER USER app WITH PASSWORD '%s';",
	"mysql -uroot -p'%s' app",
	"ENV DB_PASSWORD %s",
	"password=\"%s",
	"apiVersion: v1\nkind: Secret\nstringData:\n  conf: %s\n",
	`{"kind":"Secret","data":{"conf":"%s"}}`,
	"machine git.example.com login ci password %s",
	"password: [MASKED:x:01234567]%s",
	"requirepass %s",
}

// FuzzPlanted asserts, for arbitrary text around it (any bytes, invalid
// UTF-8, look-alike placeholders, unterminated quotes), that a secret set
// in a known form never survives masking, and that masking never panics.
func FuzzPlanted(f *testing.F) {
	f.Add("", "", uint8(0), []byte("hunter2hunter2"))
	f.Add("User-Agent: İstanbul token abc", "\u212a\u212a", uint8(1), []byte("s3cr3t-value"))
	f.Add("[MASKED", "]", uint8(2), []byte("Zx9Qw3Er5Ty7"))
	f.Add("\xff\xfe\"unterminated", "'", uint8(3), []byte("abc.def.ghi123"))
	f.Add("-----BEGIN", "-----END", uint8(10), []byte("MIIEowIBAAKCAQEA"))
	f.Add("db:\n  x: 1", "  host: db", uint8(11), []byte("l1nesecret"))
	f.Fuzz(func(t *testing.T, prefix, suffix string, form uint8, seed []byte) {
		secret := plantedSecret(seed)
		line := fmt.Sprintf(plantForms[int(form)%len(plantForms)], secret)
		text := prefix + "\n" + line + "\n" + suffix
		m := New(testKey)
		out := timed(t, text, func() string { o, _ := m.Text(text); return o })
		if strings.Contains(out, secret) {
			t.Fatalf("planted secret %q survived in form %d:\n%q\n->\n%q", secret, int(form)%len(plantForms), text, out)
		}
		if utf8.ValidString(text) && !utf8.ValidString(out) {
			t.Fatalf("masking made invalid UTF-8 of valid text: %q", out)
		}
	})
}

// timed runs mask on s and fails when it takes longer than a linear
// masker could on any input a fuzzer makes (they are kilobytes; masking
// one takes microseconds): a hang or a blow-up is a denial of service.
func timed(t *testing.T, s string, mask func() string) string {
	t.Helper()
	done := make(chan string, 1)
	go func() { done <- mask() }()
	select {
	case out := <-done:
		return out
	case <-time.After(10 * time.Second):
		t.Fatalf("masking %d bytes took over 10 s: %q", len(s), s)
		return ""
	}
}

// plantedSecret derives a secret from fuzz bytes: 12 to 40 characters of
// letters and digits, with at least one of each, so it is a value every
// form must mask (not a boolean, a short number or a key name).
func plantedSecret(seed []byte) string {
	const alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ"
	var b strings.Builder
	b.WriteString("Q7")
	for i, c := range seed {
		if i >= 38 {
			break
		}
		b.WriteByte(alphabet[int(c)%len(alphabet)])
	}
	for b.Len() < 12 {
		b.WriteByte('x')
	}
	b.WriteByte('9')
	return b.String()
}

// FuzzText asserts masking never panics on any input, keeps valid UTF-8
// valid, and is idempotent on what it returns.
func FuzzText(f *testing.F) {
	for _, s := range []string{"", "password: x", "İ token: abc", "\xff", "[MASKED:a:0123abcd]", "-----BEGIN PGP PRIVATE KEY BLOCK-----\nabc"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m := New(testKey)
		out := timed(t, s, func() string { o, _ := m.Text(s); return o })
		if utf8.ValidString(s) && !utf8.ValidString(out) {
			t.Fatalf("invalid UTF-8 out of valid input: %q -> %q", s, out)
		}
		// The binder masks what handlers masked already: a second pass
		// must change nothing.
		if again, _ := m.Text(out); again != out {
			t.Fatalf("masking is not idempotent: %q -> %q -> %q", s, out, again)
		}
		_, _ = m.JSON([]byte(s))
	})
}

// BenchmarkTextAdversarial measures shapes that once made masking
// quadratic in the length of a line (nested assignments, long base64
// runs, Terraform variables, many distinct secrets): ns/op should grow 4x
// from one size to the next, not 16x.
func BenchmarkTextAdversarial(b *testing.B) {
	shapes := map[string]string{
		"nested-assignments": "key=",
		"base64-runs":        "Zx9Qw3Er5Ty7Ui9Op1As3Df5Gh7Jk9L=",
		"terraform":          "variable \"x\" {",
		"secrets":            "password: Qz1x%05d\n",
		"keys-as-values":     "password:",
		"auth-keys":          "authorization:",
	}
	for name, unit := range shapes {
		for _, size := range []int{16 << 10, 64 << 10} {
			var sb strings.Builder
			for i := 0; sb.Len() < size; i++ {
				if strings.Contains(unit, "%") {
					fmt.Fprintf(&sb, unit, i)
				} else {
					sb.WriteString(unit)
				}
			}
			s := sb.String()
			b.Run(fmt.Sprintf("%s/%dKiB", name, size>>10), func(b *testing.B) {
				m := New(testKey)
				b.SetBytes(int64(len(s)))
				for b.Loop() {
					m.Text(s)
				}
			})
		}
	}
}
