package kube

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestGuardRefusesEveryWatchSpelling: the API server reads a boolean
// query parameter as true unless it is "0" or "false" (any case), so
// watch=1, watch=True and a bare watch= are watches as much as
// watch=true; the Guard refuses each, and only those.
func TestGuardRefusesEveryWatchSpelling(t *testing.T) {
	u := &upstream{}
	rt := newGuard(nil).Wrap(u)
	for _, q := range []string{"watch=1", "watch=True", "watch=yes", "watch=", "watch", "follow=1", "follow=TRUE",
		"watch=false&watch=1"} {
		_, err := get(t, rt, "/api/v1/namespaces/web/pods/p/log?"+q)
		assert.ErrorContains(t, err, "never ends", q)
	}
	assert.Empty(t, u.seen)
	for _, q := range []string{"watch=false", "watch=0", "watch=FALSE", "follow=false", "limit=5"} {
		_, err := get(t, rt, "/api/v1/namespaces/web/pods/p/log?"+q)
		assert.NoError(t, err, q)
	}
	assert.Len(t, u.seen, 5)
}

// TestWholeLinesDropsTheLineALimitCut: a log read up to a byte limit ends
// at its last whole line; a shorter log (the limit cut nothing) is kept
// as it is, a last line without a newline included.
func TestWholeLinesDropsTheLineALimitCut(t *testing.T) {
	for _, c := range []struct {
		log   string
		limit int
		want  string
	}{
		{"a\nb\ncloning ghp_Xq7Rk2", 20, "a\nb\n"},
		{"a\nb\ncloning ghp_Xq7Rk2LmN9 done\n", 20, "a\nb\n"},
		{"ghp_Xq7Rk2LmN9", 10, ""},
		{"a\nb\n", 4, "a\nb\n"},
		{"a\nlast without newline", 100, "a\nlast without newline"},
		{"a\nb", -1, "a\nb"},
	} {
		assert.Equal(t, c.want, string(WholeLines([]byte(c.log), c.limit)), "%q %d", c.log, c.limit)
	}
}

// TestGuardSaysWhereALogWasCut: a log the byte limit cut ends at its last
// whole line and then says so, so that a log past the Guard's own bound
// is never silently short.
func TestGuardSaysWhereALogWasCut(t *testing.T) {
	log := "one\ntwo\nthree ghp_Xq7Rk2LmN9pQwE4tYz8uVb3sCd6fGh1jKa5o\n"
	u := &upstream{bodies: map[string]string{"/api/v1/namespaces/web/pods/p/log": log}}
	rt := newGuard(nil).Wrap(u)
	body, err := get(t, rt, "/api/v1/namespaces/web/pods/p/log?limitBytes=20")
	assert.NoError(t, err)
	assert.Equal(t, "one\ntwo\n[log cut at 20 bytes: the line the cut went through is left out]\n", body)
	body, err = get(t, rt, "/api/v1/namespaces/web/pods/p/log?limitBytes=1000")
	assert.NoError(t, err)
	assert.NotContains(t, body, "log cut")
}

// pagedNamespaces answers the namespace list one namespace a page, as
// the API server does with limit=1, and records each request's query.
type pagedNamespaces struct {
	names []string
	seen  []string
}

func (p *pagedNamespaces) RoundTrip(r *http.Request) (*http.Response, error) {
	p.seen = append(p.seen, r.URL.RawQuery)
	i := 0
	if c := r.URL.Query().Get("continue"); c != "" {
		i, _ = strconv.Atoi(c)
	}
	cont := ""
	if i+1 < len(p.names) {
		cont = strconv.Itoa(i + 1)
	}
	body := fmt.Sprintf(`{"kind":"NamespaceList","apiVersion":"v1","metadata":{"continue":%q},"items":[{"metadata":{"name":%q}}]}`, cont, p.names[i])
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(body)), Request: r}, nil
}

// TestGuardFiltersEveryPageOfTheNamespaceList: the namespace list is
// filtered by name for a caller limited to some namespaces, and its
// continue token dropped (it names the last namespace read); so every
// page is read here, or a namespace of the caller's past the first page
// (kubectl --chunk-size=1, or past 500 namespaces) was silently missing.
func TestGuardFiltersEveryPageOfTheNamespaceList(t *testing.T) {
	p := &pagedNamespaces{names: []string{"a", "b", "web", "c", "web2"}}
	rt := newGuard(func(ns string) bool { return strings.HasPrefix(ns, "web") }).Wrap(p)
	body, err := get(t, rt, "/api/v1/namespaces?limit=1")
	require.NoError(t, err)
	assert.Contains(t, body, `"web"`)
	assert.Contains(t, body, `"web2"`)
	for _, n := range []string{`"a"`, `"b"`, `"c"`, `"continue":"`} {
		assert.NotContains(t, body, n)
	}
	assert.Len(t, p.seen, 5)
}
