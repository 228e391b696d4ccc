package tools

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/cli-runtime/pkg/printers"

	"github.com/opsmcp/opsmcp/mcp-kubernetes/internal/kube"
	"github.com/opsmcp/opsmcp/shared/tool"
)

// GetInput are k8s_get's arguments.
type GetInput struct {
	Resource      string `json:"resource" jsonschema:"resource type as kubectl takes it: pods, po, deploy, sts, cm, ev, ns, no, svc, ing, pvc, secrets, a CRD's plural or short name"`
	Name          string `json:"name,omitempty" jsonschema:"one object's name; omit to list"`
	Namespace     string `json:"namespace,omitempty" jsonschema:"namespace (default: the context's namespace); ignored for cluster-scoped kinds"`
	AllNamespaces bool   `json:"all_namespaces,omitempty" jsonschema:"list across all namespaces"`
	LabelSelector string `json:"label_selector,omitempty" jsonschema:"label selector, e.g. app=web,tier!=cache"`
	FieldSelector string `json:"field_selector,omitempty" jsonschema:"field selector, e.g. status.phase=Running"`
	Output        string `json:"output,omitempty" jsonschema:"table (default, kubectl columns), wide, yaml, json or name"`
	Limit         int64  `json:"limit,omitempty" jsonschema:"page size asked of the API server (default 100, at most 500)"`
	Continue      string `json:"continue,omitempty" jsonschema:"the API server's continue token from a previous page"`
	Context       string `json:"context,omitempty" jsonschema:"kubeconfig context (default: the server's)"`
}

// GetOutput is k8s_get's structured result.
type GetOutput struct {
	Kind      string   `json:"kind"`
	Namespace string   `json:"namespace,omitempty"`
	Output    string   `json:"output"`
	Columns   []string `json:"columns,omitempty"`
	Items     []any    `json:"items"`
	Continue  string   `json:"continue,omitempty" jsonschema:"pass as continue to get the next page from the API server"`
}

const defaultLimit = 100

// maxLimit bounds a page asked of the API server (kubectl's own chunk
// size): a larger limit would decode every object of a type at once.
const maxLimit = 500

func (s *Server) get(ctx context.Context, c *tool.Call, in GetInput) (*tool.Result, error) {
	return s.getAs(ctx, direct(c), in)
}

// checkGet checks every caller value of k8s_get that reaches a URL, before
// any request (discovery included).
func checkGet(in GetInput) error {
	if err := checkResource(in.Resource); err != nil {
		return err
	}
	if in.Name != "" {
		if err := checkName("name", in.Name); err != nil {
			return err
		}
		// As kubectl: a name across all namespaces would be a request
		// outside any namespace (GET /api/v1/events/NAME), past the
		// caller's namespace scope.
		if in.AllNamespaces {
			return tool.Argf("a resource cannot be retrieved by name across all namespaces: give its namespace (namespace or -n) instead of all_namespaces (-A)")
		}
	}
	if in.Namespace != "" {
		if err := checkNamespace(in.Namespace); err != nil {
			return err
		}
	}
	if err := checkSelectors(in.LabelSelector, in.FieldSelector); err != nil {
		return err
	}
	return checkContinue(in.Continue)
}

func (s *Server) getAs(ctx context.Context, a access, in GetInput) (*tool.Result, error) {
	if err := checkGet(in); err != nil {
		return nil, err
	}
	cl, res, ns, err := s.target(a, in.Context, in.Resource, in.Namespace, in.AllNamespaces)
	if err != nil {
		return nil, err
	}
	if in.Name != "" {
		if err := checkNameFor("name", in.Name, res); err != nil {
			return nil, err
		}
		if isNamespaces(res) && !a.allows("namespaces", in.Name) {
			return nil, tool.Deniedf("your role may not read namespace %q (allowed: %s)", in.Name, strings.Join(a.patterns("namespaces"), ", "))
		}
	}
	output := in.Output
	if output == "" {
		output = "table"
	}
	switch output {
	case "table", "wide", "yaml", "json", "name":
	default:
		return nil, tool.Argf("output %q: use table, wide, yaml, json or name", in.Output)
	}
	limit := in.Limit
	if limit <= 0 {
		limit = defaultLimit
	}
	limit = min(limit, maxLimit) // the continue token gives the rest
	var out GetOutput
	switch {
	case in.Name == "" && ns == "" && res.Namespaced && !a.everyNamespace():
		// A caller limited to some namespaces never lists across the
		// cluster: the API server's continue token names the last object
		// it read (team-a/db-creds), and empty pages count the hidden rows.
		out, err = s.listInScope(ctx, a, cl, res, in, limit, output)
	case output == "table" || output == "wide":
		out, err = s.getTable(ctx, a, cl, res, ns, in, limit, output == "wide", ns == "" && res.Namespaced)
	default:
		out, err = s.getObjects(ctx, a, cl, res, ns, in, limit, output)
	}
	if err != nil {
		return nil, err
	}
	if output == "table" || output == "wide" {
		return &tool.Result{Data: out, Render: renderTable}, nil
	}
	single := in.Name != ""
	return &tool.Result{Data: out, Render: func(d map[string]any) string { return renderObjects(d, output, single) }}, nil
}

// getObjects reads one object, or one page of a list, in ns ("" = all) as
// output yaml, json or name.
func (s *Server) getObjects(ctx context.Context, a access, cl *kube.Cluster, res kube.Resource, ns string, in GetInput, limit int64, output string) (GetOutput, error) {
	out := GetOutput{Kind: res.Kind, Namespace: ns, Output: output}
	var err error
	ri := cl.Dynamic.Resource(res.GVR)
	var objs []unstructured.Unstructured
	if in.Name != "" {
		var obj *unstructured.Unstructured
		if res.Namespaced {
			obj, err = ri.Namespace(ns).Get(ctx, in.Name, metav1.GetOptions{})
		} else {
			obj, err = ri.Get(ctx, in.Name, metav1.GetOptions{})
		}
		if err != nil {
			return out, fmt.Errorf("get %s %s: %w", strings.ToLower(res.Kind), in.Name, err)
		}
		objs = append(objs, *obj)
	} else {
		opts := metav1.ListOptions{LabelSelector: in.LabelSelector, FieldSelector: in.FieldSelector, Limit: limit, Continue: in.Continue}
		var list *unstructured.UnstructuredList
		if res.Namespaced {
			list, err = ri.Namespace(ns).List(ctx, opts)
		} else {
			list, err = ri.List(ctx, opts)
		}
		if err != nil {
			return out, fmt.Errorf("list %s in %s: %w", res.GVR.Resource, nsLabel(ns, res), err)
		}
		objs = list.Items
		out.Continue = list.GetContinue()
	}
	for i := range objs {
		if !s.visible(a, res, objs[i].GetNamespace(), objs[i].GetName()) {
			continue
		}
		if output == "name" {
			out.Items = append(out.Items, kubectlName(res, objs[i].GetName()))
			continue
		}
		out.Items = append(out.Items, Scrub(objs[i].Object))
	}
	if out.Items == nil {
		out.Items = []any{}
	}
	return out, nil
}

// scopeContinue marks k8s_get's own continue token for a list across the
// namespaces a caller may read: "ns:NAMESPACE:API-SERVER-TOKEN".
const scopeContinue = "ns:"

// listInScope lists res across the namespaces the caller may read, one
// namespace at a time, so the API server is never asked about (and never
// hands back a token naming) any other. Its continue token says which
// namespace to go on with and the API server's token within it.
func (s *Server) listInScope(ctx context.Context, a access, cl *kube.Cluster, res kube.Resource, in GetInput, limit int64, output string) (GetOutput, error) {
	out := GetOutput{Kind: res.Kind, Output: output, Items: []any{}}
	nss, err := s.namespacesInScope(ctx, a, cl)
	if err != nil {
		return out, err
	}
	start, token := 0, ""
	if in.Continue != "" {
		rest, ok := strings.CutPrefix(in.Continue, scopeContinue)
		ns, tok, ok2 := strings.Cut(rest, ":")
		if !ok || !ok2 {
			return out, tool.Argf("continue %q is not a token this tool returned for a list across your namespaces: pass back the continue of the previous page", in.Continue)
		}
		start = sort.SearchStrings(nss, ns)
		if start == len(nss) || nss[start] != ns {
			return out, tool.Argf("continue names namespace %q, which is not one you may read: pass back the continue of the previous page", ns)
		}
		token = tok
	}
	remaining := limit
	for i := start; i < len(nss); i++ {
		if remaining <= 0 {
			out.Continue = scopeContinue + nss[i] + ":"
			break
		}
		sub := in
		sub.AllNamespaces, sub.Namespace, sub.Continue = false, nss[i], token
		token = ""
		var page GetOutput
		if output == "table" || output == "wide" {
			page, err = s.getTable(ctx, a, cl, res, nss[i], sub, remaining, output == "wide", true)
		} else {
			page, err = s.getObjects(ctx, a, cl, res, nss[i], sub, remaining, output)
		}
		if err != nil {
			return out, err
		}
		if len(page.Columns) > len(out.Columns) {
			out.Columns = page.Columns
		}
		out.Items = append(out.Items, page.Items...)
		remaining -= int64(len(page.Items))
		if page.Continue != "" {
			out.Continue = scopeContinue + nss[i] + ":" + page.Continue
			break
		}
	}
	if output == "wide" {
		out.Output = "wide"
	}
	return out, nil
}

// namespacesInScope returns, sorted, the namespaces that exist and that
// the caller may read. When the server's identity may not list
// namespaces, the literal names of the caller's scope stand in.
func (s *Server) namespacesInScope(ctx context.Context, a access, cl *kube.Cluster) ([]string, error) {
	var names []string
	opts := metav1.ListOptions{Limit: 500}
	for {
		list, err := cl.Typed.CoreV1().Namespaces().List(ctx, opts)
		if err != nil {
			names = nil
			for _, t := range a.tools {
				for _, p := range a.c.Grant.Patterns(t, "namespaces") {
					if !strings.ContainsAny(p, `*?[\`) {
						names = append(names, p)
					}
				}
			}
			break
		}
		for _, n := range list.Items {
			names = append(names, n.Name)
		}
		if opts.Continue = list.Continue; opts.Continue == "" {
			break
		}
	}
	var out []string
	seen := map[string]bool{}
	for _, n := range names {
		if !seen[n] && checkNamespace(n) == nil && a.allows("namespaces", n) {
			seen[n] = true
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out, nil
}

func nsLabel(ns string, res kube.Resource) string {
	switch {
	case !res.Namespaced:
		return "the cluster"
	case ns == "":
		return "all namespaces"
	}
	return "namespace " + ns
}

// isNamespaces reports whether res is the Namespace type itself, whose
// objects the namespace scope matches by name.
func isNamespaces(res kube.Resource) bool {
	return res.GVR.Group == "" && res.GVR.Resource == "namespaces"
}

// target resolves a request's cluster, resource type and namespace ("" =
// all), checked against the caller's namespace scope.
func (s *Server) target(a access, context, resource, namespace string, all bool) (*kube.Cluster, kube.Resource, string, error) {
	if err := checkResource(resource); err != nil {
		return nil, kube.Resource{}, "", err
	}
	if namespace != "" {
		if err := checkNamespace(namespace); err != nil {
			return nil, kube.Resource{}, "", err
		}
	}
	cl, err := s.Clusters.Get(context)
	if err != nil {
		return nil, kube.Resource{}, "", tool.Argf("%v", err)
	}
	res, err := cl.Resolve(resource)
	if err != nil {
		if tool.IsUpstream(err) {
			return nil, kube.Resource{}, "", err
		}
		return nil, kube.Resource{}, "", tool.Argf("%v", err)
	}
	ns, err := s.namespaceFor(a, cl, res, namespace, all)
	if err != nil {
		return nil, kube.Resource{}, "", err
	}
	return cl, res, ns, nil
}

// namespaceFor decides the namespace of a request ("" = all) and checks it
// against the caller's namespace scope.
func (s *Server) namespaceFor(a access, cl *kube.Cluster, res kube.Resource, ns string, all bool) (string, error) {
	restricted := a.patterns("namespaces") != nil
	if !res.Namespaced {
		if restricted && !isNamespaces(res) {
			return "", tool.Deniedf("%s are cluster-scoped, and your role may read only namespaces %s", res.GVR.Resource, strings.Join(a.patterns("namespaces"), ", "))
		}
		return "", nil
	}
	if all {
		return "", nil // rows outside the scope are filtered out
	}
	if ns == "" {
		ns = cl.Namespace
	}
	// The context's default namespace reaches the URL too.
	if err := checkNamespace(ns); err != nil {
		return "", err
	}
	if !a.allows("namespaces", ns) {
		return "", tool.Deniedf("your role may not read namespace %q (allowed: %s)", ns, strings.Join(a.patterns("namespaces"), ", "))
	}
	return ns, nil
}

// visible reports whether an object named name in namespace ns is inside
// the caller's scope (namespaces themselves are matched by name).
func (s *Server) visible(a access, res kube.Resource, ns, name string) bool {
	if isNamespaces(res) {
		return a.allows("namespaces", name)
	}
	if !res.Namespaced {
		return true
	}
	return a.allows("namespaces", ns)
}

const tableAccept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"

// getTable asks the API server to print the table, as kubectl does, so
// every kind (CRDs with their printer columns included) gets kubectl's
// columns.
func (s *Server) getTable(ctx context.Context, a access, cl *kube.Cluster, res kube.Resource, ns string, in GetInput, limit int64, wide, showNS bool) (GetOutput, error) {
	// The request builder checks namespace, resource and name as single
	// path segments again (AbsPath would clean a "..").
	req := cl.Typed.Discovery().RESTClient().Get().AbsPath(apiPrefix(res)).
		NamespaceIfScoped(ns, res.Namespaced && ns != "").Resource(res.GVR.Resource).
		SetHeader("Accept", tableAccept).Param("includeObject", "Metadata")
	if in.Name != "" {
		req = req.Name(in.Name)
	}
	if in.Name == "" {
		req = req.Param("limit", fmt.Sprint(limit))
		if in.LabelSelector != "" {
			req = req.Param("labelSelector", in.LabelSelector)
		}
		if in.FieldSelector != "" {
			req = req.Param("fieldSelector", in.FieldSelector)
		}
		if in.Continue != "" {
			req = req.Param("continue", in.Continue)
		}
	}
	raw, err := req.Do(ctx).Raw()
	if err != nil {
		// A table request's error body is a Status the client cannot
		// always decode ("unknown"): its message says what was refused.
		var st metav1.Status
		if json.Unmarshal(raw, &st) == nil && st.Message != "" && !strings.Contains(err.Error(), st.Message) {
			err = fmt.Errorf("%s", st.Message)
		}
		what := res.GVR.Resource
		if in.Name != "" {
			what += " " + in.Name
		}
		return GetOutput{}, fmt.Errorf("get %s in %s: %w", what, nsLabel(ns, res), err)
	}
	var table metav1.Table
	// Numbers as written: kubectl prints an integer as int64 and any other
	// number as float64 (tableCell).
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&table); err != nil {
		return GetOutput{}, fmt.Errorf("decode table of %s: %w", res.GVR.Resource, err)
	}
	out := GetOutput{Kind: res.Kind, Namespace: ns, Output: "table", Continue: table.Continue, Items: []any{}}
	if wide {
		out.Output = "wide"
	}
	var cols []int
	if showNS {
		out.Columns = append(out.Columns, "NAMESPACE")
	}
	for i, col := range table.ColumnDefinitions {
		if col.Priority > 0 && !wide {
			continue
		}
		cols = append(cols, i)
		out.Columns = append(out.Columns, strings.ToUpper(col.Name))
	}
	keys := columnKeys(out.Columns)
	for _, row := range table.Rows {
		var meta metav1.PartialObjectMetadata
		if row.Object.Raw != nil {
			_ = json.Unmarshal(row.Object.Raw, &meta)
		}
		if !s.visible(a, res, meta.Namespace, meta.Name) {
			continue
		}
		cells := map[string]any{}
		k := keys
		if showNS {
			cells[k[0]] = meta.Namespace
			k = k[1:]
		}
		for j, ci := range cols {
			if ci < len(row.Cells) {
				cells[k[j]] = tableCell(row.Cells[ci])
			}
		}
		out.Items = append(out.Items, cells)
	}
	return out, nil
}

// columnKeys are the keys of a table row's cells in the structured
// output: each column's name, made unique (NAME, NAME_2) when a type's
// printer columns repeat one, so no cell hides another.
func columnKeys(cols []string) []string {
	keys := make([]string, len(cols))
	seen := map[string]bool{}
	for i, c := range cols {
		k := c
		for n := 2; seen[k]; n++ {
			k = fmt.Sprintf("%s_%d", c, n)
		}
		seen[k] = true
		keys[i] = k
	}
	return keys
}

// maxExact bounds the integers a float64 holds exactly: JSON (and so the
// structured output, which the binder decodes) carries every number as one.
const maxExact = 1 << 53

// tableCell is a server-side table cell as the structured output keeps it,
// so that tableValue gives back the value kubectl prints: kubectl decodes
// an integer literal as int64 and any other number as float64. A value a
// float64 would print otherwise (an integer past 2^53; 2e9, which kubectl
// prints as 2e+09 and a float64 could not tell from 2000000000; an object)
// is kept as the text kubectl prints.
func tableCell(v any) any {
	switch t := v.(type) {
	case json.Number:
		if i, err := t.Int64(); err == nil {
			if i <= maxExact && i >= -maxExact {
				return i
			}
			return strconv.FormatInt(i, 10)
		}
		f, err := t.Float64()
		if err != nil || f == math.Trunc(f) {
			return fmt.Sprint(kubectlValue(t))
		}
		return f
	case map[string]any, []any:
		return fmt.Sprint(kubectlValue(t))
	}
	return v
}

// kubectlValue is v as kubectl's decoder gives it: integers int64, other
// numbers float64 (a number past float64 as its text).
func kubectlValue(v any) any {
	switch t := v.(type) {
	case json.Number:
		if i, err := t.Int64(); err == nil {
			return i
		}
		if f, err := t.Float64(); err == nil {
			return f
		}
		return t.String()
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[k] = kubectlValue(e)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = kubectlValue(e)
		}
		return out
	}
	return v
}

// tableValue is a structured cell (after the binder's JSON round trip) as
// kubectl holds it: a whole number is an int64 (tableCell kept only those
// that are exact).
func tableValue(v any) any {
	if f, ok := v.(float64); ok && f == math.Trunc(f) && math.Abs(f) <= maxExact {
		return int64(f)
	}
	return v
}

// apiPrefix is the REST path of a resource's group and version.
func apiPrefix(res kube.Resource) string {
	if res.GVR.Group == "" {
		return "/api/" + res.GVR.Version
	}
	return "/apis/" + res.GVR.Group + "/" + res.GVR.Version
}

// Scrub drops what no reader needs and what may hold secrets in clear:
// managedFields, and the last-applied-configuration annotation (a copy of
// the object as applied, Secret data included).
func Scrub(obj map[string]any) map[string]any {
	meta, ok := obj["metadata"].(map[string]any)
	if !ok {
		return obj
	}
	delete(meta, "managedFields")
	if ann, ok := meta["annotations"].(map[string]any); ok {
		const lac = "kubectl.kubernetes.io/last-applied-configuration"
		if v, ok := ann[lac].(string); ok {
			ann[lac] = fmt.Sprintf("(omitted: %d bytes; a copy of the applied object)", len(v))
		}
	}
	return obj
}

// renderTable prints a page of table rows with kubectl's own table
// printer, as kubectl get prints the server's table (NAMESPACE first
// across namespaces, as kubectl -A adds it), and kubectl's message when
// there is none.
func renderTable(d map[string]any) string {
	cols := toStrings(d["columns"])
	items, _ := d["items"].([]any)
	var b strings.Builder
	if len(items) == 0 {
		if ns, _ := d["namespace"].(string); ns != "" {
			fmt.Fprintf(&b, "No resources found in %s namespace.\n", ns)
		} else {
			b.WriteString("No resources found\n")
		}
	} else {
		table := &metav1.Table{}
		for _, c := range cols {
			table.ColumnDefinitions = append(table.ColumnDefinitions, metav1.TableColumnDefinition{Name: c, Type: "string"})
		}
		keys := columnKeys(cols)
		for _, it := range items {
			m, _ := it.(map[string]any)
			// A row the server sent short stays short (kubectl prints no
			// cell where there was none): its cells end at the last key.
			var cells []any
			for i, k := range keys {
				if _, ok := m[k]; ok {
					cells = append(cells[:len(cells):len(cells)], make([]any, i+1-len(cells))...)
					cells[i] = tableValue(m[k])
				}
			}
			table.Rows = append(table.Rows, metav1.TableRow{Cells: cells})
		}
		if err := printers.NewTablePrinter(printers.PrintOptions{}).PrintObj(table, &b); err != nil {
			fmt.Fprintf(&b, "error: %v\n", err)
		}
	}
	if cont, _ := d["continue"].(string); cont != "" {
		fmt.Fprintf(&b, "(more on the API server: call again with continue=%q)\n", cont)
	}
	return b.String()
}

func cell(v any) string {
	switch t := v.(type) {
	case nil:
		return "<none>"
	case string:
		if t == "" {
			return "<none>"
		}
		return t
	case float64:
		// JSON numbers decode as float64: an integer column (a priority
		// class's 2000001000) prints as kubectl prints it, not as
		// 2.000001e+09.
		if t == math.Trunc(t) && math.Abs(t) < 1<<53 {
			return strconv.FormatInt(int64(t), 10)
		}
		return strconv.FormatFloat(t, 'f', -1, 64)
	default:
		b, _ := json.Marshal(t)
		return string(b)
	}
}

func align(rows [][]string) string {
	widths := map[int]int{}
	for _, r := range rows {
		for i, c := range r {
			if len(c) > widths[i] {
				widths[i] = len(c)
			}
		}
	}
	var b strings.Builder
	for _, r := range rows {
		for i, c := range r {
			if i == len(r)-1 {
				b.WriteString(c)
			} else {
				fmt.Fprintf(&b, "%-*s   ", widths[i], c)
			}
		}
		b.WriteByte('\n')
	}
	return b.String()
}

func toStrings(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, e := range list {
		out = append(out, fmt.Sprint(e))
	}
	return out
}

// kubectlName is an object's name as kubectl -o name prints it
// (deployment.apps/web), by kubectl's name printer, from the type this
// server resolved rather than the kind the answer claims.
func kubectlName(res kube.Resource, name string) string {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(res.GVR.GroupVersion().WithKind(res.Kind))
	u.SetName(name)
	var b strings.Builder
	if err := (&printers.NamePrinter{}).PrintObj(u, &b); err != nil {
		return strings.ToLower(res.Kind) + "/" + name
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// renderObjects prints a page of objects as kubectl get -o yaml, -o json
// or -o name prints them, with kubectl's printers: one object asked for by
// name alone, any list as kubectl's List of its items.
func renderObjects(d map[string]any, output string, single bool) string {
	items, _ := d["items"].([]any)
	var b strings.Builder
	if output == "name" {
		for _, it := range items {
			fmt.Fprintln(&b, it)
		}
	} else if err := printObjects(&b, items, output, single); err != nil {
		fmt.Fprintf(&b, "error: %v\n", err)
	}
	if cont, _ := d["continue"].(string); cont != "" {
		fmt.Fprintf(&b, "(more on the API server: call again with continue=%q)\n", cont)
	}
	return b.String()
}

// printObjects is kubectl get's printGeneric: the object, or a v1 List of
// the items decoded as kubectl decodes it, printed as YAML or JSON.
func printObjects(w io.Writer, items []any, output string, single bool) error {
	var obj runtime.Object
	if single && len(items) == 1 {
		m, ok := items[0].(map[string]any)
		if !ok {
			return fmt.Errorf("the object is not a JSON object")
		}
		obj = &unstructured.Unstructured{Object: m}
	} else {
		list := corev1.List{TypeMeta: metav1.TypeMeta{Kind: "List", APIVersion: "v1"}}
		for _, it := range items {
			raw, err := json.Marshal(it)
			if err != nil {
				return fmt.Errorf("encode an item: %w", err)
			}
			list.Items = append(list.Items, runtime.RawExtension{Raw: raw})
		}
		data, err := json.Marshal(list)
		if err != nil {
			return fmt.Errorf("encode the list: %w", err)
		}
		decoded, err := runtime.Decode(unstructured.UnstructuredJSONScheme, data)
		if err != nil {
			return fmt.Errorf("decode the list: %w", err)
		}
		// As kubectl displays a list: its items in a v1 List whose
		// metadata holds the (empty) resource version.
		dl, ok := decoded.(*unstructured.UnstructuredList)
		if !ok {
			return fmt.Errorf("the list decoded as %T", decoded)
		}
		shown := &unstructured.UnstructuredList{Object: map[string]any{"kind": "List", "apiVersion": "v1",
			"metadata": map[string]any{"resourceVersion": dl.GetResourceVersion()}}}
		shown.Items = dl.Items
		obj = shown
	}
	var p printers.ResourcePrinter = &printers.YAMLPrinter{}
	if output == "json" {
		p = &printers.JSONPrinter{}
	}
	return p.PrintObj(obj, w)
}

// age renders a timestamp as kubectl's AGE column does.
func age(ts string, now time.Time) string {
	t, err := time.Parse(time.RFC3339, ts)
	if err != nil || ts == "" {
		return "<unknown>"
	}
	return duration.HumanDuration(now.Sub(t))
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
