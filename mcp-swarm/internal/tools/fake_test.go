package tools

import (
	"encoding/binary"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/api/types/swarm"
	"github.com/stretchr/testify/require"

	"github.com/opsmcp/opsmcp/mcp-swarm/internal/engine"
	"github.com/opsmcp/opsmcp/shared/fsroot"
	"github.com/opsmcp/opsmcp/shared/policy"
	"github.com/opsmcp/opsmcp/shared/tool"
)

// Planted values: none may come back from a handler in any form.
const (
	plantedOldPw  = "Old-planted-Pw-2719"
	plantedNewPw  = "New-planted-Pw-8341"
	plantedArgPw  = "Arg-planted-Pw-5150"
	plantedArgPw2 = "Arg-planted-Pw-6262"
	plantedPEM    = "PemPlantedBody0x7Q9vK2mZ"
	plantedLogPw  = "Log-planted-Pw-4040"
)

// pemKey is a private key whose body lines, one by one, look like
// nothing secret: only the whole block is a key.
const pemKey = "-----BEGIN PRIVATE KEY-----\n" +
	"MIIBVAIBADANBgkqhkiG9w0BAQEFAASCAT4wggE6AgEAAkEA\n" +
	plantedPEM + "\n" +
	"q83bB7VZ1Yk2m9vC1o0y8pTqXkR3dN2JmHk9a2Xz0wIDAQAB\n" +
	"-----END PRIVATE KEY-----"

// fakeEngine is a Docker engine API with two stacks (shop, billing) and
// a service of no stack (loose); it records every request it gets.
type fakeEngine struct {
	mu   sync.Mutex
	seen []string
	srv  *httptest.Server
	// logs is what a service's or task's logs endpoint streams, as
	// (stream, line) pairs.
	logs map[string][][2]string
	// configs, when set, is what /configs answers.
	configs []swarm.Config
}

const (
	shopWebID   = "shopweb000000000000000001"
	billingID   = "billingpay000000000000002"
	looseID     = "loose00000000000000000003"
	shopTaskID  = "taskshop00000000000000001"
	billTaskID  = "taskbill00000000000000002"
	looseTaskID = "taskloose0000000000000003"
)

func ptr[T any](v T) *T { return &v }

func fixtureServices() []swarm.Service {
	mk := func(id, name, stack string, env, args []string) swarm.Service {
		labels := map[string]string{}
		if stack != "" {
			labels[stackLabel] = stack
		}
		sv := swarm.Service{ID: id}
		sv.Spec.Name = name
		sv.Spec.Labels = labels
		sv.Spec.Mode.Replicated = &swarm.ReplicatedService{Replicas: ptr(uint64(1))}
		sv.Spec.TaskTemplate.ContainerSpec = &swarm.ContainerSpec{Image: "local/busybox:latest", Env: env, Args: args,
			Labels: map[string]string{stackLabel: stack}}
		return sv
	}
	web := mk(shopWebID, "shop_web", "shop", []string{"LOG_LEVEL=info", "DB_PASSWORD=" + plantedNewPw},
		[]string{"sh", "-c", "sleep 3600", "app", "--db-password", plantedArgPw2})
	prev := web.Spec
	prev.TaskTemplate.ContainerSpec = &swarm.ContainerSpec{Image: "local/busybox:latest",
		Env:  []string{"LOG_LEVEL=info", "DB_PASSWORD=" + plantedOldPw},
		Args: []string{"sh", "-c", "sleep 3600", "app", "--db-password", plantedArgPw}}
	prev.Labels = map[string]string{stackLabel: "shop", "api_token": plantedOldPw}
	web.PreviousSpec = &prev
	web.Spec.TaskTemplate.Networks = []swarm.NetworkAttachmentConfig{{Target: "../../containers/standalone-db"}}
	return []swarm.Service{
		web,
		mk(billingID, "billing_pay", "billing", []string{"DB_PASSWORD=" + plantedNewPw}, nil),
		mk(looseID, "loose", "", nil, nil),
	}
}

func fixtureTasks() []swarm.Task {
	mk := func(id, service string) swarm.Task {
		return swarm.Task{ID: id, ServiceID: service, Slot: 1, Status: swarm.TaskStatus{State: swarm.TaskStateRunning, Timestamp: time.Unix(1700000000, 0)},
			DesiredState: swarm.TaskStateRunning}
	}
	return []swarm.Task{mk(shopTaskID, shopWebID), mk(billTaskID, billingID), mk(looseTaskID, looseID)}
}

func newFakeEngine(t *testing.T) *fakeEngine {
	f := &fakeEngine{logs: map[string][][2]string{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeEngine) requests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.seen...)
}

// filterValues returns the values of one key of a filters query.
func filterValues(r *http.Request, key string) []string {
	var m map[string]map[string]bool
	json.Unmarshal([]byte(r.URL.Query().Get("filters")), &m)
	var out []string
	for v := range m[key] {
		out = append(out, v)
	}
	return out
}

func (f *fakeEngine) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.seen = append(f.seen, r.Method+" "+r.RequestURI)
	f.mu.Unlock()
	w.Header().Set("Api-Version", "1.41")
	p := r.URL.Path
	if i := strings.Index(p, "/v1."); i == 0 {
		p = p[strings.Index(p[1:], "/")+1:]
	}
	svcs, tasks := fixtureServices(), fixtureTasks()
	js := func(v any) { json.NewEncoder(w).Encode(v) }
	notFound := func() {
		w.WriteHeader(http.StatusNotFound)
		js(map[string]string{"message": "not found"})
	}
	parts := strings.Split(strings.Trim(p, "/"), "/")
	switch {
	case p == "/_ping":
		w.Write([]byte("OK"))
	case p == "/info":
		js(map[string]any{"Swarm": map[string]any{"LocalNodeState": "active", "ControlAvailable": true, "Nodes": 1, "Managers": 1}})
	case p == "/nodes":
		n := swarm.Node{ID: "node1"}
		n.Spec.Labels = map[string]string{"zone": "a", "vault_token": "x1"}
		n.Description.Hostname = "node-1"
		js([]swarm.Node{n})
	case p == "/services":
		out := []swarm.Service{}
		for _, sv := range svcs {
			ok := true
			for _, l := range filterValues(r, "label") {
				k, v, _ := strings.Cut(l, "=")
				ok = ok && sv.Spec.Labels[k] == v
			}
			for _, id := range filterValues(r, "id") {
				ok = ok && sv.ID == id
			}
			if ok {
				out = append(out, sv)
			}
		}
		js(out)
	case len(parts) == 2 && parts[0] == "services":
		for _, sv := range svcs {
			if sv.ID == parts[1] || sv.Spec.Name == parts[1] {
				js(sv)
				return
			}
		}
		notFound()
	case p == "/tasks":
		out := []swarm.Task{}
		for _, t := range tasks {
			ok := true
			for _, s := range filterValues(r, "service") {
				ok = ok && t.ServiceID == s
			}
			if ok {
				out = append(out, t)
			}
		}
		js(out)
	case len(parts) == 2 && parts[0] == "tasks":
		for _, t := range tasks {
			if t.ID == parts[1] {
				js(t)
				return
			}
		}
		notFound()
	case len(parts) == 3 && parts[2] == "logs":
		lines, ok := f.logs[parts[1]]
		if !ok {
			notFound()
			return
		}
		for _, l := range lines {
			payload := []byte("2026-11-28T10:00:00.000000001Z com.docker.swarm.task.id=" + shopTaskID + " " + l[1] + "\n")
			hdr := make([]byte, 8)
			hdr[0] = 1
			if l[0] == "stderr" {
				hdr[0] = 2
			}
			binary.BigEndian.PutUint32(hdr[4:], uint32(len(payload)))
			w.Write(hdr)
			w.Write(payload)
		}
	case p == "/configs" && f.configs != nil:
		js(f.configs)
	case p == "/configs":
		js([]swarm.Config{
			{ID: "cfgshop", Spec: swarm.ConfigSpec{Annotations: swarm.Annotations{Name: "shop_conf", Labels: map[string]string{stackLabel: "shop"}}, Data: []byte("listen: 80\n")}},
			{ID: "cfgbill", Spec: swarm.ConfigSpec{Annotations: swarm.Annotations{Name: "billing_conf", Labels: map[string]string{stackLabel: "billing"}}, Data: []byte("a: b\n")}},
			{ID: "cfgloose", Spec: swarm.ConfigSpec{Annotations: swarm.Annotations{Name: "loose_conf"}, Data: []byte("pem: |\n" + pemKey + "\n")}},
		})
	case p == "/secrets":
		js([]swarm.Secret{
			{ID: "secshop", Spec: swarm.SecretSpec{Annotations: swarm.Annotations{Name: "shop_pw", Labels: map[string]string{stackLabel: "shop"}}}},
			{ID: "secbill", Spec: swarm.SecretSpec{Annotations: swarm.Annotations{Name: "billing_pw", Labels: map[string]string{stackLabel: "billing"}}}},
		})
	case p == "/networks":
		js([]network.Summary{})
	default:
		notFound()
	}
}

// server is a Server on the fake engine.
func (f *fakeEngine) server(t *testing.T) *Server {
	t.Setenv("DOCKER_HOST", "tcp://"+strings.TrimPrefix(f.srv.URL, "http://"))
	h, err := engine.New(nil)
	require.NoError(t, err)
	roots, err := fsroot.New("compose roots", nil)
	require.NoError(t, err)
	return &Server{Hosts: h, ComposeRoots: roots}
}

// testPolicy has an unrestricted role and one limited to the shop stack.
var testPolicy = func() *policy.Policy {
	p, err := policy.Parse([]byte(`roles:
  sre:
    tools: ["*"]
  shopper:
    tools: ["swarm_*"]
    scopes:
      stacks: ["shop"]
`))
	if err != nil {
		panic(err)
	}
	return p
}()

// callAs is a call of toolName by a caller with role.
func callAs(toolName, role string) *tool.Call {
	return &tool.Call{Tool: toolName, Grant: testPolicy.For([]string{role})}
}
