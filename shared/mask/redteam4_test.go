package mask

import (
	"runtime"
	"runtime/metrics"
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

// peakHeap runs f and returns the most heap its objects took meanwhile
// above what they took before, sampled every millisecond.
func peakHeap(f func()) uint64 {
	runtime.GC()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(sample)
	base, top := sample[0].Value.Uint64(), uint64(0)
	stop, done := make(chan bool), make(chan bool)
	go func() {
		defer close(done)
		for {
			metrics.Read(sample)
			top = max(top, sample[0].Value.Uint64())
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	f()
	close(stop)
	<-done
	if top < base {
		return 0
	}
	return top - base
}

// TestHintedLinesTakeLittleMemory: the lines that hold a hint were listed
// per detector for the whole text before any detector ran, 16 bytes a
// line and detector: 16 MiB of "pw\n" (gitea_file reads 16 MiB) took
// 626 MiB of heap, "=\n" 401 MiB; the masker before the prefilters took
// none beyond the text. Read a piece of lines at a time, it is tens.
func TestHintedLinesTakeLittleMemory(t *testing.T) {
	m := New(testKey)
	for _, unit := range []string{"pw\n", "=\n", "token secret pw key auth cred dsn cookie pass\n"} {
		s := strings.Repeat(unit, (8<<20)/len(unit))
		peak := peakHeap(func() { m.Text(s) })
		if peak > 160<<20 {
			t.Errorf("masking 8 MiB of %q took %d MiB of heap", unit, peak>>20)
		}
	}
}

// TestInvisibleCharactersHideNoKey: a zero-width space, a soft hyphen, a
// word joiner or a NUL inside a key or a token is not seen by whoever
// reads the text (a person, a model), so "pass\u200bword: X" says
// password; the masker read it as the key "word". (The orchestrator
// takes such characters out before it masks; a client of a server does
// not.) Both maskers, before and after the prefilters, missed these.
func TestInvisibleCharactersHideNoKey(t *testing.T) {
	m := New(testKey)
	for _, c := range []struct{ text, secret string }{
		{"pass\u200bword: Zq81hunterX", "Zq81hunterX"},
		{"db_pass\u00adword=Zq81hunterX", "Zq81hunterX"},
		{"PASS\u2060WORD=Zq81hunterX", "Zq81hunterX"},
		{"api\x00_key: Zq81hunterX", "Zq81hunterX"},
		{"Author\u200bization: Bearer Zq81hunterX", "Zq81hunterX"},
		{"deploy to\u200cken 3f2a9c1be07d4a5f8c6b2e1d0a9f8e7d6c5b4a39", "3f2a9c1be07d4a5f8c6b2e1d0a9f8e7d6c5b4a39"},
		{"ghp_abcdefghij\u200bklmnopqrstuvwxyz0123456789", "klmnopqrstuvwxyz0123456789"},
		{"--pass\u200dword Zq81hunterX", "Zq81hunterX"},
		{"\u202epassword\u202c: Zq81hunterX", "Zq81hunterX"},
	} {
		out, _ := m.Text(c.text)
		if strings.Contains(out, c.secret) {
			t.Errorf("%q -> %q", c.text, out)
		}
		if again, _ := m.Text(out); again != out {
			t.Errorf("not idempotent: %q -> %q -> %q", c.text, out, again)
		}
	}
	// Text without them, and what operators need beside them, is as it was.
	for _, s := range []string{"commit 3f2a9c1be07d4a5f8c6b2e1d0a9f8e7d6c5b4a39\u200b", "image\u200b: nginx@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "host\u00ad: db.prod.svc 10.0.0.7"} {
		if out, _ := m.Text(s); out != s {
			t.Errorf("%q -> %q", s, out)
		}
	}
}

// TestHeaderValueIsNotTheNextHeader: a header's value could run onto the
// next line, so an empty "Authorization:" (one log line anyone can
// write) took the next line's header name as its value, and the token
// after it ("Authorization:\nAuthorization: Bearer X") was masked by no
// detector, in the whole text or, once the name was masked, in the line
// alone. Both maskers, before and after the prefilters, let it through.
// A value goes on to the next line only when that line is indented (a
// YAML value, an HTTP continuation), or inside a list's brackets.
func TestHeaderValueIsNotTheNextHeader(t *testing.T) {
	m := New(testKey)
	for _, s := range []string{
		"Authorization:\nAuthorization: Bearer Zq81hunterX",
		"Authorization:\r\nAuthorization' = Bearer Zq81hunterX",
		"Proxy-Authorization:\nProxy-Authorization: Basic Zq81hunterX",
		"Authorization: Bearer\nAuthorization: Bearer Zq81hunterX",
		"X-Vault-Token:\nX-Vault-Token: Zq81hunterX",
		"Cookie:\nCookie: sid=Zq81hunterX",
		// continuations are still values
		"Authorization:\n  Bearer Zq81hunterX",
		"authorization:\r\n\tBasic Zq81hunterX",
		"\"Authorization\": [\n    \"Bearer Zq81hunterX\"\n  ]",
		"x-api-key:\n  Zq81hunterX",
		"Cookie:\n  sid=Zq81hunterX",
		"authorization:\n \n   Bearer Zq81hunterX",
		"Authorization:\n  Bearer\r\n    Zq81hunterX",
		"cookie:\r\n\n  sid=Zq81hunterX",
		"x-auth-token:\n  \rZq81hunterX",
	} {
		out, _ := m.Text(s)
		if strings.Contains(out, "Zq81hunterX") {
			t.Errorf("%q -> %q", s, out)
		}
		for _, line := range strings.Split(out, "\n") {
			if alone, _ := m.Text(line); alone != line {
				t.Errorf("line %q of %q masks to %q alone", line, out, alone)
			}
		}
	}
}

// TestCookiePlaceholderIsNoCookieHeader: a placeholder whose kind ends in
// "cookie" ("api_cookie=X" gives "[MASKED:api-cookie:…]") read as a
// Cookie header to a second pass, which masked the rest of its line: an
// IP and a host name after it were hidden, and masking twice was not
// masking once (which the binder relies on). Both maskers, before and
// after the prefilters, did so. A placeholder next to a real header
// shields nothing.
func TestCookiePlaceholderIsNoCookieHeader(t *testing.T) {
	m := New(testKey)
	for _, s := range []string{"session_cookie=abc12345 ip=10.0.0.7 host=db.prod", "Set-Cookie = x1 node=10.0.0.9", "api_cookie=Zq81hunter tail"} {
		out, _ := m.Text(s)
		if again, _ := m.Text(out); again != out {
			t.Errorf("%q -> %q -> %q", s, out, again)
		}
	}
	for _, s := range []string{"[MASKED:cookie:01234567] Cookie: sid=Zq81hunterX", "[MASKED:set-cookie:01234567]\nSet-Cookie: sid=Zq81hunterX; Path=/"} {
		if out, _ := m.Text(s); strings.Contains(out, "Zq81hunterX") {
			t.Errorf("%q -> %q", s, out)
		}
	}
}
