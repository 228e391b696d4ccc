package tools

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"

	"github.com/opsmcp/opsmcp/shared/memory"
	"github.com/opsmcp/opsmcp/shared/tool"
)

// maxGrep bounds a grep expression: RE2 runs in linear time, but
// compiling a megabyte of expression is work nobody needs.
const maxGrep = 4096

// The memory, in bytes, one byte the engine sends takes while a call
// holds it (shared/memory), as the red team measured under a 256 MiB
// limit. LogsCost: a token-dense 4 MiB log read (demultiplexed, masked,
// shaped twice) peaked at 131-139 MiB. ConfigCost: 20 configs of 480 KB
// at 215-233 MiB. ComposeCost: a 1 MiB compose file at 99-102 MiB
// (compose-go's model). MemoryCost is the server's default.
const (
	LogsCost    = 20
	ConfigCost  = 16
	ComposeCost = 96
	MemoryCost  = 16
)

// maxConfigData is the config data swarm_configs shows in one answer.
const maxConfigData = 2 << 20

// LogsInput are swarm_logs' arguments.
type LogsInput struct {
	HostInput
	Service string `json:"service,omitempty" jsonschema:"service name or ID: its tasks' logs merged in time order"`
	Task    string `json:"task,omitempty" jsonschema:"one task ID instead of a service"`
	Tail    int    `json:"tail,omitempty" jsonschema:"last N lines per task (default 100)"`
	Since   string `json:"since,omitempty" jsonschema:"only lines newer than this duration (10m) or RFC 3339 time"`
	Grep    string `json:"grep,omitempty" jsonschema:"RE2 regular expression: keep only matching lines"`
	Stream  string `json:"stream,omitempty" jsonschema:"stdout, stderr, or both (default)"`
	// LimitBytes caps what is read from the engine.
	LimitBytes int64 `json:"limit_bytes,omitempty" jsonschema:"read at most this many bytes from the engine (default 4 MiB)"`
}

// LogLine is one log line.
type LogLine struct {
	Time   string `json:"ts"`
	Task   string `json:"task,omitempty"`
	Stream string `json:"stream" jsonschema:"stdout or stderr"`
	Text   string `json:"text"`
}

// LogsOutput is swarm_logs' structured result.
type LogsOutput struct {
	Service string    `json:"service,omitempty"`
	Task    string    `json:"task,omitempty"`
	Items   []LogLine `json:"items" jsonschema:"oldest first, merged across tasks"`
	Limited bool      `json:"limited,omitempty" jsonschema:"true when limit_bytes stopped the read"`
}

func (s *Server) logs(ctx context.Context, c *tool.Call, in LogsInput) (*tool.Result, error) {
	if (in.Service == "") == (in.Task == "") {
		return nil, tool.Argf("give service or task (one of them)")
	}
	var grep *regexp.Regexp
	var err error
	if len(in.Grep) > maxGrep {
		return nil, tool.Argf("grep is %d bytes; use at most %d", len(in.Grep), maxGrep)
	}
	if in.Grep != "" {
		if grep, err = regexp.Compile(in.Grep); err != nil {
			return nil, tool.Argf("grep is not a valid RE2 expression: %v", err)
		}
	}
	stdout, stderr := true, true
	switch in.Stream {
	case "", "both":
	case "stdout":
		stderr = false
	case "stderr":
		stdout = false
	default:
		return nil, tool.Argf("stream %q: use stdout, stderr or both", in.Stream)
	}
	since := ""
	if in.Since != "" {
		if d, err := time.ParseDuration(in.Since); err == nil && d > 0 {
			since = strconv.FormatInt(time.Now().Add(-d).Unix(), 10)
		} else if t, err := time.Parse(time.RFC3339, in.Since); err == nil {
			since = strconv.FormatInt(t.Unix(), 10)
		} else {
			return nil, tool.Argf("since %q: use a duration (10m, 2h) or an RFC 3339 time", in.Since)
		}
	}
	tail := in.Tail
	if tail <= 0 {
		tail = 100
	}
	limit := in.LimitBytes
	if limit <= 0 || limit > 4<<20 {
		limit = 4 << 20
	}
	// Names reach the engine's URLs: each is checked by Docker's rules
	// before any request, then resolved to the object it names, whose
	// stack the caller must be allowed.
	if in.Service != "" {
		if err := checkName("service", in.Service, "swarm_services"); err != nil {
			return nil, err
		}
	} else if err := checkTaskID(in.Task); err != nil {
		return nil, err
	}
	cl, err := s.engine(in.Host)
	if err != nil {
		return nil, err
	}
	out := LogsOutput{Service: in.Service, Task: in.Task, Items: []LogLine{}}
	var (
		rc io.ReadCloser
		sv swarm.Service
	)
	// The task names are listed while the logs are read (one round trip
	// to the engine fewer on the call's path), once the service is
	// resolved and allowed.
	names := make(chan map[string]string, 1)
	if in.Service != "" {
		if sv, err = s.resolveService(ctx, c, cl, in.Service); err != nil {
			return nil, err
		}
		go func() { names <- s.taskNames(ctx, cl, sv) }()
		rc, err = cl.ServiceLogs(ctx, sv.ID, client.ServiceLogsOptions{ShowStdout: stdout, ShowStderr: stderr, Timestamps: true, Details: true, Tail: strconv.Itoa(tail), Since: since})
	} else {
		var t swarm.Task
		if t, sv, err = s.resolveTask(ctx, c, cl, in.Task); err != nil {
			return nil, err
		}
		go func() { names <- s.taskNames(ctx, cl, sv) }()
		rc, err = cl.TaskLogs(ctx, t.ID, client.TaskLogsOptions{ShowStdout: stdout, ShowStderr: stderr, Timestamps: true, Details: true, Tail: strconv.Itoa(tail), Since: since})
	}
	if err != nil {
		return nil, fmt.Errorf("docker engine: logs of %s: %w", sv.Spec.Name, err)
	}
	defer rc.Close()
	// What is read is held against the server's memory for answers at
	// what demultiplexing, masking and shaping it costs.
	hold := memory.HoldFrom(ctx)
	hold.SetCost(LogsCost)
	lines, limited, err := demux(io.LimitReader(memory.Reader(hold, rc), limit))
	if refused := hold.Refusal(); refused != nil {
		return nil, refused
	}
	if err != nil {
		return nil, fmt.Errorf("docker engine: read logs: %w", err)
	}
	tasks := <-names
	out.Limited = limited
	// Mask first, filter second: grep sees only masked text, so neither
	// its matches nor its count can tell a hidden value.
	for _, l := range maskLines(c, lines) {
		if grep != nil && !grep.MatchString(l.Text) {
			continue
		}
		if name, ok := tasks[l.Task]; ok {
			l.Task = name
		}
		out.Items = append(out.Items, l)
	}
	sort.SliceStable(out.Items, func(i, j int) bool { return out.Items[i].Time < out.Items[j].Time })
	return &tool.Result{Data: out, Render: renderLogs}, nil
}

// renderLogs is swarm_logs' text: "<ts> <task> <stream> | <text>" a line.
// Every field is a string in the data, so the line is concatenated, not
// formatted: this runs over every line of every call.
func renderLogs(d map[string]any) string {
	return tool.Rows(d, func(m map[string]any) string {
		str := func(k string) string { s, _ := m[k].(string); return s }
		return str("ts") + " " + str("task") + " " + str("stream") + " | " + str("text")
	})
}

// taskNames maps task IDs of a service to "service.slot" names, as
// docker service ps shows them.
func (s *Server) taskNames(ctx context.Context, cl *client.Client, sv swarm.Service) map[string]string {
	names := map[string]string{}
	tasks, err := cl.TaskList(ctx, client.TaskListOptions{Filters: client.Filters{}.Add("service", sv.ID)})
	if err != nil {
		return names
	}
	for _, t := range tasks.Items {
		names[t.ID] = taskName(sv.Spec.Name, t)
	}
	return names
}

func taskName(service string, t swarm.Task) string {
	if t.Slot > 0 {
		return fmt.Sprintf("%s.%d", service, t.Slot)
	}
	return service + "." + t.NodeID
}

// demux reads the engine's multiplexed log stream (8-byte frame headers:
// stream, 0, 0, 0, big-endian size) into lines of the form
// "<time> <details> <text>"; limited says the reader ran out mid-frame.
func demux(r io.Reader) ([]LogLine, bool, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var out []LogLine
	var hdr [8]byte
	// open are the lines whose message has not ended yet, by stream and
	// task.
	open := map[string]int{}
	// One buffer for every frame: each payload is copied out as a
	// string before the next frame is read.
	var buf bytes.Buffer
	for {
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			if err == io.EOF {
				return out, false, nil
			}
			return out, true, nil
		}
		size := binary.BigEndian.Uint32(hdr[4:])
		// Read what is there rather than allocate what the header
		// claims: a frame of 4 GiB is a header away.
		buf.Reset()
		if n, _ := io.CopyN(&buf, br, int64(size)); n < int64(size) {
			return out, true, nil
		}
		payload := buf.Bytes()
		stream := "stdout"
		if hdr[0] == 2 {
			stream = "stderr"
		}
		// The engine cuts a long message (16 KiB) into frames, each with
		// its own time and details, and only the last ends with a
		// newline: the parts join again here, so a secret across a cut
		// is one text for the masker.
		ended := bytes.HasSuffix(payload, []byte("\n"))
		for i, raw := range strings.Split(strings.TrimRight(string(payload), "\n"), "\n") {
			l := parseLine(raw, stream)
			k := stream + "\x00" + l.Task
			if j, ok := open[k]; ok && i == 0 {
				out[j].Text += l.Text
				delete(open, k)
				if !ended {
					open[k] = j
				}
				continue
			}
			out = append(out, l)
		}
		if !ended && len(out) > 0 {
			last := out[len(out)-1]
			open[last.Stream+"\x00"+last.Task] = len(out) - 1
		}
	}
}

// parseLine splits "<RFC 3339 time> [details] text"; details are
// com.docker.swarm.* pairs naming the task.
func parseLine(raw, stream string) LogLine {
	l := LogLine{Stream: stream, Text: raw}
	ts, rest, ok := strings.Cut(raw, " ")
	if !ok {
		return l
	}
	if t, err := time.Parse(time.RFC3339Nano, ts); err == nil {
		l.Time = t.UTC().Format(time.RFC3339Nano)
		l.Text = rest
	}
	if details, text, ok := strings.Cut(l.Text, " "); ok && strings.Contains(details, "com.docker.swarm.") {
		for _, kv := range strings.Split(details, ",") {
			if k, v, ok := strings.Cut(kv, "="); ok && k == "com.docker.swarm.task.id" {
				l.Task = v
			}
		}
		l.Text = text
	}
	return l
}

// ObjectInfo is one config or secret.
type ObjectInfo struct {
	ID       string            `json:"id"`
	Name     string            `json:"name"`
	Labels   map[string]string `json:"labels,omitempty"`
	Created  string            `json:"created"`
	Updated  string            `json:"updated"`
	Driver   string            `json:"driver,omitempty"`
	Services []string          `json:"used_by,omitempty"`
	Data     string            `json:"data,omitempty" jsonschema:"config data (masked); secrets have none"`
	Omitted  string            `json:"data_omitted,omitempty" jsonschema:"why data is not shown (too much config data in one answer)"`
}

// ObjectsOutput is swarm_configs' and swarm_secrets' structured result.
type ObjectsOutput struct {
	Items []ObjectInfo `json:"items"`
}

// visibleServices are the services the caller may see.
func visibleServices(c *tool.Call, svcs []swarm.Service) []swarm.Service {
	var out []swarm.Service
	for _, sv := range svcs {
		if visible(c, sv.Spec.Labels) {
			out = append(out, sv)
		}
	}
	return out
}

// users maps config or secret names to the services that reference them.
func users(svcs []swarm.Service, secrets bool) map[string][]string {
	out := map[string][]string{}
	for _, sv := range svcs {
		cs := sv.Spec.TaskTemplate.ContainerSpec
		if cs == nil {
			continue
		}
		if secrets {
			for _, r := range cs.Secrets {
				out[r.SecretName] = append(out[r.SecretName], sv.Spec.Name)
			}
		} else {
			for _, r := range cs.Configs {
				out[r.ConfigName] = append(out[r.ConfigName], sv.Spec.Name)
			}
		}
	}
	return out
}

func renderObjects(d map[string]any) string {
	return tool.Rows(d, func(m map[string]any) string {
		line := fmt.Sprintf("%s  created %s  used by %v", tool.Str(m["name"]), tool.Str(m["created"]), orNone(m["used_by"]))
		if data := tool.Str(m["data"]); data != "" {
			line += "\n  " + strings.ReplaceAll(strings.TrimRight(data, "\n"), "\n", "\n  ")
		}
		if why := tool.Str(m["data_omitted"]); why != "" {
			line += "\n  (" + why + ")"
		}
		return line
	})
}

// configLists lets one swarm_configs call at a time list the configs:
// the engine sends every config's data (500 KB each at most) in one
// answer, which the Docker client decodes whole before any of it can be
// held against the memory for answers; eight such calls at once on 40
// configs of 480 KB went past a 256 MiB limit.
var configLists = make(chan struct{}, 1)

// configWait is how long a swarm_configs call waits for another one.
const configWait = 5 * time.Second

func (s *Server) configs(ctx context.Context, c *tool.Call, in HostInput) (*tool.Result, error) {
	cl, err := s.engine(in.Host)
	if err != nil {
		return nil, err
	}
	wait := time.NewTimer(configWait)
	defer wait.Stop()
	select {
	case configLists <- struct{}{}:
		defer func() { <-configLists }()
	case <-wait.C:
		return nil, fmt.Errorf("another swarm_configs call is listing the configs: retry in a moment: %w", memory.ErrBusy)
	case <-ctx.Done():
		// The server's state, not the engine's: never its timeout.
		return nil, fmt.Errorf("another swarm_configs call is listing the configs: retry in a moment: %w", memory.ErrBusy)
	}
	list, err := cl.ConfigList(ctx, client.ConfigListOptions{})
	if err != nil {
		return nil, fmt.Errorf("docker engine: list configs: %w", err)
	}
	svcs, err := cl.ServiceList(ctx, client.ServiceListOptions{})
	if err != nil {
		return nil, fmt.Errorf("docker engine: list services: %w", err)
	}
	used := users(visibleServices(c, svcs.Items), false)
	out := ObjectsOutput{Items: []ObjectInfo{}}
	var shown []swarm.Config
	for _, cf := range list.Items {
		if visible(c, cf.Spec.Labels) {
			shown = append(shown, cf)
		}
	}
	sort.Slice(shown, func(i, j int) bool { return shown[i].Spec.Name < shown[j].Spec.Name })
	// Each config's data is masked and shaped, held at ConfigCost bytes
	// of memory a byte: past maxConfigData in all, later configs are
	// listed without it and say so (a call the memory for answers
	// refuses fails as such).
	hold := memory.HoldFrom(ctx)
	hold.SetCost(ConfigCost)
	total := 0
	for _, cf := range shown {
		oi := ObjectInfo{ID: cf.ID, Name: cf.Spec.Name, Labels: maskedMap(c, cf.Spec.Labels), Created: tool.Date(cf.CreatedAt), Updated: tool.Date(cf.UpdatedAt),
			Services: used[cf.Spec.Name]}
		if total += len(cf.Spec.Data); total > maxConfigData {
			oi.Omitted = fmt.Sprintf("data not shown: the configs before it hold over %d MiB; docker config inspect %s shows it", maxConfigData>>20, cf.Spec.Name)
		} else if err := hold.Take(len(cf.Spec.Data)); err != nil {
			return nil, err
		} else {
			// Masked as one text, so a multi-line value (a PEM key) is
			// seen whole.
			oi.Data = c.Mask(string(cf.Spec.Data))
		}
		out.Items = append(out.Items, oi)
	}
	return &tool.Result{Data: out, Render: renderObjects}, nil
}

func (s *Server) secrets(ctx context.Context, c *tool.Call, in HostInput) (*tool.Result, error) {
	cl, err := s.engine(in.Host)
	if err != nil {
		return nil, err
	}
	list, err := cl.SecretList(ctx, client.SecretListOptions{})
	if err != nil {
		return nil, fmt.Errorf("docker engine: list secrets: %w", err)
	}
	svcs, err := cl.ServiceList(ctx, client.ServiceListOptions{})
	if err != nil {
		return nil, fmt.Errorf("docker engine: list services: %w", err)
	}
	used := users(visibleServices(c, svcs.Items), true)
	out := ObjectsOutput{Items: []ObjectInfo{}}
	for _, se := range list.Items {
		if !visible(c, se.Spec.Labels) {
			continue
		}
		oi := ObjectInfo{ID: se.ID, Name: se.Spec.Name, Labels: maskedMap(c, se.Spec.Labels), Created: tool.Date(se.CreatedAt), Updated: tool.Date(se.UpdatedAt), Services: used[se.Spec.Name]}
		if se.Spec.Driver != nil {
			oi.Driver = se.Spec.Driver.Name
		}
		// Data is never set: the engine does not return secret values,
		// and this server would not pass them on if it did.
		out.Items = append(out.Items, oi)
	}
	sort.Slice(out.Items, func(i, j int) bool { return out.Items[i].Name < out.Items[j].Name })
	return &tool.Result{Data: out, Render: renderObjects}, nil
}
