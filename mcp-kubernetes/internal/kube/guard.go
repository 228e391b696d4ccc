package kube

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	kjson "sigs.k8s.io/json"

	"github.com/opsmcp/opsmcp/shared/mask"
	"github.com/opsmcp/opsmcp/shared/memory"
)

// ErrOutOfScope is wrapped by every request a Guard refuses because it
// reaches past the caller's namespaces.
var ErrOutOfScope = errors.New("outside your namespaces")

// maxBody bounds one response read whole to be masked: a list page of 500
// objects is far below it.
const maxBody = 64 << 20

// Guard decides what one caller's requests may reach and hides what they
// must not see. It sits in front of the read-only transport, so that code
// we do not control (kubectl's printers, describers, log and rollout
// helpers) only ever sees masked objects in the caller's namespaces.
type Guard struct {
	// Masker masks decoded JSON structurally (Secret data, secret-looking
	// keys, secret env entries, then every string's text).
	Masker *mask.Masker
	// Text masks text bodies (logs) and whatever is not JSON.
	Text func(string) string
	// Namespace reports whether the caller may read namespace ns; nil
	// means every namespace.
	Namespace func(ns string) bool
	// Ctx bounds every request (kubectl's own code mostly uses
	// context.TODO()).
	Ctx context.Context
	// RawPaths are the non-resource paths a caller may read.
	RawPaths []string
	// Spread are the namespaces, all of them readable by the caller, that
	// a list across namespaces (kubectl -A) is made of for a caller
	// limited by Namespace: one list per namespace, merged, so the API
	// server is never asked about (and its continue token never names)
	// any other.
	Spread []string
	// Hold, when set, is the call's share of the process's memory for
	// answers: what the Guard's requests read is held against it (by
	// Counted, below the Guard), and a log's is given back once kubectl
	// has read it.
	Hold *memory.Hold

	mu sync.Mutex
	// last is the last upstream failure seen (401, 5xx, unreachable), so
	// the caller can name it as the API server's when kubectl flattens it
	// into a message.
	last error
}

// LastFailure returns the last upstream failure a request met, or nil.
func (g *Guard) LastFailure() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.last
}

func (g *Guard) failed(err error) {
	g.mu.Lock()
	g.last = err
	g.mu.Unlock()
}

// read reads an answer whole, bounded by maxBody (one byte past it, to
// tell).
func read(r io.Reader) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r, maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("read the API server's answer: %w", err)
	}
	return body, nil
}

// releasingBody is a text answer (a log) that kubectl's code copies out
// and closes: its memory is given back then, not at the call's end, so
// the logs of many pods are held only while each is read.
type releasingBody struct {
	*bytes.Reader
	once    sync.Once
	release func()
}

func (b *releasingBody) Close() error {
	b.once.Do(b.release)
	return nil
}

// Wrap returns next behind g.
func (g *Guard) Wrap(next http.RoundTripper) http.RoundTripper {
	return guardRT{g: g, next: next}
}

type guardRT struct {
	g    *Guard
	next http.RoundTripper
}

// jsonOnly is the Accept header every guarded request carries: protobuf
// and CBOR could not be masked, so they are never asked for.
func jsonOnly(accept string) string {
	var keep []string
	for _, part := range strings.Split(accept, ",") {
		p := strings.TrimSpace(part)
		if p == "" || strings.Contains(p, "protobuf") || strings.Contains(p, "cbor") {
			continue
		}
		keep = append(keep, p)
	}
	if len(keep) == 0 {
		return "application/json"
	}
	return strings.Join(keep, ",")
}

func (t guardRT) RoundTrip(req *http.Request) (*http.Response, error) {
	g := t.g
	if streams(req.URL.Query()) {
		closeBody(req)
		return nil, fmt.Errorf("a watch or follow request is refused: it never ends; call again to see changes")
	}
	filterName, spread, err := g.check(req)
	if err != nil {
		closeBody(req)
		return nil, err
	}
	ctx := req.Context()
	if g.Ctx != nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithCancel(ctx)
		defer cancel()
		stop := context.AfterFunc(g.Ctx, cancel)
		defer stop()
	}
	req = req.Clone(memory.WithHold(ctx, g.Hold))
	req.Header.Set("Accept", jsonOnly(req.Header.Get("Accept")))
	boundPage(req)
	var resp *http.Response
	var body []byte
	switch {
	case spread:
		resp, body, err = t.spread(req)
	case filterName:
		resp, body, err = t.allPages(req)
	default:
		resp, body, err = t.do(req)
	}
	if err != nil {
		return nil, err
	}
	if strings.HasSuffix(req.URL.Path, "/log") && resp.StatusCode == http.StatusOK {
		if n, err := strconv.Atoi(req.URL.Query().Get("limitBytes")); err == nil && len(body) >= n {
			// Said, so that a log past MaxLog is never silently short.
			body = append(WholeLines(body, n), fmt.Sprintf("[log cut at %d bytes: the line the cut went through is left out]\n", n)...)
		}
	}
	ct := resp.Header.Get("Content-Type")
	switch {
	case strings.Contains(ct, "json"):
		body, err = g.maskJSON(body, filterName)
		if err != nil {
			return nil, err
		}
	case ct == "" || strings.HasPrefix(ct, "text/") || strings.Contains(ct, "yaml"):
		read := int64(len(body)) * g.Hold.Cost()
		body = []byte(g.Text(string(body)))
		if !strings.Contains(ct, "yaml") {
			resp.Body = &releasingBody{Reader: bytes.NewReader(body), release: func() { g.Hold.Give(read) }}
		}
	default:
		return nil, fmt.Errorf("the API server answered %s, which cannot be masked: ask for JSON output", ct)
	}
	if _, text := resp.Body.(*releasingBody); !text {
		resp.Body = io.NopCloser(bytes.NewReader(body))
	}
	resp.ContentLength = int64(len(body))
	resp.Header.Del("Content-Length")
	resp.Header.Del("Content-Encoding")
	return resp, nil
}

// streams reports whether a query asks for a watch or a follow in any
// spelling: the API server reads a boolean parameter as true unless it is
// "0" or "false" in any case (watch=1, watch=True and a bare watch= are
// watches); any such value, in any position, counts.
func streams(q url.Values) bool {
	for _, k := range []string{"watch", "follow"} {
		for _, v := range q[k] {
			if v != "0" && !strings.EqualFold(v, "false") {
				return true
			}
		}
	}
	return false
}

// WholeLines returns a log read with a byte limit without the line the
// limit cut (a log is cut at limit bytes, by the kubelet or here): a
// token cut short is no token to the masker, so a limit just before a
// token's last characters showed the rest in clear.
func WholeLines(log []byte, limit int) []byte {
	if limit < 0 || len(log) < limit {
		return log
	}
	log = log[:limit]
	return log[:bytes.LastIndexByte(log, '\n')+1]
}

// MaxPage bounds a list page asked of the API server (kubectl's own chunk
// size): a larger --chunk-size would decode every object of a type at
// once. kubectl follows the continue token, so the output is the same.
const MaxPage = 500

// MaxLog bounds the bytes of one container's log read whole to be
// masked, when the caller gave no smaller --limit-bytes: one byte past
// k8s_kubectl's 8 MiB output, so a longer log still ends in its "output
// cut" line rather than silently short.
const MaxLog = 8<<20 + 1

// boundPage lowers a list request's limit to MaxPage, and a log request's
// limitBytes to MaxLog.
func boundPage(req *http.Request) {
	q := req.URL.Query()
	changed := false
	if n, err := strconv.Atoi(q.Get("limit")); err == nil && n > MaxPage {
		q.Set("limit", strconv.Itoa(MaxPage))
		changed = true
	}
	if strings.HasSuffix(req.URL.Path, "/log") {
		if n, err := strconv.Atoi(q.Get("limitBytes")); err != nil || n > MaxLog {
			q.Set("limitBytes", strconv.Itoa(MaxLog))
			changed = true
		}
	}
	if changed {
		req.URL.RawQuery = q.Encode()
	}
}

// do sends req and reads its answer whole, bounded.
func (t guardRT) do(req *http.Request) (*http.Response, []byte, error) {
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		t.g.failed(err)
		return nil, nil, err
	}
	if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode >= 500 {
		t.g.failed(fmt.Errorf("the API server answered %s", resp.Status))
	}
	body, err := read(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, nil, err
	}
	if len(body) > maxBody {
		return nil, nil, fmt.Errorf("the API server's answer is over %d MiB: narrow the request (a selector, a namespace, --chunk-size)", maxBody>>20)
	}
	return resp, body, nil
}

// spread answers a list across namespaces with one list per namespace of
// Spread, every page of each, merged into one answer without a continue
// token. A type the API server does not serve per namespace (404) is
// cluster-scoped: outside the caller's namespaces.
func (t guardRT) spread(req *http.Request) (*http.Response, []byte, error) {
	segs := strings.Split(strings.Trim(req.URL.Path, "/"), "/")
	prefix, res := "/"+strings.Join(segs[:len(segs)-1], "/"), segs[len(segs)-1]
	var merged map[string]any
	var first *http.Response
	total := 0
	for _, ns := range t.g.Spread {
		m, resp, answer, err := t.pages(req, prefix+"/namespaces/"+ns+"/"+res, res+" in "+ns, &total)
		if err != nil {
			return nil, nil, err
		}
		if answer != nil {
			if resp.StatusCode == http.StatusNotFound {
				return nil, nil, fmt.Errorf("%s are cluster-scoped: %w", res, ErrOutOfScope)
			}
			if resp.StatusCode == http.StatusOK {
				return nil, nil, fmt.Errorf("the API server's list of %s in %s is not JSON", res, ns)
			}
			return resp, answer, nil // the API server's refusal, as kubectl shows it
		}
		if merged == nil {
			merged, first = m, resp
		} else {
			appendItems(merged, m)
		}
	}
	if merged == nil {
		return nil, nil, fmt.Errorf("you may read no namespace: %w", ErrOutOfScope)
	}
	if md, ok := merged["metadata"].(map[string]any); ok {
		delete(md, "continue")
		delete(md, "remainingItemCount")
	}
	b, err := json.Marshal(merged)
	if err != nil {
		return nil, nil, fmt.Errorf("encode the merged list: %w", err)
	}
	if err := t.g.Hold.TakeAt(len(b), CopyCost); err != nil {
		return nil, nil, err
	}
	return first, b, nil
}

// allPages answers the namespace list with every page of it merged: the
// list is filtered by name and its continue token dropped (it names the
// last namespace read), so kubectl could not ask for the next page, and
// a caller's namespace past the first page (--chunk-size=1, or past 500
// namespaces) was silently missing.
func (t guardRT) allPages(req *http.Request) (*http.Response, []byte, error) {
	total := 0
	merged, first, answer, err := t.pages(req, req.URL.Path, "the namespace list", &total)
	if err != nil || answer != nil {
		return first, answer, err // the API server's answer, as kubectl shows it
	}
	b, err := json.Marshal(merged)
	if err != nil {
		return nil, nil, fmt.Errorf("encode the merged namespace list: %w", err)
	}
	if err := t.g.Hold.TakeAt(len(b), CopyCost); err != nil {
		return nil, nil, err
	}
	return first, b, nil
}

// pages reads every page of the list at path (req's query otherwise),
// following its continue token, and merges their items and rows into the
// first page's object. A first page that is not a JSON 200 comes back as
// answer, for the caller to pass on; such a later page is an error. total
// counts the bytes read across calls, bounded by maxBody; a continue token
// the API server repeats ends the list rather than looping on it.
func (t guardRT) pages(req *http.Request, path, what string, total *int) (merged map[string]any, first *http.Response, answer []byte, err error) {
	cont := ""
	for {
		sub := req.Clone(req.Context())
		u := *req.URL
		u.Path = path
		q := u.Query()
		q.Del("continue")
		if cont != "" {
			q.Set("continue", cont)
		}
		u.RawQuery = q.Encode()
		sub.URL = &u
		resp, body, err := t.do(sub)
		if err != nil {
			return nil, nil, nil, err
		}
		if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Content-Type"), "json") {
			if merged == nil {
				return nil, resp, body, nil
			}
			return nil, nil, nil, fmt.Errorf("the API server answered %s on a later page of %s", resp.Status, what)
		}
		if *total += len(body); *total > maxBody {
			return nil, nil, nil, fmt.Errorf("the lists read up to %s are over %d MiB: narrow the request (a selector, a namespace)", what, maxBody>>20)
		}
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			return nil, nil, nil, fmt.Errorf("decode the API server's %s: %w", what, err)
		}
		md, _ := m["metadata"].(map[string]any)
		sent := cont
		cont, _ = md["continue"].(string)
		if merged == nil {
			merged, first = m, resp
		} else if cont != sent {
			appendItems(merged, m)
		}
		if cont == "" || cont == sent {
			return merged, first, nil, nil // the last page, or an API server repeating itself
		}
	}
}

// appendItems adds a list page's items (or a table's rows) to merged.
func appendItems(merged, page map[string]any) {
	for _, k := range []string{"items", "rows"} {
		if more, ok := page[k].([]any); ok {
			have, _ := merged[k].([]any)
			merged[k] = append(have, more...)
		}
	}
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

// check refuses a request outside the caller's namespaces. It returns
// true when the answer is a list of namespaces to be filtered by name.
func (g *Guard) check(req *http.Request) (filter, spread bool, err error) {
	p := req.URL.Path
	segs := strings.Split(strings.Trim(p, "/"), "/")
	var rest []string
	switch {
	case len(segs) >= 2 && segs[0] == "api":
		rest = segs[2:]
	case len(segs) >= 3 && segs[0] == "apis":
		rest = segs[3:]
	default:
		// Discovery and OpenAPI (kubectl's own lookups), and the raw
		// paths offered.
		if p == "/api" || p == "/apis" || strings.HasPrefix(p, "/openapi/v3") || p == "/version" {
			return false, false, nil
		}
		for _, r := range g.RawPaths {
			if p == r {
				return false, false, nil
			}
		}
		return false, false, fmt.Errorf("%s is not offered: only the API's resources, discovery, OpenAPI v3 and %s", p, strings.Join(g.RawPaths, ", "))
	}
	if len(rest) == 0 || g.Namespace == nil {
		return false, false, nil // a group's discovery document, or no scope
	}
	if rest[0] == "namespaces" && len(rest) >= 2 {
		if !g.Namespace(rest[1]) {
			return false, false, fmt.Errorf("namespace %q: %w", rest[1], ErrOutOfScope)
		}
		return false, false, nil
	}
	if segs[0] == "api" && rest[0] == "namespaces" {
		return true, false, nil // the namespace list: filtered by name
	}
	if req.Method == http.MethodPost && strings.HasPrefix(p, "/apis/authorization.k8s.io/") {
		return false, false, g.checkReview(req, rest)
	}
	if req.Method == http.MethodGet && len(rest) == 1 && g.Spread != nil {
		return false, true, nil // a list across namespaces: one per namespace
	}
	return false, false, fmt.Errorf("%s across namespaces or of the cluster: %w", rest[0], ErrOutOfScope)
}

// checkReview holds an access or rules review to the caller's namespaces:
// the namespace read is the one the API server reads for the review's
// kind (rest, the path after the group version), and an access review
// must ask about a resource in it.
func (g *Guard) checkReview(req *http.Request, rest []string) error {
	if req.Body == nil {
		return fmt.Errorf("an access review without a body")
	}
	b, err := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	req.Body.Close()
	if err != nil {
		return fmt.Errorf("read the access review: %w", err)
	}
	var r struct {
		Spec struct {
			Namespace          string `json:"namespace"`
			ResourceAttributes *struct {
				Namespace string `json:"namespace"`
			} `json:"resourceAttributes"`
			NonResourceAttributes json.RawMessage `json:"nonResourceAttributes"`
		} `json:"spec"`
	}
	// Read as the API server reads it: keys case-sensitively, the last of
	// repeated keys. Go's own decoder would also take "Namespace".
	if err := kjson.UnmarshalCaseSensitivePreserveInts(b, &r); err != nil {
		return fmt.Errorf("decode the access review: %w", err)
	}
	// Each kind has one namespace field and the API server ignores the
	// other: a rules review's resourceAttributes, an access review's
	// spec.namespace. A non-resource question is about the cluster.
	var ns string
	switch kind := strings.Join(rest, "/"); kind {
	case "selfsubjectrulesreviews":
		ns = r.Spec.Namespace
	case "selfsubjectaccessreviews":
		if r.Spec.ResourceAttributes == nil || len(r.Spec.NonResourceAttributes) > 0 {
			return fmt.Errorf("an access review must ask about a resource in a namespace, not a non-resource path: %w", ErrOutOfScope)
		}
		ns = r.Spec.ResourceAttributes.Namespace
	default:
		return fmt.Errorf("a %s review: %w", kind, ErrOutOfScope)
	}
	if ns == "" || !g.Namespace(ns) {
		return fmt.Errorf("a question about namespace %q: %w", ns, ErrOutOfScope)
	}
	req.Body = io.NopCloser(bytes.NewReader(b))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	return nil
}

// maskJSON masks a JSON answer structurally, keeping numbers exact, and
// drops namespaces the caller may not read from a namespace list.
func (g *Guard) maskJSON(body []byte, filterNamespaces bool) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil || dec.More() {
		// Not one JSON document: masked as text, so nothing passes.
		return []byte(g.Text(string(body))), nil
	}
	if filterNamespaces {
		v = g.filterNamespaces(v)
	}
	hidden := g.maskLastApplied(v)
	out, n := g.Masker.Value(v)
	if n == 0 && hidden == 0 && !filterNamespaces {
		// Nothing to hide: the answer as the API server wrote it (get
		// --raw prints its bytes).
		return body, nil
	}
	encodeSecretData(out)
	b, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("encode the masked answer: %w", err)
	}
	return b, nil
}

// lastApplied is the annotation kubectl apply leaves: a copy of the object
// as applied, a Secret's data included, as one JSON string.
const lastApplied = "kubectl.kubernetes.io/last-applied-configuration"

// maskLastApplied masks each last-applied copy as the object it is, so a
// Secret's data inside it is masked as Secret data and not left to the
// text detectors.
func (g *Guard) maskLastApplied(v any) int {
	n := 0
	switch t := v.(type) {
	case []any:
		for _, e := range t {
			n += g.maskLastApplied(e)
		}
	case map[string]any:
		if ann, ok := t["annotations"].(map[string]any); ok {
			if s, ok := ann[lastApplied].(string); ok {
				if m := g.maskEmbedded(s); m != s {
					ann[lastApplied] = m
					n++
				}
			}
		}
		for _, e := range t {
			n += g.maskLastApplied(e)
		}
	}
	return n
}

// maskEmbedded masks a JSON document held in a string, structurally when
// it parses and as text when it does not.
func (g *Guard) maskEmbedded(s string) string {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var inner any
	if err := dec.Decode(&inner); err != nil || dec.More() {
		return g.Text(s)
	}
	out, n := g.Masker.Value(inner)
	if n == 0 {
		return s
	}
	b, err := json.Marshal(out)
	if err != nil {
		return g.Text(s)
	}
	if strings.HasSuffix(s, "\n") {
		return string(b) + "\n" // as kubectl apply writes it
	}
	return string(b)
}

// filterNamespaces keeps the items (or table rows) of a namespace list
// that the caller may read, and drops the paging hints that would count
// or name the others.
func (g *Guard) filterNamespaces(v any) any {
	m, ok := v.(map[string]any)
	if !ok {
		return v
	}
	keep := func(list any, name func(map[string]any) string) []any {
		items, _ := list.([]any)
		out := []any{}
		for _, it := range items {
			im, _ := it.(map[string]any)
			if n := name(im); n != "" && g.Namespace(n) {
				out = append(out, it)
			}
		}
		return out
	}
	metaName := func(o map[string]any) string {
		md, _ := o["metadata"].(map[string]any)
		n, _ := md["name"].(string)
		return n
	}
	if _, ok := m["items"]; ok {
		m["items"] = keep(m["items"], metaName)
	}
	if _, ok := m["rows"]; ok {
		m["rows"] = keep(m["rows"], func(r map[string]any) string {
			o, _ := r["object"].(map[string]any)
			return metaName(o)
		})
	}
	if md, ok := m["metadata"].(map[string]any); ok {
		delete(md, "continue")
		delete(md, "remainingItemCount")
	}
	return m
}

// encodeSecretData turns each masked Secret value back into base64, as
// the API sends it, so typed decoders (kubectl describe) still read the
// object: decoded, a value is its placeholder.
func encodeSecretData(v any) {
	switch t := v.(type) {
	case []any:
		for _, e := range t {
			encodeSecretData(e)
		}
	case map[string]any:
		secretList := t["kind"] == "SecretList"
		if items, ok := t["items"].([]any); ok && secretList {
			for _, it := range items {
				if im, ok := it.(map[string]any); ok {
					encodeData(im)
				}
			}
		}
		if t["kind"] == "Secret" || isSecretItem(t) {
			encodeData(t)
		}
		for k, e := range t {
			if k != "data" {
				encodeSecretData(e)
			}
		}
	}
}

// isSecretItem reports whether m looks like a list's Secret item (no kind,
// a type and data).
func isSecretItem(m map[string]any) bool {
	if _, ok := m["kind"]; ok {
		return false
	}
	_, typed := m["type"].(string)
	_, data := m["data"].(map[string]any)
	_, meta := m["metadata"].(map[string]any)
	return typed && data && meta
}

func encodeData(m map[string]any) {
	data, ok := m["data"].(map[string]any)
	if !ok {
		return
	}
	for k, e := range data {
		if s, ok := e.(string); ok && mask.IsPlaceholder(strings.SplitN(s, " ", 2)[0]) {
			data[k] = base64.StdEncoding.EncodeToString([]byte(s))
		}
	}
}
