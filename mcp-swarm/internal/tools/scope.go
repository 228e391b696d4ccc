package tools

import (
	"context"
	"fmt"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"

	"github.com/opsmcp/opsmcp/shared/tool"
)

// The policy scope "stacks" narrows what a role sees to the stacks it
// names (glob patterns). A service, task, config, secret or network
// belongs to the stack in its com.docker.stack.namespace label. An object
// with no stack label is visible only to roles unrestricted in stacks: a
// role limited to some stacks was given those stacks, not the rest of the
// swarm. Nodes and the cluster itself belong to no stack and stay visible
// (swarm_info, swarm_nodes), but counts of stack objects count only what
// the caller may see.
const stacksScope = "stacks"

// unrestricted reports whether the caller may see every stack.
func unrestricted(c *tool.Call) bool { return c.Scope(stacksScope) == nil }

// visible reports whether the caller may see an object with these labels.
func visible(c *tool.Call, labels map[string]string) bool {
	if unrestricted(c) {
		return true
	}
	st := labels[stackLabel]
	return st != "" && c.Allows(stacksScope, st)
}

// allowedStacks describes the caller's stacks for a denial.
func allowedStacks(c *tool.Call) string {
	s := c.Scope(stacksScope)
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

// checkStack validates a caller's stack name and refuses one outside the
// caller's stacks.
func checkStack(c *tool.Call, stack string) error {
	if err := checkName("stack", stack, "swarm_stacks"); err != nil {
		return err
	}
	if !c.Allows(stacksScope, stack) {
		return tool.Deniedf("your role may not read stack %s (allowed stacks: %s)", shown(stack), allowedStacks(c))
	}
	return nil
}

// hidden is the refusal of an object outside the caller's stacks. A
// restricted caller gets it for an object that does not exist as well, so
// the answer does not tell which names exist in other stacks.
func hidden(c *tool.Call, what, ref string) error {
	return tool.Deniedf("%s %s is not in a stack your role may read (allowed stacks: %s; see swarm_services)", what, shown(ref), allowedStacks(c))
}

// resolveService validates ref (a service name or ID), inspects it and
// refuses it when it is outside the caller's stacks.
func (s *Server) resolveService(ctx context.Context, c *tool.Call, cl *client.Client, ref string) (swarm.Service, error) {
	if ref == "" {
		return swarm.Service{}, tool.Argf("service is required (see swarm_services)")
	}
	if err := checkName("service", ref, "swarm_services"); err != nil {
		return swarm.Service{}, err
	}
	res, err := cl.ServiceInspect(ctx, ref, client.ServiceInspectOptions{})
	switch {
	case engineFailure(err):
		// The engine's failure says nothing about the name: told as it is.
		return swarm.Service{}, fmt.Errorf("docker engine: inspect service %s: %w", shown(ref), upstreamErr(cl, err))
	case err != nil && !unrestricted(c):
		return swarm.Service{}, hidden(c, "service", ref)
	case cerrdefs.IsNotFound(err):
		return swarm.Service{}, tool.Argf("no service %s (see swarm_services for names and IDs)", shown(ref))
	case err != nil:
		return swarm.Service{}, fmt.Errorf("docker engine: inspect service %s: %w", shown(ref), err)
	}
	if !visible(c, res.Service.Spec.Labels) {
		return swarm.Service{}, hidden(c, "service", ref)
	}
	return res.Service, nil
}

// resolveTask validates a task ID, inspects the task and its service, and
// refuses it when the service is outside the caller's stacks.
func (s *Server) resolveTask(ctx context.Context, c *tool.Call, cl *client.Client, ref string) (swarm.Task, swarm.Service, error) {
	if err := checkTaskID(ref); err != nil {
		return swarm.Task{}, swarm.Service{}, err
	}
	res, err := cl.TaskInspect(ctx, ref, client.TaskInspectOptions{})
	switch {
	case engineFailure(err):
		return swarm.Task{}, swarm.Service{}, fmt.Errorf("docker engine: inspect task %s: %w", shown(ref), upstreamErr(cl, err))
	case err != nil && !unrestricted(c):
		return swarm.Task{}, swarm.Service{}, hidden(c, "task", ref)
	case cerrdefs.IsNotFound(err):
		return swarm.Task{}, swarm.Service{}, tool.Argf("no task %s (see swarm_tasks for task IDs)", shown(ref))
	case err != nil:
		return swarm.Task{}, swarm.Service{}, fmt.Errorf("docker engine: inspect task %s: %w", shown(ref), err)
	}
	t := res.Task
	// The service ID comes from the engine, but it is a URL segment too.
	if !idOK(t.ServiceID) || !idOK(t.ID) {
		return swarm.Task{}, swarm.Service{}, fmt.Errorf("docker engine: task %s has a malformed ID or service ID", shown(ref))
	}
	sres, err := cl.ServiceInspect(ctx, t.ServiceID, client.ServiceInspectOptions{})
	switch {
	case engineFailure(err):
		return swarm.Task{}, swarm.Service{}, fmt.Errorf("docker engine: inspect the service of task %s: %w", shown(ref), upstreamErr(cl, err))
	case err != nil && !unrestricted(c):
		return swarm.Task{}, swarm.Service{}, hidden(c, "task", ref)
	case err != nil:
		return swarm.Task{}, swarm.Service{}, fmt.Errorf("docker engine: inspect the service of task %s: %w", shown(ref), err)
	}
	if !visible(c, sres.Service.Spec.Labels) {
		return swarm.Task{}, swarm.Service{}, hidden(c, "task", ref)
	}
	return t, sres.Service, nil
}
