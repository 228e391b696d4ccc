package tools

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"

	"github.com/opsmcp/opsmcp/shared/tool"
)

// EventsInput are k8s_events' arguments.
type EventsInput struct {
	Namespace     string `json:"namespace,omitempty" jsonschema:"namespace (default: the context's namespace)"`
	AllNamespaces bool   `json:"all_namespaces,omitempty" jsonschema:"events of all namespaces"`
	Object        string `json:"object,omitempty" jsonschema:"only events about this object, as kind/name (pod/web-1, deployment/api) or a bare name"`
	Type          string `json:"type,omitempty" jsonschema:"Normal or Warning"`
	FieldSelector string `json:"field_selector,omitempty" jsonschema:"extra field selector, e.g. reason=BackOff"`
	Limit         int    `json:"limit,omitempty" jsonschema:"at most this many folded events (default 50)"`
	Context       string `json:"context,omitempty" jsonschema:"kubeconfig context (default: the server's)"`
}

// Event is one event, or several identical ones folded together.
type Event struct {
	Namespace string `json:"namespace,omitempty"`
	LastSeen  string `json:"last_seen"`
	FirstSeen string `json:"first_seen,omitempty"`
	Type      string `json:"type"`
	Reason    string `json:"reason"`
	Object    string `json:"object"`
	Message   string `json:"message"`
	Count     int    `json:"count"`
}

// EventsOutput is k8s_events' structured result.
type EventsOutput struct {
	Namespace string  `json:"namespace,omitempty"`
	Items     []Event `json:"items" jsonschema:"events, newest first, repeats folded with counts"`
}

func (s *Server) events(ctx context.Context, c *tool.Call, in EventsInput) (*tool.Result, error) {
	return s.eventsAs(ctx, direct(c), in)
}

func (s *Server) eventsAs(ctx context.Context, a access, in EventsInput) (*tool.Result, error) {
	sel := fields.Set{}
	if in.Type != "" {
		switch t := strings.ToLower(in.Type); t {
		case "normal", "warning":
			sel["type"] = strings.ToUpper(t[:1]) + t[1:]
		default:
			return nil, tool.Argf("type %q: use Normal or Warning", in.Type)
		}
	}
	kind, name, found := strings.Cut(in.Object, "/")
	if !found {
		name, kind = kind, ""
	}
	if err := refuseSubresource("object", name); err != nil {
		return nil, err
	}
	if in.Object != "" {
		if kind != "" {
			if err := checkResource(kind); err != nil {
				return nil, err
			}
		}
		if err := checkName("object name", name); err != nil {
			return nil, err
		}
	}
	if err := checkSelectors("", in.FieldSelector); err != nil {
		return nil, err
	}
	cl, res, ns, err := s.target(a, in.Context, "events", in.Namespace, in.AllNamespaces)
	if err != nil {
		return nil, err
	}
	if in.Object != "" {
		sel["involvedObject.name"] = name
		if kind != "" {
			r, err := cl.Resolve(kind)
			if err != nil {
				return nil, tool.Argf("object %q: %v", in.Object, err)
			}
			if err := checkNameFor("object name", name, r); err != nil {
				return nil, err
			}
			sel["involvedObject.kind"] = r.Kind
		}
	}
	selector := sel.String()
	if in.FieldSelector != "" {
		if selector != "" {
			selector += ","
		}
		selector += in.FieldSelector
	}
	// A caller limited to some namespaces is never answered from a list
	// across the cluster: other namespaces' events would fill its 1000
	// rows, and the API server would be asked about namespaces the
	// caller may not read.
	nss := []string{ns}
	if ns == "" && !a.everyNamespace() {
		if nss, err = s.namespacesInScope(ctx, a, cl); err != nil {
			return nil, err
		}
	}
	var visible []corev1.Event
	for _, n := range nss {
		list, err := cl.Typed.CoreV1().Events(n).List(ctx, metav1.ListOptions{FieldSelector: selector, Limit: 1000})
		if err != nil {
			return nil, fmt.Errorf("list events in %s: %w", nsLabel(n, res), err)
		}
		for _, e := range list.Items {
			if a.allows("namespaces", e.Namespace) {
				visible = append(visible, e)
			}
		}
	}
	limit := in.Limit
	if limit <= 0 {
		limit = 50
	}
	out := EventsOutput{Namespace: ns, Items: foldEvents(visible, limit)}
	return &tool.Result{Data: out, Render: func(d map[string]any) string { return renderEventRows(d["items"]) }}, nil
}

// eventTime is when an event last happened, whichever field the emitter set.
func eventTime(e corev1.Event) time.Time {
	switch {
	case !e.LastTimestamp.IsZero():
		return e.LastTimestamp.Time
	case e.Series != nil && !e.Series.LastObservedTime.IsZero():
		return e.Series.LastObservedTime.Time
	case !e.EventTime.IsZero():
		return e.EventTime.Time
	}
	return e.CreationTimestamp.Time
}

// foldEvents groups events that say the same thing about the same object,
// adds up their counts, and returns the newest limit groups, newest first.
func foldEvents(events []corev1.Event, limit int) []Event {
	type group struct {
		ev          Event
		first, last time.Time
	}
	groups := map[string]*group{}
	for _, e := range events {
		obj := strings.ToLower(e.InvolvedObject.Kind) + "/" + e.InvolvedObject.Name
		key := strings.Join([]string{e.Namespace, e.Type, e.Reason, obj, e.Message}, "\x00")
		count := int(e.Count)
		if e.Series != nil && int(e.Series.Count) > count {
			count = int(e.Series.Count)
		}
		if count == 0 {
			count = 1
		}
		t := eventTime(e)
		first := e.FirstTimestamp.Time
		if first.IsZero() {
			first = t
		}
		g, ok := groups[key]
		if !ok {
			g = &group{ev: Event{Namespace: e.Namespace, Type: e.Type, Reason: e.Reason, Object: obj, Message: e.Message}, first: first, last: t}
			groups[key] = g
		}
		g.ev.Count += count
		if t.After(g.last) {
			g.last = t
		}
		if first.Before(g.first) {
			g.first = first
		}
	}
	list := make([]*group, 0, len(groups))
	for _, g := range groups {
		list = append(list, g)
	}
	sort.Slice(list, func(i, j int) bool {
		if !list[i].last.Equal(list[j].last) {
			return list[i].last.After(list[j].last)
		}
		return list[i].ev.Object < list[j].ev.Object
	})
	if len(list) > limit {
		list = list[:limit]
	}
	out := make([]Event, 0, len(list))
	for _, g := range list {
		g.ev.LastSeen = g.last.UTC().Format(time.RFC3339)
		g.ev.FirstSeen = g.first.UTC().Format(time.RFC3339)
		out = append(out, g.ev)
	}
	return out
}

// renderEventRows prints events as kubectl's event table does.
func renderEventRows(v any) string {
	items, _ := v.([]any)
	if len(items) == 0 {
		return "No events found.\n"
	}
	now := time.Now()
	rows := [][]string{{"LAST SEEN", "TYPE", "REASON", "OBJECT", "COUNT", "MESSAGE"}}
	showNS := false
	for _, it := range items {
		if m, _ := it.(map[string]any); m["namespace"] != nil && m["namespace"] != "" {
			showNS = true
		}
	}
	if showNS {
		rows[0] = append([]string{"NAMESPACE"}, rows[0]...)
	}
	for _, it := range items {
		m, _ := it.(map[string]any)
		row := []string{age(fmt.Sprint(m["last_seen"]), now), fmt.Sprint(m["type"]), fmt.Sprint(m["reason"]), fmt.Sprint(m["object"]), cell(m["count"]), strings.ReplaceAll(fmt.Sprint(m["message"]), "\n", " ")}
		if showNS {
			row = append([]string{fmt.Sprint(m["namespace"])}, row...)
		}
		rows = append(rows, row)
	}
	return align(rows)
}
