package kube

import (
	"testing"

	"github.com/stretchr/testify/assert"
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
