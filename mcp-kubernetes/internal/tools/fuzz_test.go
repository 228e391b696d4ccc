package tools

import (
	"errors"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/validation/path"

	"github.com/opsmcp/opsmcp/shared/tool"
)

// checkRequest says what is wrong with a request the fake API server got
// from a caller limited to namespace web, or "" when it stays inside: a
// GET of /api/v1 or /apis/G/V, then namespaces/web (or the namespace web
// itself, or the list of namespaces), a resource, a name, and no
// subresource but a pod's log; a list across namespaces (filtered);
// /version or OpenAPI v3; or a self-review POST about namespace web.
// clusterScoped are the fake API server's cluster-scoped types besides
// namespaces.
var clusterScoped = map[string]bool{"nodes": true, "clusterroles": true, "certificatesigningrequests": true}

func checkRequest(req string) string {
	method, uri, _ := strings.Cut(req, " ")
	uri, reviewNS, _ := strings.Cut(uri, " namespace=")
	u, err := url.ParseRequestURI(uri)
	if err != nil {
		return "unparsable: " + err.Error()
	}
	if method == "POST" {
		// kubectl auth can-i: a self-review about namespace web only.
		switch u.Path {
		case "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews":
			if reviewNS != "web" {
				return "a self-review about namespace " + strconv.Quote(reviewNS)
			}
			return ""
		}
		return "a POST"
	}
	if method != "GET" {
		return "not a GET"
	}
	if strings.Contains(u.EscapedPath(), "%") {
		return "encoded characters in the path"
	}
	if u.Path == "/version" || u.Path == "/openapi/v3" || strings.HasPrefix(u.Path, "/openapi/v3/") {
		return "" // kubectl explain reads the OpenAPI schema
	}
	segs := strings.Split(strings.TrimPrefix(u.Path, "/"), "/")
	for _, s := range segs {
		if s == "" || s == "." || s == ".." {
			return "empty or dot segment"
		}
	}
	switch {
	case len(segs) >= 2 && segs[0] == "api" && segs[1] == "v1":
		segs = segs[2:]
	case len(segs) >= 3 && segs[0] == "apis":
		segs = segs[3:]
	default:
		return "not an API path"
	}
	switch {
	case len(segs) > 2 && segs[0] == "namespaces":
		if segs[1] != "web" {
			return "namespace " + segs[1]
		}
		segs = segs[2:]
	case len(segs) > 0 && segs[0] == "namespaces":
		if len(segs) == 2 && segs[1] != "web" {
			return "the namespace object " + segs[1]
		}
		return "" // the list of namespaces is filtered by name
	case len(segs) == 1 && !clusterScoped[segs[0]]:
		return "" // a list across namespaces, filtered by namespace
	default:
		return "a cluster-scoped resource or an object outside a namespace: " + strings.Join(segs, "/")
	}
	switch len(segs) {
	case 1, 2:
		return ""
	case 3:
		if segs[0] == "pods" && segs[2] == "log" {
			return ""
		}
	}
	return "a subresource: " + strings.Join(segs, "/")
}

func TestCheckRequest(t *testing.T) {
	for req, bad := range map[string]bool{
		"GET /api/v1/namespaces/web/pods?limit=100":    false,
		"GET /api/v1/namespaces/web/pods/p/log?x=1":    false,
		"GET /api/v1/namespaces/web/pods/proxy":        false,
		"GET /api/v1/namespaces/web":                   false,
		"GET /api/v1/namespaces":                       false,
		"GET /apis/apps/v1/namespaces/web/deployments": false,
		"GET /version": false,
		"GET /api/v1/namespaces/kube-system/secrets": true,
		"GET /api/v1/namespaces/kube-system":         true,
		"GET /api/v1/namespaces/web/pods/p/proxy/x":  true,
		"GET /api/v1/namespaces/web/pods/p/exec":     true,
		"GET /api/v1/nodes/n1/proxy/configz":         true,
		"GET /api/v1/nodes":                          true,
		"GET /api/v1/pods?limit=100":                 false,
		"GET /api/v1/pods/x":                         true,
		"GET /api/v1/namespaces/web/pods/a%2Fb":      true,
		"POST /api/v1/namespaces/web/pods":           true,
	} {
		if got := checkRequest(req); (got != "") != bad {
			t.Errorf("%s: %q", req, got)
		}
	}
}

// FuzzParseKubectl runs any command line through k8s_kubectl, as an SRE
// limited to namespace web, against the fake API server: nothing panics,
// an error is an argument error or a denial, and every request that
// reached the server stays inside namespace web with no subresource but a
// pod's log.
func FuzzParseKubectl(f *testing.F) {
	for _, seed := range []string{
		"get pods -n web -l app=api -o wide", "kubectl get pods/x/proxy/admin/flush -n web", "get namespaces kube-system/secrets",
		"get ns ../nodes/n1/proxy/configz", "logs pod/p -c app --tail 50 --since=10m -p -n web", "describe deploy/api",
		"events pod/x -n web --types Warning", "rollout status deploy/api", "get pods -A", "get events -A --field-selector type=Warning",
		"get pods -n 'web/../kube-system'", "get po x%2f..%2fsecrets", "config get-contexts", "version", "api-resources",
		"get secrets -n kube-system", "get nodes", "logs pods/p/exec", "get pods -l 'a in (b'", "get pods --chunk-size=-1",
	} {
		f.Add(seed)
	}
	api := newFakeAPI(f)
	s := api.server(f)
	f.Fuzz(func(t *testing.T, line string) {
		api.reset()
		c := callAs(t, attackPolicy, "k8s_kubectl", "websre")
		res, err := s.kubectl(t.Context(), c, KubectlInput{Command: line})
		if err == nil && res == nil {
			t.Fatalf("%q: no result and no error", line)
		}
		for _, req := range api.requests() {
			if why := checkRequest(req); why != "" {
				t.Fatalf("%q sent %s: %s", line, req, why)
			}
		}
	})
}

// FuzzTypeName: whatever a TYPE/NAME argument of k8s_kubectl, one that
// passes checkTypeName has a type without "/" and a name that is exactly
// one valid path segment naming no dangerous subresource; a failure is an
// argument error or a denial.
func FuzzTypeName(f *testing.F) {
	for _, seed := range []string{"pods/x", "pods/x/proxy/admin", "nodes/n1/proxy", "deploy/api", "pods/", "ns/../kube-system", "/x", "po%2fx/y"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, arg string) {
		err := checkTypeName(arg)
		if err != nil {
			if !errors.Is(err, tool.ErrArgs) && !errors.Is(err, tool.ErrDenied) {
				t.Fatalf("%q: %v is neither an argument error nor a denial", arg, err)
			}
			return
		}
		res, name, ok := strings.Cut(arg, "/")
		if !ok || strings.Contains(res, "/") || res == "" {
			t.Fatalf("%q passed without a type", arg)
		}
		if msgs := path.IsValidPathSegmentName(name); len(msgs) > 0 || name == "" || strings.ContainsAny(name, "/%") {
			t.Fatalf("%q: name %q passed the checks but is not one path segment: %v", arg, name, msgs)
		}
	})
}

// FuzzParseSince: a since argument is refused with an argument error, or
// becomes at least one whole second, no fewer than it asked for and less
// than one second more.
func FuzzParseSince(f *testing.F) {
	for _, s := range []string{"10m", "1ns", "1.5s", "2h45m", "-5m", "0", "yesterday", "9223372036854775807ns", "1e3s", "2562047h47m16.854775807s", ".5µs"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		secs, err := parseSince(s)
		if err != nil {
			if !errors.Is(err, tool.ErrArgs) {
				t.Fatalf("%q: %v is not an argument error", s, err)
			}
			return
		}
		d, perr := time.ParseDuration(s)
		if perr != nil || d <= 0 {
			t.Fatalf("%q accepted, but it is not a positive duration", s)
		}
		if secs < 1 {
			t.Fatalf("%q: %d seconds", s, secs)
		}
		if asked := d.Seconds(); float64(secs) < asked || float64(secs) >= asked+1 {
			t.Fatalf("%q: %d seconds for %v", s, secs, d)
		}
	})
}

// FuzzMaskLogLines: a private key printed over many lines, between lines
// the fuzzer chooses, read through any window of lines cut at any byte
// (what tail, since and limit_bytes give), and masked in pieces of any
// size (maskLog), never comes back in clear: no 16-byte piece of a body
// line survives. On any text at all maskLogLines does not panic and never
// adds lines.
func FuzzMaskLogLines(f *testing.F) {
	f.Add("INFO starting", "INFO ready", uint16(0), uint16(100), uint16(0), uint16(0))
	f.Add("", "", uint16(3), uint16(5), uint16(10), uint16(90))
	f.Add("QUJDREVGR0hJSktMTU5PUFFSU1RVVldY", "-----END RSA PRIVATE KEY-----", uint16(4), uint16(12), uint16(0), uint16(200))
	f.Add("-----BEGIN PRIVATE KEY-----", "", uint16(1), uint16(9), uint16(40), uint16(7))
	f.Add("Proc-Type: 4,ENCRYPTED\nDEK-Info: AES", "x\ny", uint16(2), uint16(11), uint16(1), uint16(333))
	body := pemBody(5)
	f.Fuzz(func(t *testing.T, before, after string, start, end, cut, chunk uint16) {
		if strings.ContainsAny(before+after, "\r") {
			return // lines are \n-separated; a bare \r is one line's text
		}
		if got := maskLogLines(before); len(got) > strings.Count(before, "\n")+1 {
			t.Fatalf("%d lines from %d", len(got), strings.Count(before, "\n")+1)
		}
		var texts []string
		if before != "" {
			texts = append(texts, strings.Split(before, "\n")...)
		}
		texts = append(texts, "-----BEGIN RSA PRIVATE KEY-----")
		texts = append(texts, body...)
		texts = append(texts, "-----END RSA PRIVATE KEY-----")
		if after != "" {
			texts = append(texts, strings.Split(after, "\n")...)
		}
		lines := strings.SplitAfter(strings.TrimSuffix(kubeletLog(texts), "\n"), "\n")
		s, e := int(start)%len(lines), int(end)%(len(lines)+1)
		if e <= s {
			return
		}
		window := strings.Join(lines[s:e], "")
		if c := int(cut) % 80; c < len(window) {
			window = window[:len(window)-c]
		}
		size := maskChunk
		if chunk > 0 {
			size = 16 + int(chunk)%1024
		}
		out := strings.Join(maskLog(&tool.Call{}, window, size), "\n")
		for _, l := range body {
			for i := 0; i+16 <= len(l); i += 16 {
				if strings.Contains(out, l[i:i+16]) {
					t.Fatalf("window %d..%d cut %d pieces of %d: key piece %q came back in\n%s", s, e, cut, size, l[i:i+16], out)
				}
			}
		}
	})
}
