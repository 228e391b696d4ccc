package logs_test

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func realFiles() string {
	d, _ := filepath.EvalSymlinks(filesDir)
	return d
}

func TestFilesList(t *testing.T) {
	s, _ := session(t)
	r := mustCall(t, s, "logs_files", map[string]any{})
	its := items(r)
	var names []string
	for _, it := range its {
		rel, _ := filepath.Rel(realFiles(), fmt.Sprint(it["path"]))
		names = append(names, rel)
	}
	assert.Equal(t, []string{"app/app.log", "app/app.log.1", "app/events.json", "nginx/access.log", "k8s/kubelet.log", "app/app.log.2.gz"}, names,
		"newest first; the symlink out of the root is not listed")
	byName := map[string]map[string]any{}
	for i, it := range its {
		byName[names[i]] = it
	}
	gz := byName["app/app.log.2.gz"]
	assert.Equal(t, true, gz["gzip"])
	assert.Equal(t, rfc(base), gz["first"])
	assert.Equal(t, rfc(base.Add(time.Minute)), gz["last"])
	acc := byName["nginx/access.log"]
	assert.Equal(t, rfc(base), acc["first"], "apache time format read")
	assert.Equal(t, rfc(base.Add(19*time.Minute)), acc["last"])
	assert.Equal(t, rfc(base.Add(3*time.Minute)), byName["k8s/kubelet.log"]["first"], "klog time read")

	glob := mustCall(t, s, "logs_files", map[string]any{"path": "app.log*"})
	assert.Len(t, items(glob), 3)
}

func TestFilesSearch(t *testing.T) {
	s, _ := session(t)
	cases := []struct {
		name string
		args map[string]any
		want []string // file:line, newest first
	}{
		{"pattern across rotation and gzip", map[string]any{"pattern": "ERROR", "path": "app.log*"}, []string{"app/app.log:2", "app/app.log.1:2", "app/app.log.2.gz:2"}},
		{"oldest first", map[string]any{"pattern": "ERROR", "path": "app.log*", "order": "oldest"}, []string{"app/app.log.2.gz:2", "app/app.log.1:2", "app/app.log:2"}},
		{"stack trace lines belong to their entry", map[string]any{"pattern": `at com\.shop`, "level": "error"}, []string{"app/app.log.1:5", "app/app.log.1:4"}},
		{"level filter on klog and text", map[string]any{"pattern": ".", "level": "warn", "path": "*.log*"}, []string{"app/app.log:2", "app/app.log.1:6", "app/app.log.1:5", "app/app.log.1:4", "app/app.log.1:3", "app/app.log.1:2", "k8s/kubelet.log:2", "app/app.log.2.gz:2"}},
		{"time window", map[string]any{"pattern": `" 502 `, "start": rfc(base.Add(5 * time.Minute)), "end": rfc(base.Add(15 * time.Minute))}, []string{"nginx/access.log:15", "nginx/access.log:10"}},
		{"json fields", map[string]any{"pattern": "checkout", "fields": map[string]any{"user": "bob", "http.status": "500"}}, []string{"app/events.json:6", "app/events.json:4", "app/events.json:2"}},
		{"json level", map[string]any{"pattern": "checkout", "level": "error", "limit": 2}, []string{"app/events.json:6", "app/events.json:4"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := mustCall(t, s, "logs_search", c.args)
			var got []string
			for _, it := range items(r) {
				rel, _ := filepath.Rel(realFiles(), fmt.Sprint(it["file"]))
				got = append(got, fmt.Sprintf("%s:%v", rel, it["line"]))
			}
			assert.Equal(t, c.want, got, r.Text)
		})
	}
	r := mustCall(t, s, "logs_search", map[string]any{"pattern": "unhandled"})
	its := items(r)
	require.Len(t, its, 1)
	assert.Equal(t, rfc(base.Add(6*time.Minute)), its[0]["ts"])
	assert.Equal(t, "error", its[0]["level"])
	assert.Contains(t, r.Text, "app.log.1:2 ")
}

func TestFilesPaging(t *testing.T) {
	s, _ := session(t)
	all := mustCall(t, s, "logs_search", map[string]any{"pattern": ".", "limit": 1000})
	want := field(items(all), "text")
	require.Len(t, want, 20+2+6+3+6+2)
	args := map[string]any{"pattern": ".", "limit": 4, "max_bytes": 900}
	var got []string
	for i := 0; ; i++ {
		require.Less(t, i, 100)
		r := mustCall(t, s, "logs_search", args)
		got = append(got, field(items(r), "text")...)
		c, _ := r.Data["cursor"].(string)
		if c == "" {
			break
		}
		args["cursor"] = c
	}
	assert.Equal(t, want, got)

	tail := mustCall(t, s, "logs_tail", map[string]any{"path": "nginx/access.log", "lines": 3})
	assert.Equal(t, []string{"20", "19", "18"}, field(items(tail), "line"))
	c, _ := tail.Data["cursor"].(string)
	require.NotEmpty(t, c)
	more := mustCall(t, s, "logs_tail", map[string]any{"path": "nginx/access.log", "lines": 3, "cursor": c})
	assert.Equal(t, []string{"17", "16", "15"}, field(items(more), "line"))
}

func TestFilesRoots(t *testing.T) {
	s, _ := session(t)
	for _, p := range []string{"app/escape.log", "../outside/shadow.log", filepath.Join(filepath.Dir(filesDir), "outside", "shadow.log"), "/etc/passwd", "app/../../outside/shadow.log"} {
		r := call(t, s, "logs_tail", map[string]any{"path": p})
		require.True(t, r.IsError, p)
		assert.Contains(t, r.Text, "outside the log file roots", p)
	}
	r := call(t, s, "logs_tail", map[string]any{"path": "app/nope.log"})
	assert.True(t, r.IsError)
	assert.Contains(t, r.Text, "no such file")
	r = call(t, s, "logs_search", map[string]any{"pattern": "(unclosed"})
	assert.True(t, r.IsError)
	assert.Contains(t, r.Text, "not a valid RE2 expression")

	// Without a root, the file tools say how to configure one.
	none := filepath.Join(t.TempDir(), "audit.log")
	bare := bareSession(t, "--loki-url", loki.URL, "--audit-log", none)
	for tool, args := range map[string]map[string]any{
		"logs_files":  {},
		"logs_search": {"pattern": "x"},
		"logs_tail":   {"path": "x.log"},
	} {
		r := call(t, bare, tool, args)
		require.True(t, r.IsError, tool)
		assert.Contains(t, r.Text, "--files-root", tool)
	}
}

func TestFilesSecretsAreMasked(t *testing.T) {
	s, _ := session(t)
	r := mustCall(t, s, "logs_search", map[string]any{"pattern": "password|token="})
	its := items(r)
	require.Len(t, its, 2)
	for _, p := range planted() {
		assert.NotContains(t, r.Text, p)
		for _, it := range its {
			assert.NotContains(t, fmt.Sprint(it["text"]), p)
		}
	}
	assert.Contains(t, r.Text, "token=[MASKED:")
	tail := mustCall(t, s, "logs_tail", map[string]any{"path": "app/app.log.1"})
	assert.NotContains(t, tail.Text, filePass)
	assert.Contains(t, tail.Text, "using password: [MASKED:")
}
