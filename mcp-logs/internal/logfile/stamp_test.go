package logfile

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestStamp(t *testing.T) {
	ref := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name, line string
		want       string // RFC 3339 in UTC, "" for no time
		level      Level
	}{
		{"rfc3339 zulu", "2026-03-01T10:00:00.123Z INFO started", "2026-03-01T10:00:00.123Z", LevelInfo},
		{"rfc3339 offset", "2026-03-01T12:00:00+02:00 [warn] disk 91%", "2026-03-01T10:00:00Z", LevelWarn},
		{"iso space comma", "2026-03-01 10:00:00,500 ERROR [main] boom", "2026-03-01T10:00:00.5Z", LevelError},
		{"nginx error log", "2026/03/01 10:00:00 [error] 31#31: *1 connect() failed", "2026-03-01T10:00:00Z", LevelError},
		{"syslog", "Mar  1 10:00:00 host sshd[12]: Accepted publickey", "2026-03-01T10:00:00Z", LevelNone},
		{"syslog last year", "Dec 31 23:59:59 host cron[1]: done", "2025-12-31T23:59:59Z", LevelNone},
		{"apache access", `10.0.0.1 - - [01/Mar/2026:11:00:00 +0100] "GET / HTTP/1.1" 200 12`, "2026-03-01T10:00:00Z", LevelNone},
		{"klog", "E0301 10:00:00.250000       1 reflector.go:1] failed", "2026-03-01T10:00:00.25Z", LevelError},
		{"logfmt", `time="2026-03-01T10:00:00Z" level=warning msg="slow"`, "2026-03-01T10:00:00Z", LevelWarn},
		{"logfmt ts", `ts=2026-03-01T10:00:00.000Z caller=main.go:1 level=debug`, "2026-03-01T10:00:00Z", LevelDebug},
		{"json time", `{"level":"error","time":"2026-03-01T10:00:00Z","msg":"x"}`, "2026-03-01T10:00:00Z", LevelError},
		{"json epoch ms", `{"ts":1772359200000,"lvl":"info"}`, "2026-03-01T10:00:00Z", LevelInfo},
		{"json epoch s float", `{"ts":1772359200.5,"severity":"WARNING"}`, "2026-03-01T10:00:00.5Z", LevelWarn},
		{"stack frame", "\tat com.example.Main.run(Main.java:42)", "", LevelNone},
		{"not a date", "2026-13-45T99:00:00Z nonsense", "", LevelNone},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, lvl, ok := Stamp([]byte(c.line), ref)
			if c.want == "" {
				assert.False(t, ok, "found %v", got)
			} else if assert.True(t, ok) {
				assert.Equal(t, c.want, got.UTC().Format(time.RFC3339Nano))
			}
			assert.Equal(t, c.level, lvl)
		})
	}
}

func TestParseLevel(t *testing.T) {
	for in, want := range map[string]Level{"WARNING": LevelWarn, "err": LevelError, "Info": LevelInfo, "panic": LevelFatal} {
		got, ok := ParseLevel(in)
		assert.True(t, ok, in)
		assert.Equal(t, want, got, in)
	}
	_, ok := ParseLevel("loud")
	assert.False(t, ok)
}
