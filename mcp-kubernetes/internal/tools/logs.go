package tools

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/opsmcp/opsmcp/mcp-kubernetes/internal/kube"
	"github.com/opsmcp/opsmcp/shared/tool"
)

// LogsInput are k8s_logs' arguments.
type LogsInput struct {
	Pod        string `json:"pod" jsonschema:"pod name (pod/NAME also accepted)"`
	Container  string `json:"container,omitempty" jsonschema:"container name (default: the only one, or the default-container annotation)"`
	Namespace  string `json:"namespace,omitempty" jsonschema:"namespace (default: the context's namespace)"`
	Tail       int64  `json:"tail,omitempty" jsonschema:"last N lines (default 200)"`
	Since      string `json:"since,omitempty" jsonschema:"only lines newer than this duration, e.g. 10m, 2h"`
	Previous   bool   `json:"previous,omitempty" jsonschema:"the previous (crashed) container's logs"`
	Grep       string `json:"grep,omitempty" jsonschema:"RE2 regular expression: keep only matching lines"`
	LimitBytes int64  `json:"limit_bytes,omitempty" jsonschema:"read at most this many bytes from the API server (default 1 MiB)"`
	Context    string `json:"context,omitempty" jsonschema:"kubeconfig context (default: the server's)"`
}

// LogsOutput is k8s_logs' structured result.
type LogsOutput struct {
	Pod       string   `json:"pod"`
	Container string   `json:"container"`
	Namespace string   `json:"namespace"`
	Items     []string `json:"items" jsonschema:"log lines, oldest first"`
	Matched   int      `json:"matched,omitempty" jsonschema:"lines that matched grep"`
	Scanned   int      `json:"scanned" jsonschema:"lines read"`
	Limited   bool     `json:"limited,omitempty" jsonschema:"true when limit_bytes stopped the read: the last line may be partial; narrow with tail, since or grep"`
}

func (s *Server) logs(ctx context.Context, c *tool.Call, in LogsInput) (*tool.Result, error) {
	return s.logsAs(ctx, direct(c), in)
}

// podName strips the pod/ prefixes kubectl accepts.
func podName(p string) string {
	for _, pre := range []string{"pods/", "pod/", "po/"} {
		if strings.HasPrefix(p, pre) {
			return p[len(pre):]
		}
	}
	return p
}

func (s *Server) logsAs(ctx context.Context, a access, in LogsInput) (*tool.Result, error) {
	pod := podName(in.Pod)
	if pod == "" {
		return nil, tool.Argf("pod is required")
	}
	if err := checkName("pod", pod); err != nil {
		return nil, err
	}
	if in.Container != "" {
		if err := checkContainer(in.Container); err != nil {
			return nil, err
		}
	}
	var grep *regexp.Regexp
	if in.Grep != "" {
		var err error
		if grep, err = regexp.Compile(in.Grep); err != nil {
			return nil, tool.Argf("grep is not a valid RE2 expression: %v", err)
		}
	}
	opts := &corev1.PodLogOptions{Container: in.Container, Previous: in.Previous, Timestamps: true}
	if in.Since != "" {
		secs, err := parseSince(in.Since)
		if err != nil {
			return nil, err
		}
		opts.SinceSeconds = &secs
	}
	cl, res, ns, err := s.target(a, in.Context, "pods", in.Namespace, false)
	if err != nil {
		return nil, err
	}
	if err := checkNameFor("pod", pod, res); err != nil {
		return nil, err
	}
	tail := in.Tail
	if tail <= 0 {
		tail = 200
	}
	opts.TailLines = &tail
	limit := in.LimitBytes
	if limit <= 0 || limit > 1<<20 {
		limit = 1 << 20
	}
	opts.LimitBytes = &limit
	container := in.Container
	if container == "" {
		p, err := cl.Typed.CoreV1().Pods(ns).Get(ctx, pod, metav1.GetOptions{})
		if err != nil {
			return nil, fmt.Errorf("get pod %s in %s: %w", pod, ns, err)
		}
		container, err = defaultContainer(p)
		if err != nil {
			return nil, tool.Argf("%v", err)
		}
		// The default-container annotation is the upstream's text.
		if err := checkContainer(container); err != nil {
			return nil, fmt.Errorf("pod %s names its default container badly in the API server's answer: %w", pod, err)
		}
		opts.Container = container
	}
	stream, err := cl.Typed.CoreV1().Pods(ns).GetLogs(pod, opts).Stream(ctx)
	if err != nil {
		return nil, fmt.Errorf("logs of pod %s container %s in %s: %w", pod, container, ns, err)
	}
	defer stream.Close()
	// The server's own cap, whatever the upstream honours.
	counted := &countingReader{r: io.LimitReader(stream, limit)}
	raw, err := io.ReadAll(counted)
	if err != nil {
		return nil, fmt.Errorf("read logs of pod %s: %w", pod, err)
	}
	// A line the limit cut is left out: a token cut short is no token
	// to the masker.
	raw = kube.WholeLines(raw, int(limit))
	// Masked before it is split or filtered: a private key printed over
	// many lines is one value, and grep never sees (or counts) a hidden
	// one.
	lines := maskLog(a.c, string(raw), maskChunk)
	out := LogsOutput{Pod: pod, Container: container, Namespace: ns, Items: []string{}, Scanned: len(lines)}
	for _, line := range lines {
		if grep != nil && !grep.MatchString(line) {
			continue
		}
		out.Items = append(out.Items, line)
	}
	if grep != nil {
		out.Matched = len(out.Items)
	}
	out.Limited = counted.n >= limit
	return &tool.Result{Data: out, Render: renderLines}, nil
}

// parseSince turns a since argument into whole seconds for the API: a
// positive Go duration (30s, 10m, 2h), rounded up so that a sub-second
// one still asks for at least 1 second (the API refuses 0).
func parseSince(since string) (int64, error) {
	d, err := time.ParseDuration(since)
	if err != nil || d <= 0 {
		return 0, tool.Argf("since %q: use a positive duration such as 30s, 10m or 2h", since)
	}
	secs := int64(d / time.Second)
	if d%time.Second != 0 {
		secs++
	}
	return secs, nil
}

// defaultContainer picks the container kubectl would.
func defaultContainer(p *corev1.Pod) (string, error) {
	if name := p.Annotations["kubectl.kubernetes.io/default-container"]; name != "" {
		return name, nil
	}
	if len(p.Spec.Containers) == 1 {
		return p.Spec.Containers[0].Name, nil
	}
	var names []string
	for _, c := range p.Spec.Containers {
		names = append(names, c.Name)
	}
	sort.Strings(names)
	return "", fmt.Errorf("pod %s has several containers; choose one with container: %s", p.Name, strings.Join(names, ", "))
}

func renderLines(d map[string]any) string {
	items, _ := d["items"].([]any)
	var b strings.Builder
	for _, it := range items {
		b.WriteString(fmt.Sprint(it))
		b.WriteByte('\n')
	}
	if len(items) == 0 {
		fmt.Fprintf(&b, "(no log lines; %v read)\n", d["scanned"])
	}
	if d["limited"] == true {
		b.WriteString("[limit_bytes reached: the line it cut is left out; narrow with tail, since or grep]\n")
	}
	return b.String()
}

// countingReader counts the bytes read, to tell when limitBytes was hit.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
