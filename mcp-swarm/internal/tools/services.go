package tools

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"sort"
	"strings"

	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"

	"github.com/opsmcp/opsmcp/shared/mask"
	"github.com/opsmcp/opsmcp/shared/tool"
)

// ServicesInput are swarm_services' arguments.
type ServicesInput struct {
	HostInput
	Stack string `json:"stack,omitempty" jsonschema:"only services of this stack"`
	Name  string `json:"name,omitempty" jsonschema:"only services whose name contains this"`
}

// ServiceSummary is one service in a list.
type ServiceSummary struct {
	ID       string   `json:"id"`
	Name     string   `json:"name"`
	Stack    string   `json:"stack,omitempty"`
	Mode     string   `json:"mode"`
	Running  uint64   `json:"running"`
	Desired  uint64   `json:"desired"`
	Image    string   `json:"image" jsonschema:"as deployed, with digest when the engine pinned one"`
	Ports    []string `json:"ports,omitempty"`
	Rollout  string   `json:"rollout,omitempty" jsonschema:"update state: updating, paused, completed, rollback_started, rollback_paused, rollback_completed"`
	Message  string   `json:"rollout_message,omitempty"`
	Updated  string   `json:"updated"`
	Previous bool     `json:"has_previous_spec,omitempty" jsonschema:"an update happened; swarm_service shows what changed"`
}

// ServicesOutput is swarm_services' structured result.
type ServicesOutput struct {
	Items []ServiceSummary `json:"items"`
}

func mode(m swarm.ServiceMode) string {
	switch {
	case m.Global != nil:
		return "global"
	case m.ReplicatedJob != nil:
		return "replicated-job"
	case m.GlobalJob != nil:
		return "global-job"
	}
	return "replicated"
}

func ports(ps []swarm.PortConfig) []string {
	var out []string
	for _, p := range ps {
		out = append(out, fmt.Sprintf("%d:%d/%s (%s)", p.PublishedPort, p.TargetPort, p.Protocol, p.PublishMode))
	}
	return out
}

func summary(sv swarm.Service) ServiceSummary {
	out := ServiceSummary{ID: sv.ID, Name: sv.Spec.Name, Stack: sv.Spec.Labels[stackLabel], Mode: mode(sv.Spec.Mode),
		Updated: tool.Date(sv.UpdatedAt), Previous: sv.PreviousSpec != nil}
	if cs := sv.Spec.TaskTemplate.ContainerSpec; cs != nil {
		out.Image = cs.Image
	}
	if sv.ServiceStatus != nil {
		out.Running, out.Desired = sv.ServiceStatus.RunningTasks, sv.ServiceStatus.DesiredTasks
	}
	out.Ports = ports(sv.Endpoint.Ports)
	if u := sv.UpdateStatus; u != nil {
		out.Rollout, out.Message = string(u.State), u.Message
	}
	return out
}

func (s *Server) services(ctx context.Context, c *tool.Call, in ServicesInput) (*tool.Result, error) {
	f := client.Filters{}
	if in.Stack != "" {
		if err := checkStack(c, in.Stack); err != nil {
			return nil, err
		}
		f.Add("label", stackLabel+"="+in.Stack)
	}
	cl, err := s.engine(in.Host)
	if err != nil {
		return nil, err
	}
	list, err := cl.ServiceList(ctx, client.ServiceListOptions{Filters: f, Status: true})
	if err != nil {
		return nil, fmt.Errorf("docker engine: list services: %w", err)
	}
	out := ServicesOutput{Items: []ServiceSummary{}}
	for _, sv := range list.Items {
		if !visible(c, sv.Spec.Labels) || in.Name != "" && !strings.Contains(sv.Spec.Name, in.Name) {
			continue
		}
		out.Items = append(out.Items, summary(sv))
	}
	sort.Slice(out.Items, func(i, j int) bool { return out.Items[i].Name < out.Items[j].Name })
	return &tool.Result{Data: out, Render: func(d map[string]any) string {
		return tool.Rows(d, func(m map[string]any) string {
			line := fmt.Sprintf("%s  %s %v/%v  %s", tool.Str(m["name"]), tool.Str(m["mode"]), m["running"], m["desired"], tool.Str(m["image"]))
			if r := tool.Str(m["rollout"]); r != "" {
				line += "  rollout " + r
			}
			if p, ok := m["ports"].([]any); ok && len(p) > 0 {
				line += fmt.Sprintf("  ports %v", p)
			}
			return line
		})
	}}, nil
}

// ServiceInput are swarm_service's arguments.
type ServiceInput struct {
	HostInput
	Service string `json:"service" jsonschema:"service name or ID"`
}

// TaskInfo is one task.
type TaskInfo struct {
	ID       string `json:"id"`
	Service  string `json:"service"`
	Slot     int    `json:"slot,omitempty"`
	Node     string `json:"node,omitempty"`
	State    string `json:"state"`
	Desired  string `json:"desired_state"`
	Error    string `json:"error,omitempty"`
	ExitCode *int   `json:"exit_code,omitempty"`
	Message  string `json:"message,omitempty"`
	Image    string `json:"image,omitempty"`
	Since    string `json:"since" jsonschema:"time of the current state"`
}

// Change is one difference between the previous and the current spec.
type Change struct {
	Field    string `json:"field"`
	Previous string `json:"previous"`
	Current  string `json:"current"`
}

// ServiceOutput is swarm_service's structured result.
type ServiceOutput struct {
	ServiceSummary
	Command string            `json:"command,omitempty" jsonschema:"entrypoint and arguments as one command line, masked as a whole"`
	Env     map[string]string `json:"env,omitempty" jsonschema:"environment (secret-looking values masked)"`
	Labels  map[string]string `json:"labels,omitempty" jsonschema:"service labels (secret-looking values masked)"`
	Secrets []string          `json:"secrets,omitempty"`
	Configs []string          `json:"configs,omitempty"`
	Changes []Change          `json:"changes,omitempty" jsonschema:"previous spec -> current spec, after an update or rollback"`
	Items   []TaskInfo        `json:"items" jsonschema:"tasks by slot, newest first within a slot"`
}

func envMap(env []string) map[string]string {
	out := map[string]string{}
	for _, e := range env {
		k, v, _ := strings.Cut(e, "=")
		out[k] = v
	}
	return out
}

// maskedMap is an env or label map with each value masked as NAME=value.
func maskedMap(c *tool.Call, m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = envValue(c, k, v)
	}
	return out
}

func taskInfo(t swarm.Task, service string) TaskInfo {
	ti := TaskInfo{ID: t.ID, Service: service, Slot: t.Slot, Node: t.NodeID, State: string(t.Status.State), Desired: string(t.DesiredState),
		Error: t.Status.Err, Message: t.Status.Message, Since: tool.Date(t.Status.Timestamp)}
	if cs := t.Status.ContainerStatus; cs != nil && (t.Status.State == swarm.TaskStateFailed || t.Status.State == swarm.TaskStateComplete || t.Status.State == swarm.TaskStateShutdown) {
		code := cs.ExitCode
		ti.ExitCode = &code
	}
	if t.Spec.ContainerSpec != nil {
		ti.Image = t.Spec.ContainerSpec.Image
	}
	return ti
}

// changes lists what differs between two specs in the fields people ask
// about after a rollout. Every value shown goes through the masker as the
// text it is: an env entry or label as NAME=value (so the name makes the
// value secret), a command as a whole command line (so "--db-password
// hunter2" hides hunter2 although it is two arguments).
func changes(c *tool.Call, prev, cur swarm.ServiceSpec) []Change {
	var out []Change
	add := func(field string, a, b any) {
		if !reflect.DeepEqual(a, b) {
			out = append(out, Change{Field: field, Previous: c.Mask(fmt.Sprint(a)), Current: c.Mask(fmt.Sprint(b))})
		}
	}
	pc, cc := prev.TaskTemplate.ContainerSpec, cur.TaskTemplate.ContainerSpec
	if pc != nil && cc != nil {
		add("image", pc.Image, cc.Image)
		if !slices.Equal(pc.Command, cc.Command) {
			out = append(out, Change{Field: "command", Previous: cmdLine(c, pc.Command), Current: cmdLine(c, cc.Command)})
		}
		if !slices.Equal(pc.Args, cc.Args) {
			out = append(out, Change{Field: "args", Previous: cmdLine(c, pc.Args), Current: cmdLine(c, cc.Args)})
		}
		out = append(out, mapChanges(c, "env ", envMap(pc.Env), envMap(cc.Env))...)
	}
	add("replicas", replicas(prev.Mode), replicas(cur.Mode))
	out = append(out, mapChanges(c, "label ", prev.Labels, cur.Labels)...)
	if prev.EndpointSpec != nil && cur.EndpointSpec != nil {
		add("ports", ports(prev.EndpointSpec.Ports), ports(cur.EndpointSpec.Ports))
	}
	return out
}

// mapChanges lists the keys of two maps (env, labels) whose values differ,
// the values masked as NAME=value.
func mapChanges(c *tool.Call, prefix string, prev, cur map[string]string) []Change {
	keys := map[string]bool{}
	for k := range prev {
		keys[k] = true
	}
	for k := range cur {
		keys[k] = true
	}
	var out []Change
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		pv, pok := prev[k]
		cv, cok := cur[k]
		if pok != cok || pv != cv {
			out = append(out, Change{Field: prefix + k, Previous: envShown(c, k, pv, pok), Current: envShown(c, k, cv, cok)})
		}
	}
	return out
}

func envShown(c *tool.Call, k, v string, ok bool) string {
	if !ok {
		return "(unset)"
	}
	return envValue(c, k, v)
}

// envValue is an env entry's (or label's) value as it may be shown: the
// entry masked as the text NAME=value, so the masker judges the value by
// its name. A value under a secret-looking name that the masker let
// through (too short to look like a key) is masked by its name alone.
func envValue(c *tool.Call, k, v string) string {
	val, ok := strings.CutPrefix(c.Mask(k+"="+v), k+"=")
	if v != "" && mask.SensitiveKey(k) && !(ok && placeholder(val)) {
		// The name says the whole value is secret, but the masker left
		// it, or part of it (a short PIN, the words after a space): a
		// placeholder of its digest, which keeps equal values equal.
		return secretShown(c, v)
	}
	if !ok {
		// The masker reshaped the name: mask the value on its own.
		return c.Mask(v)
	}
	return val
}

// secretShown is a placeholder for a value known to be secret, whatever
// it looks like.
func secretShown(c *tool.Call, v string) string {
	sum := sha256.Sum256([]byte(v))
	if p := strings.TrimPrefix(c.Mask("password=h"+hex.EncodeToString(sum[:16])), "password="); placeholder(p) {
		return p
	}
	// A masker that would not take a digest under "password": hidden
	// all the same, without the hash.
	return mask.Prefix + ":secret]"
}

// placeholder reports whether s is exactly one masker placeholder.
func placeholder(s string) bool {
	return strings.HasPrefix(s, mask.Prefix) && strings.HasSuffix(s, "]") && strings.Count(s, "]") == 1
}

// cmdLine renders a command (or its arguments) as one shell-quoted line,
// masked as a whole so a flag and its value in separate arguments are
// seen together. The value of a secret-named flag (--db-password x,
// --db-password=x) is hidden by the flag's name first, so what the
// neighbouring arguments look like cannot save it from the masker.
func cmdLine(c *tool.Call, args []string) string {
	if len(args) == 0 {
		return "(none)"
	}
	q := make([]string, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		name, isFlag := flagName(a)
		switch {
		case !isFlag || !mask.SensitiveKey(name):
			q[i] = shellQuote(a)
		case strings.Contains(a, "="):
			flag, v, _ := strings.Cut(a, "=")
			q[i] = shellQuote(flag) + "=" + secretOrEmpty(c, v)
		case i+1 < len(args):
			q[i] = shellQuote(a)
			i++
			q[i] = secretOrEmpty(c, args[i])
		default:
			q[i] = shellQuote(a)
		}
	}
	return c.Mask(strings.Join(q, " "))
}

func secretOrEmpty(c *tool.Call, v string) string {
	if v == "" {
		return "''"
	}
	return secretShown(c, v)
}

// flagName is the name of a -x or --name[=value] argument.
func flagName(a string) (string, bool) {
	if len(a) < 2 || a[0] != '-' || a == "--" {
		return "", false
	}
	name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
	return name, name != ""
}

// shellQuote quotes an argument the way a shell would need it.
func shellQuote(a string) string {
	if a != "" && !strings.ContainsAny(a, " \t\n\r'\"\\$`;&|<>(){}*?!#~") {
		return a
	}
	return "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
}

func replicas(m swarm.ServiceMode) string {
	if m.Replicated != nil && m.Replicated.Replicas != nil {
		return fmt.Sprint(*m.Replicated.Replicas)
	}
	return mode(m)
}

func (s *Server) service(ctx context.Context, c *tool.Call, in ServiceInput) (*tool.Result, error) {
	if in.Service == "" {
		return nil, tool.Argf("service is required (see swarm_services)")
	}
	if err := checkName("service", in.Service, "swarm_services"); err != nil {
		return nil, err
	}
	cl, err := s.engine(in.Host)
	if err != nil {
		return nil, err
	}
	sv, err := s.resolveService(ctx, c, cl, in.Service)
	if err != nil {
		return nil, err
	}
	// ServiceInspect has no running/desired counts; the list does.
	if list, err := cl.ServiceList(ctx, client.ServiceListOptions{Filters: client.Filters{}.Add("id", sv.ID), Status: true}); err == nil && len(list.Items) == 1 {
		sv.ServiceStatus = list.Items[0].ServiceStatus
	}
	out := ServiceOutput{ServiceSummary: summary(sv), Labels: maskedMap(c, sv.Spec.Labels), Items: []TaskInfo{}}
	if cs := sv.Spec.TaskTemplate.ContainerSpec; cs != nil {
		if cmd := append(append([]string{}, cs.Command...), cs.Args...); len(cmd) > 0 {
			out.Command = cmdLine(c, cmd)
		}
		out.Env = maskedMap(c, envMap(cs.Env))
		for _, r := range cs.Secrets {
			out.Secrets = append(out.Secrets, r.SecretName)
		}
		for _, r := range cs.Configs {
			out.Configs = append(out.Configs, r.ConfigName)
		}
	}
	if sv.PreviousSpec != nil {
		out.Changes = changes(c, *sv.PreviousSpec, sv.Spec)
	}
	tasks, err := cl.TaskList(ctx, client.TaskListOptions{Filters: client.Filters{}.Add("service", sv.ID)})
	if err != nil {
		return nil, fmt.Errorf("docker engine: list tasks of %s: %w", sv.Spec.Name, err)
	}
	sort.Slice(tasks.Items, func(i, j int) bool {
		a, b := tasks.Items[i], tasks.Items[j]
		if a.Slot != b.Slot {
			return a.Slot < b.Slot
		}
		return a.Status.Timestamp.After(b.Status.Timestamp)
	})
	for _, t := range tasks.Items {
		out.Items = append(out.Items, taskInfo(t, sv.Spec.Name))
	}
	return &tool.Result{Data: out, Render: renderService}, nil
}

func renderService(d map[string]any) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s) %s %v/%v  image %s  updated %s\n", tool.Str(d["name"]), tool.Str(d["id"]), tool.Str(d["mode"]), d["running"], d["desired"], tool.Str(d["image"]), tool.Str(d["updated"]))
	if r := tool.Str(d["rollout"]); r != "" {
		fmt.Fprintf(&b, "rollout: %s %s\n", r, tool.Str(d["rollout_message"]))
	}
	if cmd := tool.Str(d["command"]); cmd != "" {
		fmt.Fprintf(&b, "command: %s\n", cmd)
	}
	if env, ok := d["env"].(map[string]any); ok {
		var keys []string
		for k := range env {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, "env %s=%s\n", k, tool.Str(env[k]))
		}
	}
	if ch, ok := d["changes"].([]any); ok && len(ch) > 0 {
		b.WriteString("changed from the previous spec:\n")
		for _, c := range ch {
			m, _ := c.(map[string]any)
			fmt.Fprintf(&b, "  %s: %s -> %s\n", tool.Str(m["field"]), tool.Str(m["previous"]), tool.Str(m["current"]))
		}
	}
	b.WriteString("tasks:\n")
	b.WriteString(tool.Rows(d, renderTask))
	return b.String()
}

func renderTask(m map[string]any) string {
	line := fmt.Sprintf("  %s.%v %s  %s (desired %s) since %s", tool.Str(m["service"]), m["slot"], tool.Str(m["id"]), tool.Str(m["state"]), tool.Str(m["desired_state"]), tool.Str(m["since"]))
	if e := tool.Str(m["error"]); e != "" {
		line += "  error: " + e
	}
	if code, ok := m["exit_code"]; ok && code != nil {
		line += fmt.Sprintf("  exit %v", code)
	}
	return line
}

// TasksInput are swarm_tasks' arguments.
type TasksInput struct {
	HostInput
	Service string `json:"service,omitempty" jsonschema:"only this service (name or ID)"`
	Stack   string `json:"stack,omitempty" jsonschema:"only services of this stack"`
	Node    string `json:"node,omitempty" jsonschema:"only tasks on this node (ID or hostname)"`
	State   string `json:"state,omitempty" jsonschema:"only tasks in this state: running, failed, rejected, shutdown, complete, pending…"`
	Limit   int    `json:"limit,omitempty" jsonschema:"most tasks (default 100)"`
}

// TasksOutput is swarm_tasks' structured result.
type TasksOutput struct {
	Items []TaskInfo `json:"items"`
}

func (s *Server) tasks(ctx context.Context, c *tool.Call, in TasksInput) (*tool.Result, error) {
	f := client.Filters{}
	if in.Stack != "" {
		if err := checkStack(c, in.Stack); err != nil {
			return nil, err
		}
		f.Add("label", stackLabel+"="+in.Stack)
	}
	if err := checkOptional("node", in.Node, "swarm_nodes"); err != nil {
		return nil, err
	}
	if err := checkOptional("service", in.Service, "swarm_services"); err != nil {
		return nil, err
	}
	cl, err := s.engine(in.Host)
	if err != nil {
		return nil, err
	}
	if in.Service != "" {
		sv, err := s.resolveService(ctx, c, cl, in.Service)
		if err != nil {
			return nil, err
		}
		f.Add("service", sv.ID)
	}
	if in.Node != "" {
		f.Add("node", in.Node)
	}
	svcs, err := cl.ServiceList(ctx, client.ServiceListOptions{})
	if err != nil {
		return nil, fmt.Errorf("docker engine: list services: %w", err)
	}
	// A task is visible when its service is: tasks carry the stack label
	// only through their service.
	names := map[string]string{}
	for _, sv := range svcs.Items {
		if visible(c, sv.Spec.Labels) {
			names[sv.ID] = sv.Spec.Name
		}
	}
	list, err := cl.TaskList(ctx, client.TaskListOptions{Filters: f})
	if err != nil {
		return nil, fmt.Errorf("docker engine: list tasks: %w", err)
	}
	sort.Slice(list.Items, func(i, j int) bool { return list.Items[i].Status.Timestamp.After(list.Items[j].Status.Timestamp) })
	n := in.Limit
	if n <= 0 {
		n = 100
	}
	out := TasksOutput{Items: []TaskInfo{}}
	for _, t := range list.Items {
		if _, ok := names[t.ServiceID]; !ok {
			continue
		}
		if in.State != "" && !strings.EqualFold(string(t.Status.State), in.State) {
			continue
		}
		if len(out.Items) >= n {
			break
		}
		out.Items = append(out.Items, taskInfo(t, names[t.ServiceID]))
	}
	return &tool.Result{Data: out, Render: func(d map[string]any) string { return tool.Rows(d, renderTask) }}, nil
}

// StacksInput are swarm_stacks' arguments.
type StacksInput struct {
	HostInput
	Stack string `json:"stack,omitempty" jsonschema:"only this stack"`
}

// StackInfo is one stack.
type StackInfo struct {
	Name     string   `json:"name"`
	Services []string `json:"services"`
	Networks []string `json:"networks,omitempty"`
	Configs  []string `json:"configs,omitempty"`
	Secrets  []string `json:"secrets,omitempty"`
}

// StacksOutput is swarm_stacks' structured result.
type StacksOutput struct {
	Items []StackInfo `json:"items"`
}

func (s *Server) stacks(ctx context.Context, c *tool.Call, in StacksInput) (*tool.Result, error) {
	if in.Stack != "" {
		if err := checkStack(c, in.Stack); err != nil {
			return nil, err
		}
	}
	cl, err := s.engine(in.Host)
	if err != nil {
		return nil, err
	}
	byName := map[string]*StackInfo{}
	get := func(labels map[string]string) *StackInfo {
		name := labels[stackLabel]
		if name == "" || in.Stack != "" && name != in.Stack || !c.Allows(stacksScope, name) {
			return nil
		}
		if byName[name] == nil {
			byName[name] = &StackInfo{Name: name, Services: []string{}}
		}
		return byName[name]
	}
	svcs, err := cl.ServiceList(ctx, client.ServiceListOptions{})
	if err != nil {
		return nil, fmt.Errorf("docker engine: list services: %w", err)
	}
	for _, sv := range svcs.Items {
		if st := get(sv.Spec.Labels); st != nil {
			st.Services = append(st.Services, sv.Spec.Name)
		}
	}
	nets, err := cl.NetworkList(ctx, client.NetworkListOptions{})
	if err != nil {
		return nil, fmt.Errorf("docker engine: list networks: %w", err)
	}
	for _, n := range nets.Items {
		if st := get(n.Labels); st != nil {
			st.Networks = append(st.Networks, n.Name)
		}
	}
	cfgs, err := cl.ConfigList(ctx, client.ConfigListOptions{})
	if err != nil {
		return nil, fmt.Errorf("docker engine: list configs: %w", err)
	}
	for _, cf := range cfgs.Items {
		if st := get(cf.Spec.Labels); st != nil {
			st.Configs = append(st.Configs, cf.Spec.Name)
		}
	}
	secs, err := cl.SecretList(ctx, client.SecretListOptions{})
	if err != nil {
		return nil, fmt.Errorf("docker engine: list secrets: %w", err)
	}
	for _, se := range secs.Items {
		if st := get(se.Spec.Labels); st != nil {
			st.Secrets = append(st.Secrets, se.Spec.Name)
		}
	}
	out := StacksOutput{Items: []StackInfo{}}
	for _, st := range byName {
		for _, l := range [][]string{st.Services, st.Networks, st.Configs, st.Secrets} {
			sort.Strings(l)
		}
		out.Items = append(out.Items, *st)
	}
	sort.Slice(out.Items, func(i, j int) bool { return out.Items[i].Name < out.Items[j].Name })
	return &tool.Result{Data: out, Render: func(d map[string]any) string {
		return tool.Rows(d, func(m map[string]any) string {
			return fmt.Sprintf("%s: services %v networks %v configs %v secrets %v", tool.Str(m["name"]), m["services"], orNone(m["networks"]), orNone(m["configs"]), orNone(m["secrets"]))
		})
	}}, nil
}

func orNone(v any) any {
	if v == nil {
		return "[]"
	}
	return v
}
