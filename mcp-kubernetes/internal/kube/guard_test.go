package kube

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsmcp/opsmcp/shared/mask"
)

const planted = "s3cr3t-Planted-Value-9f2c1e"

// upstream answers each path with a canned body and records what reached it.
type upstream struct {
	mu     sync.Mutex
	seen   []*http.Request
	bodies map[string]string
}

func (u *upstream) RoundTrip(r *http.Request) (*http.Response, error) {
	u.mu.Lock()
	u.seen = append(u.seen, r)
	u.mu.Unlock()
	body, ok := u.bodies[r.URL.Path]
	if !ok {
		body = `{"kind":"List","apiVersion":"v1","metadata":{},"items":[]}`
	}
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(body)), Request: r}, nil
}

func newGuard(ns func(string) bool) *Guard {
	m := mask.New([]byte("k"))
	return &Guard{Masker: m, Text: func(s string) string { out, _ := m.Text(s); return out }, Namespace: ns,
		Ctx: context.Background(), RawPaths: []string{"/version"}}
}

func get(t *testing.T, rt http.RoundTripper, path string) (string, error) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "http://api"+path, nil)
	req.RequestURI = ""
	req.Header.Set("Accept", "application/vnd.kubernetes.protobuf,application/json")
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return "", err
	}
	b, _ := io.ReadAll(resp.Body)
	return string(b), nil
}

var secretJSON = `{"kind":"Secret","apiVersion":"v1","metadata":{"name":"db","namespace":"web","annotations":{"kubectl.kubernetes.io/last-applied-configuration":"{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"stringData\":{\"password\":\"` + planted + `\"}}\n"}},"type":"Opaque","data":{"password":"` + base64.StdEncoding.EncodeToString([]byte(planted)) + `"}}`

// TestGuardMasksBeforeAnyDecoder: a Secret's data (base64 in the API, so
// no text detector sees it), and its copy inside last-applied, are
// masked before kubectl's code decodes the answer, so no printer
// (jsonpath, go-template, custom-columns, describe) can show them; the
// masked data is still base64, so a typed decoder reads it.
func TestGuardMasksBeforeAnyDecoder(t *testing.T) {
	u := &upstream{bodies: map[string]string{"/api/v1/namespaces/web/secrets/db": secretJSON,
		"/api/v1/namespaces/web/secrets": `{"kind":"SecretList","apiVersion":"v1","metadata":{},"items":[` + strings.Replace(secretJSON, `"kind":"Secret","apiVersion":"v1",`, "", 1) + `]}`}}
	g := newGuard(nil)
	rt := g.Wrap(u)
	for _, path := range []string{"/api/v1/namespaces/web/secrets/db", "/api/v1/namespaces/web/secrets"} {
		body, err := get(t, rt, path)
		require.NoError(t, err)
		assert.NotContains(t, body, planted, path)
		assert.NotContains(t, body, base64.StdEncoding.EncodeToString([]byte(planted)), path)
		assert.Contains(t, body, "last-applied-configuration", path)
		var v struct {
			Data  map[string][]byte `json:"data"`
			Items []struct {
				Data map[string][]byte `json:"data"`
			} `json:"items"`
		}
		require.NoError(t, json.Unmarshal([]byte(body), &v), "typed decoding of %s", path)
		data := v.Data
		if len(v.Items) > 0 {
			data = v.Items[0].Data
		}
		assert.True(t, strings.HasPrefix(string(data["password"]), mask.Prefix), "%s: %q", path, data["password"])
	}
}

// TestGuardHoldsTheCallersNamespaces: a caller limited to namespace web
// reaches nothing else, whatever kubectl's code asks for: another
// namespace, a list across namespaces, a cluster-scoped type, an access
// review about another namespace; the namespace list comes back
// filtered, without paging hints.
func TestGuardHoldsTheCallersNamespaces(t *testing.T) {
	u := &upstream{bodies: map[string]string{"/api/v1/namespaces": `{"kind":"NamespaceList","apiVersion":"v1","metadata":{"continue":"eyJ0ZWFtLWEvZGItY3JlZHMifQ","remainingItemCount":7},"items":[{"metadata":{"name":"web"}},{"metadata":{"name":"team-a"}}]}`}}
	g := newGuard(func(ns string) bool { return ns == "web" })
	rt := g.Wrap(u)
	for _, path := range []string{"/api/v1/namespaces/team-a/pods", "/api/v1/pods", "/api/v1/nodes", "/apis/apps/v1/deployments",
		"/apis/metrics.k8s.io/v1beta1/nodes", "/api/v1/namespaces/team-a", "/logs/", "/metrics"} {
		_, err := get(t, rt, path)
		require.Error(t, err, path)
	}
	_, err := get(t, rt, "/api/v1/namespaces/team-a/secrets")
	assert.True(t, errors.Is(err, ErrOutOfScope), "%v", err)
	assert.Empty(t, u.seen, "a refused request reached the API server")

	body, err := get(t, rt, "/api/v1/namespaces")
	require.NoError(t, err)
	assert.Contains(t, body, `"web"`)
	assert.NotContains(t, body, "team-a")
	assert.NotContains(t, body, "continue")
	assert.NotContains(t, body, "remainingItemCount")
	for _, path := range []string{"/api/v1/namespaces/web/pods", "/api/v1/namespaces/web", "/api", "/apis/apps/v1", "/openapi/v3", "/version"} {
		_, err := get(t, rt, path)
		assert.NoError(t, err, path)
	}

	review := func(ns string) error {
		req := httptest.NewRequest(http.MethodPost, "http://api/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
			strings.NewReader(`{"spec":{"resourceAttributes":{"namespace":"`+ns+`","verb":"list","resource":"pods"}}}`))
		req.RequestURI = ""
		_, err := rt.RoundTrip(req)
		return err
	}
	assert.ErrorIs(t, review("team-a"), ErrOutOfScope)
	assert.ErrorIs(t, review(""), ErrOutOfScope)
	assert.NoError(t, review("web"))
}

// TestGuardAsksOnlyForWhatItCanMask: protobuf and CBOR are never asked
// for (they could not be masked), a page is at most MaxPage objects, and
// a watch or follow (which never ends) is refused; numbers stay exact and
// an answer with nothing to hide is passed on byte for byte.
func TestGuardAsksOnlyForWhatItCanMask(t *testing.T) {
	raw := "{\n  \"kind\": \"PriorityClassList\", \"items\": [{\"value\": 2000001000, \"big\": 9007199254740993}]\n}"
	u := &upstream{bodies: map[string]string{"/apis/scheduling.k8s.io/v1/priorityclasses": raw}}
	rt := newGuard(nil).Wrap(u)
	body, err := get(t, rt, "/apis/scheduling.k8s.io/v1/priorityclasses?limit=999999")
	require.NoError(t, err)
	assert.Equal(t, raw, body)
	require.Len(t, u.seen, 1)
	assert.Equal(t, "application/json", u.seen[0].Header.Get("Accept"))
	assert.Equal(t, "500", u.seen[0].URL.Query().Get("limit"))
	_, err = get(t, rt, "/api/v1/namespaces/web/pods/p/log?container=app")
	require.NoError(t, err)
	assert.Equal(t, "8388609", u.seen[1].URL.Query().Get("limitBytes"), "a log is read whole to be masked: bounded")
	_, err = get(t, rt, "/api/v1/namespaces/web/pods/p/log?limitBytes=100")
	require.NoError(t, err)
	assert.Equal(t, "100", u.seen[2].URL.Query().Get("limitBytes"))
	for _, path := range []string{"/api/v1/namespaces/web/pods?watch=true", "/api/v1/namespaces/web/pods/p/log?follow=true"} {
		_, err := get(t, rt, path)
		assert.ErrorContains(t, err, "never ends", path)
	}
	assert.Len(t, u.seen, 3)
}

// FuzzGuardJSON: whatever the API server answers, the guard never panics;
// and a Secret planted in the answer, under any key and beside any other
// field, never comes out in clear or as its base64, in any list shape.
func FuzzGuardJSON(f *testing.F) {
	f.Add("password", "note", `"x"`, uint8(0))
	f.Add("tls.key", "stringData", `{"a":"b"}`, uint8(1))
	f.Add("", "metadata", `{"name":"x"}`, uint8(2))
	f.Add("k\n", "items", `[1,2]`, uint8(3))
	f.Add("a", "kind", `"Secret"`, uint8(0))
	g := newGuard(nil)
	enc := base64.StdEncoding.EncodeToString([]byte(planted))
	f.Fuzz(func(t *testing.T, key, field, raw string, shape uint8) {
		// Any bytes at all: no panic, an error or an answer.
		_, _ = g.maskJSON([]byte(raw), shape%2 == 0)

		fieldJSON, _ := json.Marshal(field)
		keyJSON, _ := json.Marshal(key)
		extra := ""
		if json.Valid([]byte(raw)) && field != "data" && field != "kind" && field != "apiVersion" {
			extra = "," + string(fieldJSON) + ":" + raw
		}
		secret := `"type":"Opaque","metadata":{"name":"s"},"data":{` + string(keyJSON) + `:"` + enc + `"}` + extra
		var doc string
		switch shape % 4 {
		case 0:
			doc = `{"kind":"Secret","apiVersion":"v1",` + secret + `}`
		case 1:
			doc = `{"kind":"SecretList","apiVersion":"v1","items":[{` + secret + `}]}`
		case 2:
			doc = `{"kind":"Table","apiVersion":"meta.k8s.io/v1","rows":[{"cells":["s"],"object":{"kind":"Secret","apiVersion":"v1",` + secret + `}}]}`
		default:
			doc = `{"kind":"List","apiVersion":"v1","items":[{"kind":"Secret","apiVersion":"v1",` + secret + `}]}`
		}
		if !json.Valid([]byte(doc)) {
			return
		}
		out, err := g.maskJSON([]byte(doc), false)
		if err != nil {
			t.Fatalf("%s: %v", doc, err)
		}
		if strings.Contains(string(out), planted) || strings.Contains(string(out), enc) {
			t.Fatalf("the planted Secret value came out of %s:\n%s", doc, out)
		}
	})
}

// TestGuardSpreadsAListAcrossNamespaces: for a caller limited to some
// namespaces, kubectl -A's list across the cluster is made of one list
// per allowed namespace (every page), merged without a continue token;
// the API server is never asked about another namespace, and a
// cluster-scoped type (404 per namespace) is refused.
func TestGuardSpreadsAListAcrossNamespaces(t *testing.T) {
	u := &upstream{bodies: map[string]string{
		"/api/v1/namespaces/a/secrets": `{"kind":"SecretList","apiVersion":"v1","metadata":{},"items":[{"metadata":{"name":"s1","namespace":"a"},"type":"Opaque"}]}`,
		"/api/v1/namespaces/b/secrets": `{"kind":"SecretList","apiVersion":"v1","metadata":{},"items":[{"metadata":{"name":"s2","namespace":"b"},"type":"Opaque"}]}`,
	}}
	g := newGuard(func(ns string) bool { return ns == "a" || ns == "b" })
	g.Spread = []string{"a", "b"}
	body, err := get(t, g.Wrap(u), "/api/v1/secrets?limit=1&continue=x")
	require.NoError(t, err)
	assert.Contains(t, body, `"s1"`)
	assert.Contains(t, body, `"s2"`)
	assert.NotContains(t, body, "continue")
	var paths []string
	for _, r := range u.seen {
		paths = append(paths, r.URL.Path+"?"+r.URL.RawQuery)
	}
	assert.Equal(t, []string{"/api/v1/namespaces/a/secrets?limit=1", "/api/v1/namespaces/b/secrets?limit=1"}, paths)
}

// TestGuardSpreadStopsOnARepeatedContinue: an API server that answers
// every page with the same continue token ends that namespace's list
// (its repeat is not merged again); before, a spread list followed it
// until 64 MiB had been read, hundreds of thousands of requests.
func TestGuardSpreadStopsOnARepeatedContinue(t *testing.T) {
	u := &upstream{bodies: map[string]string{
		"/api/v1/namespaces/a/secrets": `{"kind":"SecretList","apiVersion":"v1","metadata":{"continue":"again"},"items":[{"metadata":{"name":"s1","namespace":"a"},"type":"Opaque"}]}`,
		"/api/v1/namespaces/b/secrets": `{"kind":"SecretList","apiVersion":"v1","metadata":{},"items":[{"metadata":{"name":"s2","namespace":"b"},"type":"Opaque"}]}`,
	}}
	g := newGuard(func(ns string) bool { return ns == "a" || ns == "b" })
	g.Spread = []string{"a", "b"}
	body, err := get(t, g.Wrap(u), "/api/v1/secrets")
	require.NoError(t, err)
	assert.Equal(t, 1, strings.Count(body, `"s1"`), body)
	assert.Contains(t, body, `"s2"`)
	assert.Len(t, u.seen, 3, "a, a's repeated page, b")
}
