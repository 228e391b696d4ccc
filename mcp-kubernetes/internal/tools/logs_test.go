package tools

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pemBody returns n base64 body lines of 64 characters, as a PEM block
// has them.
func pemBody(n int) []string {
	raw := make([]byte, 48*n)
	rand.Read(raw)
	enc := base64.StdEncoding.EncodeToString(raw)
	var lines []string
	for i := 0; i < n; i++ {
		lines = append(lines, enc[i*64:(i+1)*64])
	}
	return lines
}

// kubeletLog renders texts as the kubelet serves them with timestamps.
func kubeletLog(texts []string) string {
	at := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	var b strings.Builder
	for i, t := range texts {
		fmt.Fprintf(&b, "%s %s\n", at.Add(time.Duration(i)*time.Millisecond).Format(time.RFC3339Nano), t)
	}
	return b.String()
}

// keyLog is a log in which a program printed a private key over many
// lines, between ordinary lines.
func keyLog(body []string) []string {
	texts := []string{"INFO starting", "WARN loaded signing key:", "-----BEGIN RSA PRIVATE KEY-----"}
	texts = append(texts, body...)
	return append(texts, "-----END RSA PRIVATE KEY-----", "INFO ready", "INFO heartbeat ok")
}

// assertNoBody fails when any body line of the key, or a 16-byte piece of
// one, is in got.
func assertNoBody(t *testing.T, body []string, got string, msg string) {
	t.Helper()
	for _, l := range body {
		for i := 0; i+16 <= len(l); i += 16 {
			if strings.Contains(got, l[i:i+16]) {
				t.Errorf("%s: a piece of key body line %q came back", msg, l[:8])
				return
			}
		}
	}
}

func TestLogsMaskAPrivateKeyWholeBeforeSplittingAndGrep(t *testing.T) {
	api := newFakeAPI(t)
	s := api.server(t)
	body := pemBody(6)
	texts := keyLog(body)
	api.logs = kubeletLog(texts)

	res, err := s.logs(t.Context(), callAs(t, "", "k8s_logs"), LogsInput{Pod: "p", Container: "app"})
	require.NoError(t, err)
	out := res.Data.(LogsOutput)
	all := strings.Join(out.Items, "\n")
	assertNoBody(t, body, all, "whole log")
	assert.Contains(t, all, "[MASKED:private-key:", "the block is one masked value")
	assert.Len(t, out.Items, 5, "the block is one item: 2 lines before, the key, 2 after")
	assert.Contains(t, out.Items[0], "INFO starting")
	assert.Contains(t, out.Items[4], "INFO heartbeat ok")

	// Grep sees only masked text: a body line's prefix matches nothing,
	// and its count says nothing either.
	for _, l := range body {
		res, err := s.logs(t.Context(), callAs(t, "", "k8s_logs"), LogsInput{Pod: "p", Container: "app", Grep: regexp.QuoteMeta(l[:12])})
		require.NoError(t, err)
		out := res.Data.(LogsOutput)
		assert.Zero(t, out.Matched, "grep on a piece of the key")
		assert.Empty(t, out.Items)
	}
	// The masked value is still found by what is left in clear.
	res, err = s.logs(t.Context(), callAs(t, "", "k8s_logs"), LogsInput{Pod: "p", Container: "app", Grep: "MASKED:private-key"})
	require.NoError(t, err)
	assert.Equal(t, 1, res.Data.(LogsOutput).Matched)
}

// TestLogsWindowInsideAKey covers windows (tail, since, limit_bytes) that
// start or end inside the key block, so the masker never sees its BEGIN
// line, or its END line.
func TestLogsWindowInsideAKey(t *testing.T) {
	api := newFakeAPI(t)
	s := api.server(t)
	body := pemBody(8)
	texts := keyLog(body)
	lines := strings.SplitAfter(strings.TrimSuffix(kubeletLog(texts), "\n"), "\n")
	for start := 0; start < len(lines); start++ {
		for end := start + 1; end <= len(lines); end++ {
			window := strings.Join(lines[start:end], "")
			// And the same window cut by a byte limit inside its last line.
			for _, cut := range []int{len(window), len(window) - 10, len(window) - 40} {
				if cut <= 0 {
					continue
				}
				api.logs = window[:cut]
				res, err := s.logs(t.Context(), callAs(t, "", "k8s_logs"), LogsInput{Pod: "p", Container: "app"})
				require.NoError(t, err)
				assertNoBody(t, body, strings.Join(res.Data.(LogsOutput).Items, "\n"), fmt.Sprintf("window %d..%d cut at %d", start, end, cut))
			}
		}
	}
	// Ordinary lines around the block stay readable.
	api.logs = strings.Join(lines[5:], "")
	res, err := s.logs(t.Context(), callAs(t, "", "k8s_logs"), LogsInput{Pod: "p", Container: "app"})
	require.NoError(t, err)
	items := res.Data.(LogsOutput).Items
	require.Len(t, items, 3)
	assert.Contains(t, items[0], "[MASKED:private-key:partial]")
	assert.True(t, strings.HasSuffix(items[1], " INFO ready"), items[1])
}

func TestParseSince(t *testing.T) {
	for in, want := range map[string]int64{"10m": 600, "1ns": 1, "1.5s": 2, "2h": 7200, "1s": 1} {
		got, err := parseSince(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "yesterday", "-5m", "0s", "10", "9999999999h"} {
		_, err := parseSince(in)
		assert.ErrorContains(t, err, "use a positive duration", in)
	}
}

// TestLogsMaskedInPiecesKeepKeysWhole: a log longer than one masking
// piece, with the key wherever a piece boundary may fall, still never
// shows a piece of it, and ordinary lines on both sides stay readable.
func TestLogsMaskedInPiecesKeepKeysWhole(t *testing.T) {
	body := pemBody(8)
	for pad := 0; pad < 40; pad++ {
		var texts []string
		for i := 0; i < pad; i++ {
			texts = append(texts, fmt.Sprintf("INFO filler %d", i))
		}
		texts = append(keyLog(body), texts...)
		texts = append(texts, "INFO tail")
		raw := kubeletLog(texts)
		for _, chunk := range []int{40, 100, 300, 700} {
			lines := maskLog(callAs(t, "", "k8s_logs"), raw, chunk)
			all := strings.Join(lines, "\n")
			assertNoBody(t, body, all, fmt.Sprintf("pad %d pieces of %d", pad, chunk))
			assert.Contains(t, lines[0], "INFO starting")
			assert.True(t, strings.HasSuffix(lines[len(lines)-1], " INFO tail"), lines[len(lines)-1])
		}
	}
	// Through the handler, with the key across the 64 KiB boundary.
	api := newFakeAPI(t)
	s := api.server(t)
	var texts []string
	for len(strings.Join(texts, "\n")) < maskChunk-300 {
		texts = append(texts, fmt.Sprintf("INFO request %d served in 3ms", len(texts)))
	}
	api.logs = kubeletLog(append(texts, keyLog(body)...))
	res, err := s.logs(t.Context(), callAs(t, "", "k8s_logs"), LogsInput{Pod: "p", Container: "app", Tail: 100000})
	require.NoError(t, err)
	out := res.Data.(LogsOutput)
	require.Greater(t, len(api.logs), maskChunk)
	assertNoBody(t, body, strings.Join(out.Items, "\n"), "handler")
	assert.Equal(t, len(texts)+5, out.Scanned, "every line, the key as one")
}
