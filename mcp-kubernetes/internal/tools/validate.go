package tools

import (
	"strings"

	"k8s.io/apimachinery/pkg/api/validation/path"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/opsmcp/opsmcp/mcp-kubernetes/internal/kube"
	"github.com/opsmcp/opsmcp/shared/mask"
	"github.com/opsmcp/opsmcp/shared/tool"
)

// Every caller value that reaches an API server URL is checked here by
// Kubernetes' own naming rules before any request: a name is one path
// segment, so it can never add "/proxy", "/exec" or "../" to a path, and a
// namespace is a DNS label, so it can never name another one.

// dangerous are subresources whose GET runs code on a node or in a
// workload (proxy reaches the application or the kubelet; exec, attach and
// port-forward open a session, over a WebSocket GET since Kubernetes 1.30).
var dangerous = map[string]bool{"proxy": true, "exec": true, "attach": true, "portforward": true, "port-forward": true}

// refuseSubresource returns a denial when v, a NAME (or TYPE) that should
// be one path segment, goes on to a dangerous subresource in any later
// "/"-separated segment (NAME/proxy, NAME/../x/exec), else nil. The first
// segment is left alone: a pod may be called "proxy".
func refuseSubresource(what, v string) error {
	segs := strings.Split(v, "/")
	for _, seg := range segs[1:] {
		if dangerous[strings.ToLower(seg)] {
			return tool.Deniedf("%s %q reaches the %s subresource, which is refused: it runs code in a workload or on a node, and this server only reads", what, v, strings.ToLower(seg))
		}
	}
	return nil
}

// checkName checks an object name before any request: one path segment
// (no "/", no "%", not "." or ".."), at most 253 bytes.
func checkName(what, name string) error {
	if err := refuseSubresource(what, name); err != nil {
		return err
	}
	if name == "" {
		return tool.Argf("%s is empty: give an object's name", what)
	}
	if len(name) > validation.DNS1123SubdomainMaxLength {
		return tool.Argf("%s is %d bytes long: Kubernetes names have at most %d", what, len(name), validation.DNS1123SubdomainMaxLength)
	}
	if msgs := path.IsValidPathSegmentName(name); len(msgs) > 0 {
		return tool.Argf("%s %q is not an object name: %s (to reach another namespace use namespace; subresources are not offered)", what, name, strings.Join(msgs, "; "))
	}
	return nil
}

// checkNameFor checks name by the naming rule of resource type res, after
// checkName.
func checkNameFor(what, name string, res kube.Resource) error {
	if err := checkName(what, name); err != nil {
		return err
	}
	var msgs []string
	switch {
	case res.GVR.Group == "" && res.GVR.Resource == "namespaces":
		msgs = validation.IsDNS1123Label(name)
	case res.GVR.Group == "" && res.GVR.Resource == "services":
		msgs = validation.IsDNS1035Label(name)
	case res.GVR.Group == "rbac.authorization.k8s.io", res.GVR.Group == "certificates.k8s.io":
		// Roles ("system:controller:…") and CSRs ("node-csr-Ab…") take
		// any single path segment, which checkName already asked for.
	default:
		msgs = validation.IsDNS1123Subdomain(name)
	}
	if len(msgs) > 0 {
		return tool.Argf("%s %q is not a valid %s name: %s", what, name, strings.ToLower(res.Kind), strings.Join(msgs, "; "))
	}
	return nil
}

// checkNamespace checks a namespace name (a DNS-1123 label).
func checkNamespace(ns string) error {
	if err := refuseSubresource("namespace", ns); err != nil {
		return err
	}
	if msgs := validation.IsDNS1123Label(ns); len(msgs) > 0 {
		return tool.Argf("namespace %q is not a namespace name: %s", ns, strings.Join(msgs, "; "))
	}
	return nil
}

// checkResource checks a resource type as a caller typed it (pods, po,
// deployments.apps, Deployment, a CRD's plural): a DNS-1123 subdomain once
// lower-cased, never a subresource.
func checkResource(r string) error {
	if r == "" {
		return tool.Argf("resource is empty: give a type such as pods, deploy, svc, events, or a CRD's name")
	}
	if err := refuseSubresource("resource", r); err != nil {
		return err
	}
	if strings.Contains(r, "/") {
		return tool.Argf("resource %q names a subresource, which is not offered: give the type (pods) and the name apart", r)
	}
	if msgs := validation.IsDNS1123Subdomain(strings.ToLower(r)); len(msgs) > 0 {
		return tool.Argf("resource %q is not a resource type: %s (see k8s_api_resources)", r, strings.Join(msgs, "; "))
	}
	return nil
}

// checkContainer checks a container name (a DNS-1123 label).
func checkContainer(c string) error {
	if err := refuseSubresource("container", c); err != nil {
		return err
	}
	if msgs := validation.IsDNS1123Label(c); len(msgs) > 0 {
		return tool.Argf("container %q is not a container name: %s", c, strings.Join(msgs, "; "))
	}
	return nil
}

// checkSelectors parses label and field selectors as the API server will,
// and refuses one that compares the value of a label or field whose
// values are masked (a secret-looking key): its match count would reveal
// a hidden value, guess by guess. Testing that such a label exists is
// fine: key names are shown anyway.
func checkSelectors(label, field string) error {
	if label != "" {
		sel, err := labels.Parse(label)
		if err != nil {
			return tool.Argf("label_selector %q: %v (e.g. app=web,tier!=cache or 'env in (a,b)')", label, err)
		}
		reqs, _ := sel.Requirements()
		for _, r := range reqs {
			key := r.Key()
			if _, name, ok := strings.Cut(key, "/"); ok {
				key = name
			}
			if r.Operator() != selection.Exists && r.Operator() != selection.DoesNotExist && mask.SensitiveKey(key) {
				return tool.Deniedf("label_selector compares the value of label %q, whose values are masked: select by another label", r.Key())
			}
		}
	}
	if field != "" {
		sel, err := fields.ParseSelector(field)
		if err != nil {
			return tool.Argf("field_selector %q: %v (e.g. status.phase=Running)", field, err)
		}
		for _, r := range sel.Requirements() {
			last := r.Field[strings.LastIndex(r.Field, ".")+1:]
			if mask.SensitiveKey(last) {
				return tool.Deniedf("field_selector compares field %q, whose values are masked: select by another field", r.Field)
			}
		}
	}
	return nil
}

// maxContinue bounds the API server's continue token (a few hundred bytes
// in practice).
const maxContinue = 8192

func checkContinue(c string) error {
	if len(c) > maxContinue {
		return tool.Argf("continue is %d bytes long: pass back the token a previous page returned", len(c))
	}
	return nil
}
