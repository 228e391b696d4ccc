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
