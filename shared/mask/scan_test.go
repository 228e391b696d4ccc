package mask

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestScannersStayLinear: the scanners that replaced regexps (JWTs,
// user:password@ and token@ in URLs, private key blocks, the SQL quote
// test)
// and the one-pass repeat search read each byte a bounded number of
// times, on lines made of their own triggers (a JWT part's run holds
// "-eyJ" again and again; every "://" starts a scheme; every position
// starts the 8 bytes of 64 found values).
func TestScannersStayLinear(t *testing.T) {
	m := New(testKey)
	var repeated strings.Builder
	for i := 0; i < 64; i++ {
		repeated.WriteString("password: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" + string(rune('A'+i%26)) + string(rune('0'+i/26)) + "\n")
	}
	for _, unit := range []string{
		"-eyJ", "-eyJaaaaaaaa.eyJ", "eyJaaaaaaaa.eyJbbbbbbbb.-", "a://", "a://b:", "a://b:@", "://", "x+://" + strings.Repeat("t", 20),
		" password '", " by  ", "identified by '", repeated.String() + strings.Repeat("a", 4096),
		"-----BEGIN", "-----BEGIN A PRIVATE KEY", "-----END X PRIVATE KEY", "-----BEGIN PRIVATE KEY-----" + strings.Repeat("-----END ", 1000),
	} {
		s := fill(unit, 256<<10)
		start := time.Now()
		m.Text(s)
		d := time.Since(start)
		assert.Less(t, d, 5*time.Second, "%q ×%d took %v", unit[:min(len(unit), 40)], len(s)/len(unit), d)
	}
}

// TestRepeatsPastManyNearMisses: a found secret whose first 8 bytes
// stand in the text many times without the rest (more than the one-pass
// search compares before it leaves the value to strings.Index) is still
// masked wherever it repeats, before, among and after them.
func TestRepeatsPastManyNearMisses(t *testing.T) {
	m := New(testKey)
	const secret = "aaaaaaaaQz81hunterXYZ"
	s := "first " + secret + " then\n" + strings.Repeat("aaaaaaaab ", 100) + secret + "\npassword: " + secret + "\n" +
		strings.Repeat("aaaaaaaaQz81 ", 40) + "last " + secret
	out, n := m.Text(s)
	assert.NotContains(t, out, secret)
	assert.Equal(t, 4, n)
	assert.Equal(t, 4, strings.Count(out, m.placeholder("password", secret)))
	assert.Equal(t, 100, strings.Count(out, "aaaaaaaab "), "near misses stay")
}
