package tools

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"

	"github.com/opsmcp/opsmcp/shared/fsroot"
	"github.com/opsmcp/opsmcp/shared/memory"
	"github.com/opsmcp/opsmcp/shared/tool"
)

// ComposeInput are swarm_compose's arguments.
type ComposeInput struct {
	HostInput
	Stack   string `json:"stack" jsonschema:"deployed stack to compare with"`
	Content string `json:"content,omitempty" jsonschema:"the compose or stack file's text"`
	Path    string `json:"path,omitempty" jsonschema:"or a file under the server's compose roots"`
}

// Drift is one difference between the file and the deployment.
type Drift struct {
	Service  string `json:"service"`
	Field    string `json:"field" jsonschema:"missing (in the file, not deployed), extra (deployed, not in the file), image, replicas, env, ports, networks"`
	File     string `json:"file,omitempty"`
	Deployed string `json:"deployed,omitempty"`
}

// ComposeOutput is swarm_compose's structured result.
type ComposeOutput struct {
	Stack    string  `json:"stack"`
	Services int     `json:"services" jsonschema:"services in the file"`
	InSync   bool    `json:"in_sync"`
	Items    []Drift `json:"items"`
}

func (s *Server) compose(ctx context.Context, c *tool.Call, in ComposeInput) (*tool.Result, error) {
	if in.Stack == "" {
		return nil, tool.Argf("stack is required (see swarm_stacks)")
	}
	if err := checkStack(c, in.Stack); err != nil {
		return nil, err
	}
	content, name, dir, err := s.composeText(in)
	if err != nil {
		return nil, err
	}
	// compose-go's model of a file is many times its text.
	hold := memory.HoldFrom(ctx)
	hold.SetCost(ComposeCost)
	if err := hold.Take(len(content)); err != nil {
		return nil, err
	}
	project, err := loadCompose(ctx, c, content, name, dir, in.Stack)
	if err != nil {
		return nil, err
	}
	cl, err := s.engine(in.Host)
	if err != nil {
		return nil, err
	}
	deployed, err := cl.ServiceList(ctx, client.ServiceListOptions{Filters: client.Filters{}.Add("label", stackLabel+"="+in.Stack)})
	if err != nil {
		return nil, fmt.Errorf("docker engine: list services of stack %s: %w", in.Stack, err)
	}
	nets, err := cl.NetworkList(ctx, client.NetworkListOptions{})
	if err != nil {
		return nil, fmt.Errorf("docker engine: list networks: %w", err)
	}
	netName := map[string]string{}
	for _, n := range nets.Items {
		netName[n.ID] = n.Name
	}
	bySvc := map[string]swarm.Service{}
	for _, sv := range deployed.Items {
		bySvc[strings.TrimPrefix(sv.Spec.Name, in.Stack+"_")] = sv
	}
	out := ComposeOutput{Stack: in.Stack, Services: len(project.Services), Items: []Drift{}}
	names := make([]string, 0, len(project.Services))
	for n := range project.Services {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		svc := project.Services[n]
		sv, ok := bySvc[n]
		if !ok {
			out.Items = append(out.Items, Drift{Service: n, Field: "missing", File: svc.Image})
			continue
		}
		delete(bySvc, n)
		out.Items = append(out.Items, drift(ctx, cl, n, project, svc, sv, netName)...)
	}
	var extra []string
	for n := range bySvc {
		extra = append(extra, n)
	}
	sort.Strings(extra)
	for _, n := range extra {
		out.Items = append(out.Items, Drift{Service: n, Field: "extra", Deployed: imageOf(bySvc[n])})
	}
	out.InSync = len(out.Items) == 0
	return &tool.Result{Data: out, Render: func(d map[string]any) string {
		head := fmt.Sprintf("stack %s: %v services in the file; in sync: %v\n", tool.Str(d["stack"]), d["services"], d["in_sync"])
		return head + tool.Rows(d, func(m map[string]any) string {
			return fmt.Sprintf("%s %s: file %q, deployed %q", tool.Str(m["service"]), tool.Str(m["field"]), tool.Str(m["file"]), tool.Str(m["deployed"]))
		})
	}}, nil
}

// composeText returns the file's text, from the argument or from a path
// that must stay under the compose roots (symlinks resolved), with its
// name and directory ("" for content).
func (s *Server) composeText(in ComposeInput) (text, name, dir string, err error) {
	switch {
	case in.Content != "" && in.Path != "":
		return "", "", "", tool.Argf("give content or path, not both")
	case in.Content != "":
		if len(in.Content) > maxComposeBytes {
			return "", "", "", tool.Argf("content is %d bytes; a compose file here may have at most %d", len(in.Content), maxComposeBytes)
		}
		return in.Content, "compose.yaml", "", nil
	case in.Path == "":
		return "", "", "", tool.Argf("give the compose file as content, or a path under the compose roots")
	}
	real, err := s.ComposeRoots.Resolve(in.Path)
	if errors.Is(err, fsroot.ErrNoRoots) {
		return "", "", "", tool.Argf("no compose roots are configured (--compose-root); pass the file as content")
	}
	if err != nil {
		return "", "", "", tool.Argf("%v", err)
	}
	st, err := os.Stat(real)
	switch {
	case err != nil:
		return "", "", "", tool.Argf("%s cannot be read; see the files under the compose roots", shown(in.Path))
	case !st.Mode().IsRegular():
		return "", "", "", tool.Argf("%s is not a regular file", shown(in.Path))
	case st.Size() > maxComposeBytes:
		return "", "", "", tool.Argf("%s is %d bytes; a compose file here may have at most %d", shown(in.Path), st.Size(), maxComposeBytes)
	}
	b, err := os.ReadFile(real)
	if err != nil {
		return "", "", "", tool.Argf("%s cannot be read; see the files under the compose roots", shown(in.Path))
	}
	return string(b), filepath.Base(real), filepath.Dir(real), nil
}

func imageOf(sv swarm.Service) string {
	if cs := sv.Spec.TaskTemplate.ContainerSpec; cs != nil {
		return cs.Image
	}
	return ""
}

// drift compares one service of the file with the deployed one. Env is
// compared by keys only: values are never returned.
func drift(ctx context.Context, cl *client.Client, name string, project *types.Project, svc types.ServiceConfig, sv swarm.Service, netName map[string]string) []Drift {
	var out []Drift
	add := func(field, file, deployed string) {
		if file != deployed {
			out = append(out, Drift{Service: name, Field: field, File: file, Deployed: deployed})
		}
	}
	image, _, _ := strings.Cut(imageOf(sv), "@")
	add("image", svc.Image, image)
	want := 1
	if svc.Deploy != nil && svc.Deploy.Replicas != nil {
		want = *svc.Deploy.Replicas
	}
	add("replicas", fmt.Sprint(want), replicas(sv.Spec.Mode))
	var fileEnv, depEnv []string
	for k := range svc.Environment {
		fileEnv = append(fileEnv, k)
	}
	if cs := sv.Spec.TaskTemplate.ContainerSpec; cs != nil {
		for k := range envMap(cs.Env) {
			depEnv = append(depEnv, k)
		}
	}
	add("env", joinSorted(fileEnv), joinSorted(depEnv))
	var filePorts, depPorts []string
	for _, p := range svc.Ports {
		filePorts = append(filePorts, fmt.Sprintf("%s:%d/%s", p.Published, p.Target, orTCP(p.Protocol)))
	}
	if sv.Spec.EndpointSpec != nil {
		for _, p := range sv.Spec.EndpointSpec.Ports {
			depPorts = append(depPorts, fmt.Sprintf("%d:%d/%s", p.PublishedPort, p.TargetPort, orTCP(string(p.Protocol))))
		}
	}
	add("ports", joinSorted(filePorts), joinSorted(depPorts))
	// Networks by their real names: compose-go names a stack's own
	// networks <stack>_<name> and an external one by its name.
	var fileNets, depNets []string
	for n := range svc.Networks {
		real := n
		if nc, ok := project.Networks[n]; ok && nc.Name != "" {
			real = nc.Name
		}
		fileNets = append(fileNets, real)
	}
	for _, n := range sv.Spec.TaskTemplate.Networks {
		nn := netName[n.Target]
		if nn == "" {
			// Swarm-scope networks such as host may be missing from the
			// node's list; ask for the one, if its ID is one (it comes
			// from the engine, but it would be a URL segment).
			if !nameOK(n.Target) {
				nn = n.Target
			} else if res, err := cl.NetworkInspect(ctx, n.Target, client.NetworkInspectOptions{}); err == nil {
				nn = res.Network.Name
			} else {
				nn = n.Target
			}
			netName[n.Target] = nn
		}
		depNets = append(depNets, nn)
	}
	add("networks", joinSorted(fileNets), joinSorted(depNets))
	return out
}

func orTCP(p string) string {
	if p == "" {
		return "tcp"
	}
	return p
}

func joinSorted(s []string) string {
	sort.Strings(s)
	return strings.Join(s, ",")
}
