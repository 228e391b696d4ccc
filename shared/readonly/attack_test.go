package readonly

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestPathAliasesAreRefused: the same stream endpoints spelt so a string
// match misses them but a server (or a redirect that cleans the path)
// still routes there: empty segments, case, ;-parameters, double
// encoding, overlong UTF-8 and look-alike dots, any version prefix.
func TestPathAliasesAreRefused(t *testing.T) {
	for _, p := range []string{
		"/api/v1/namespaces/web/pods/x%252F..%252Fsecrets",
		"/api/v1/namespaces/web/pods/x/PROXY",
		"/api/v1/namespaces/web/pods/x/Exec/",
		"/api/v1/namespaces/web/pods/x/proxy;a=b",
		"/api/v1/namespaces/web/pods/x/exec;",
		"//api/v1/namespaces/web/pods/x/exec",
		"/api//v1/namespaces/web/pods/x/exec",
		"/api/v1//namespaces/web/pods/x/exec",
		"/api/v1/namespaces//pods/x/exec",
		"/api/v1/namespaces/web/pods//x/exec",
		"/api/v1/namespaces/web/pods/x//exec",
		"/api/v1/namespaces/web/pods/x/%C0%AE%C0%AE/exec",
		"/api/v1/namespaces/web/pods/x/\u2024\u2024/exec",
		"/api/v1/namespaces/web/pods/x/\uff0e\uff0e/exec",
		"/api/v1/namespaces/web/pods/x/\ufe52/exec",
		"/api/v1/namespaces/web/pods/x/%01/log",
		"/v1.41//containers/x/attach",
		"/v1.41/containers//x/attach",
		"/V1.41/containers/x/attach",
		"/v1.41/CONTAINERS/x/ATTACH",
		"/v1.41/containers/x/Attach",
		"/vX/containers/x/attach",
		"/v1.41/Exec/abc/json",
		"/v1.41/swarm/unlockkey",
		"/swarm/unlockkey",
		"/v1.41/swarm",
		"/v1.41/swarm/",
		"/swarm",
	} {
		u, err := url.Parse("http://up" + p)
		if !assert.NoError(t, err, p) {
			continue
		}
		r := &http.Request{Method: http.MethodGet, URL: u, Header: http.Header{}}
		assert.ErrorIs(t, Check(r), ErrRefused, p)
	}
	for _, p := range []string{
		"/api/v1/repos/ops/infra/contents/",
		"/api/v1/repos/ops/infra/contents/docs/über.md",
		"/v1.41/containers/x/json",
		"/v1.41/swarm/x",
		"/v1.41/info",
		"/v1.41/services/swarm",
		"/v1.41/images/registry.local:5000/app:1.2/json",
	} {
		u, err := url.Parse("http://up" + p)
		if !assert.NoError(t, err, p) {
			continue
		}
		r := &http.Request{Method: http.MethodGet, URL: u, Header: http.Header{}}
		assert.NoError(t, Check(r), p)
	}
}

// TestUpgradeInAnyHeaderSpelling: a header map is sent as written, so a
// non-canonical "connection" key, or "upgrade" in a second value, asks for
// an upgrade all the same.
func TestUpgradeInAnyHeaderSpelling(t *testing.T) {
	for _, h := range []http.Header{
		{"connection": {"upgrade"}},
		{"upgrade": {"websocket"}},
		{"Connection": {"close", "Upgrade"}},
		{"Upgrade": {"", "websocket"}},
		{"Sec-Websocket-Key": {"dGhlIHNhbXBsZSBub25jZQ=="}},
		{"Http2-Settings": {"AAMAAABkAARAAAAAAAIAAAAA"}},
		{"X-Stream-Protocol-Version": {"v4.channel.k8s.io"}},
	} {
		u, _ := url.Parse("http://up/api/v1/namespaces/web/pods")
		r := &http.Request{Method: http.MethodGet, URL: u, Header: h}
		assert.ErrorIs(t, Check(r), ErrRefused, "%v", h)
	}
}
