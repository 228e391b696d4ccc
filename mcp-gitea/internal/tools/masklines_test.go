package tools

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsmcp/opsmcp/shared/mask"
)

// pemBody are the body lines of the private key planted in tests; each
// one alone is no recognisable secret, so only whole-text masking hides it.
var pemBody = []string{
	"MIIEpAIBAAKCAQEAplantedBodyLine1qk3vX9mZ2Lr8Tn4Wc7Hs5Jd1Fg6Kb0Qe",
	"Yt2Uo9Pa3Sd8Fg1Hj4Kl7Zx0Cv5Bn6Mq2Wr9Et4Ty7Ui1Op3As6Df8Gh0Jk5Lz2X",
	"plantedBodyLine3Vb6Nm9Qw2Er5Ty8Ui1Op4As7Df0Gh3Jk6Lz9Xc2Vb5Nm8Qw1==",
}

func pemFile() string {
	return "# deploy key\nname: ci\nkey: |\n  -----BEGIN RSA PRIVATE KEY-----\n  " + strings.Join(pemBody, "\n  ") +
		"\n  -----END RSA PRIVATE KEY-----\nafter: 1\npassword: Hunter2-planted-Pw\nlast: line\n"
}

func TestAlignLinesPEM(t *testing.T) {
	m := mask.New(nil)
	orig := pemFile()
	masked, n := m.Text(orig)
	require.Positive(t, n)
	got := alignLines(orig, masked)
	want := splitLines(orig)
	require.Len(t, got, len(want), "one line out per line in")
	all := strings.Join(got, "")
	for _, l := range pemBody {
		assert.NotContains(t, all, l)
		// Line by line masking, the old way, leaves every body line.
		perLine, _ := m.Text(l)
		assert.Equal(t, l, perLine, "a body line alone is not caught: the attack")
	}
	assert.NotContains(t, all, "Hunter2-planted-Pw")
	assert.Contains(t, got[3], "[MASKED:", "the placeholder stands on the BEGIN line")
	for i := 4; i <= 7; i++ {
		assert.Equal(t, "\n", got[i], "lines the block swallowed come back empty")
	}
	for i, l := range want {
		if i < 3 || i == 8 || i == 10 {
			assert.Equal(t, l, got[i], "line %d is untouched", i+1)
		}
	}
	assert.Contains(t, got[9], "password: [MASKED:")
}

func TestAlignLinesNoSecretsAndEdges(t *testing.T) {
	m := mask.New(nil)
	for _, orig := range []string{"", "a", "a\n", "a\nb", "\n\n\n", "x: [MASKED:fake:00]\nnext\n", "-----BEGIN PRIVATE KEY-----\nAAAA\nBBBB"} {
		masked, _ := m.Text(orig)
		got := alignLines(orig, masked)
		assert.Len(t, got, len(splitLines(orig)), "%q", orig)
		assert.Equal(t, strings.ReplaceAll(masked, "\n", ""), strings.ReplaceAll(strings.Join(got, ""), "\n", ""), "%q: only masked bytes", orig)
	}
	// Two multi-line secrets, back to back.
	orig := "a\n-----BEGIN PRIVATE KEY-----\nAAA\n-----END PRIVATE KEY-----\n-----BEGIN EC PRIVATE KEY-----\nBBB\nCCC\n-----END EC PRIVATE KEY-----\nz\n"
	masked, _ := m.Text(orig)
	got := alignLines(orig, masked)
	require.Len(t, got, 9)
	assert.Equal(t, "a\n", got[0])
	assert.Contains(t, got[1], "[MASKED:private-key:")
	assert.Contains(t, got[4], "[MASKED:private-key:", "the second block starts on its own line")
	assert.Equal(t, "z\n", got[8])
	assert.NotContains(t, strings.Join(got, ""), "AAA")
	assert.NotContains(t, strings.Join(got, ""), "CCC")
}

// FuzzAlignLines: whatever surrounds a planted key, the lines that come
// back number as many as went in, hold only masked bytes, and never a line
// of the key's body.
func FuzzAlignLines(f *testing.F) {
	f.Add("before\n", "\nafter\n")
	f.Add("", "")
	f.Add("-----BEGIN PRIVATE KEY-----\n", "-----END PRIVATE KEY-----")
	f.Add("x: [MASKED:a:b]\n", "\n[MASKED:c:d]")
	f.Add("password: a\nb", "token=c\n\n")
	m := mask.New([]byte("fuzz key for alignLines, fixed.."))
	f.Fuzz(func(t *testing.T, prefix, suffix string) {
		for _, l := range pemBody {
			if strings.Contains(prefix+suffix, l[:20]) {
				return
			}
		}
		orig := prefix + "-----BEGIN RSA PRIVATE KEY-----\n" + strings.Join(pemBody, "\n") + "\n-----END RSA PRIVATE KEY-----" + suffix
		masked, _ := m.Text(orig)
		got := alignLines(orig, masked)
		if len(got) != len(splitLines(orig)) {
			t.Fatalf("%d lines for %d", len(got), len(splitLines(orig)))
		}
		all := strings.Join(got, "")
		if strings.ReplaceAll(all, "\n", "") != strings.ReplaceAll(masked, "\n", "") {
			t.Fatalf("bytes that are not the masked text's: %q from %q", all, masked)
		}
		for _, l := range pemBody {
			if strings.Contains(all, l[:20]) {
				t.Fatalf("key body line survived: %q", all)
			}
		}
	})
}

// FuzzAlignChunks: for any old and new text around a planted key (changed
// or not), git's line chunks line up with the masked lines of both files
// (so the masked patch is never the blank fallback), and no key body
// line is left in any chunk.
func FuzzAlignChunks(f *testing.F) {
	f.Add("a\nb\n", "a\nc\n", uint8(3), true)
	f.Add("", "x", uint8(0), false)
	f.Add("no newline", "no newline\n", uint8(1), true)
	f.Add("-----BEGIN PRIVATE KEY-----\n", "\n\n", uint8(2), true)
	m := mask.New([]byte("fuzz key for alignChunks, fixed."))
	f.Fuzz(func(t *testing.T, before, after string, changed uint8, keyInOld bool) {
		for _, l := range pemBody {
			if strings.Contains(before+after, l[:16]) {
				return
			}
		}
		body := append([]string(nil), pemBody...)
		key := "-----BEGIN RSA PRIVATE KEY-----\n" + strings.Join(body, "\n") + "\n-----END RSA PRIVATE KEY-----\n"
		body[int(changed)%len(body)] = "MIIEchangedLineOfTheKeyxxxxxxxxxxxxxxxxxxxxxx"
		key2 := "-----BEGIN RSA PRIVATE KEY-----\n" + strings.Join(body, "\n") + "\n-----END RSA PRIVATE KEY-----\n"
		oldText, newText := before+key+after, after+key2+before
		if !keyInOld {
			oldText = before + after
		}
		// gitea_diff's own chunks; an odd changed gives the diff no time
		// at all, so its fallback (the rest as one deletion and one
		// addition) is aligned too.
		budget := time.Hour
		if changed%2 == 1 {
			budget = time.Nanosecond
		}
		chunks := diffChunks(oldText, newText, budget)
		mo, _ := m.Text(oldText)
		mn, _ := m.Text(newText)
		out, ok := alignChunks(chunks, alignLines(oldText, mo), alignLines(newText, mn))
		if !ok {
			t.Fatalf("chunks do not line up with the files")
		}
		for _, ch := range out {
			for _, l := range pemBody {
				if strings.Contains(ch.Content(), l[:16]) {
					t.Fatalf("key body line in a chunk: %q", ch.Content())
				}
			}
			if strings.Contains(ch.Content(), "MIIEchangedLine") {
				t.Fatalf("changed key line in a chunk: %q", ch.Content())
			}
		}
	})
}
