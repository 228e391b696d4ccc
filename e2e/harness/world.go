package harness

// The fixture world the sandbox (e2e/cmd/sandbox) seeds: a small, realistic
// infrastructure a newcomer can look at, with one broken thing in each
// upstream. The e2e suites keep their own fixtures (planted secrets, edge
// cases); this one is for people.

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"code.gitea.io/sdk/gitea"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
)

// WorldNode is the one node of the sandbox cluster: its kubelet is a
// FakeKubelet, and SeedKubeWorld keeps it Ready.
const WorldNode = "sandbox-node"

// worldDeployments: namespace, name, image, replicas; payments/ledger is
// the failing one (its container crash-loops).
var worldDeployments = []struct {
	ns, name, image string
	replicas        int32
}{
	{"shop", "web", "registry.local/shop/web:1.8.2", 2},
	{"shop", "cart", "registry.local/shop/cart:3.1.0", 1},
	{"payments", "ledger", "registry.local/payments/ledger:2.4.0", 1},
	{"monitoring", "prometheus", "registry.local/prometheus:2.53", 1},
}

// KubeWorld is the seeded cluster: the stand-in kubelet serving its pods'
// logs, and the heartbeat that keeps its node Ready.
type KubeWorld struct {
	Kubelet *FakeKubelet
	// FailingPod is the crash-looping pod, "payments/<name>".
	FailingPod string
	stop       context.CancelFunc
	done       chan struct{}
}

// Stop ends the heartbeat and the stand-in kubelet.
func (w *KubeWorld) Stop() {
	w.stop()
	<-w.done
	w.Kubelet.Stop()
}

// SeedKubeWorld grants the reader identity read access and creates the
// namespaces shop, payments and monitoring with a deployment each (two in
// shop). No kubelet can run here, so one node stands in: its pods are
// bound to it and their status is written as a kubelet would, Running and
// Ready except payments/ledger, whose container is in CrashLoopBackOff
// (with events and a crash log behind kubectl logs --previous).
func SeedKubeWorld(ctx context.Context, k *Kube) (*KubeWorld, error) {
	if err := k.GrantReader(ctx); err != nil {
		return nil, fmt.Errorf("grant reader: %w", err)
	}
	cs, err := k.Admin()
	if err != nil {
		return nil, err
	}
	for _, ns := range []string{"shop", "payments", "monitoring"} {
		if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			return nil, fmt.Errorf("namespace %s: %w", ns, err)
		}
	}
	for _, d := range worldDeployments {
		labels := map[string]string{"app": d.name}
		dep := &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: d.name, Labels: labels},
			Spec: appsv1.DeploymentSpec{
				Replicas: ptr.To(d.replicas),
				Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: labels},
					Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: d.image,
						Env: []corev1.EnvVar{{Name: "LOG_LEVEL", Value: "info"}}}}},
				},
			},
		}
		if _, err := cs.AppsV1().Deployments(d.ns).Create(ctx, dep, metav1.CreateOptions{}); err != nil {
			return nil, fmt.Errorf("deployment %s/%s: %w", d.ns, d.name, err)
		}
	}
	// The controller manager makes the pods; wait for all of them.
	pods := map[string][]corev1.Pod{}
	if err := waitUntil(ctx, 60*time.Second, func() bool {
		for _, d := range worldDeployments {
			l, err := cs.CoreV1().Pods(d.ns).List(ctx, metav1.ListOptions{LabelSelector: "app=" + d.name})
			if err != nil || len(l.Items) < int(d.replicas) {
				return false
			}
			pods[d.ns+"/"+d.name] = l.Items
		}
		return true
	}); err != nil {
		return nil, fmt.Errorf("the controller manager made no pods for the deployments: %w", err)
	}
	logs := map[string]ContainerLog{}
	now := time.Now()
	for key, list := range pods {
		for _, p := range list {
			logs[p.Namespace+"/"+p.Name+"/app"] = worldPodLog(key, now)
		}
	}
	kubelet, err := StartFakeKubelet(k.CA, logs)
	if err != nil {
		return nil, err
	}
	w := &KubeWorld{Kubelet: kubelet, done: make(chan struct{})}
	if _, err := cs.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: WorldNode,
		Labels: map[string]string{"kubernetes.io/hostname": WorldNode, "kubernetes.io/os": "linux"}}}, metav1.CreateOptions{}); err != nil {
		kubelet.Stop()
		return nil, fmt.Errorf("node: %w", err)
	}
	if err := nodeReady(ctx, cs, kubelet.Port); err != nil {
		kubelet.Stop()
		return nil, err
	}
	for key, list := range pods {
		for _, p := range list {
			if err := runPod(ctx, cs, p, key == "payments/ledger", now); err != nil {
				kubelet.Stop()
				return nil, err
			}
		}
	}
	if err := worldEvents(ctx, cs, pods["payments/ledger"], now); err != nil {
		kubelet.Stop()
		return nil, err
	}
	w.FailingPod = "payments/" + pods["payments/ledger"][0].Name
	hb, stop := context.WithCancel(context.Background())
	w.stop = stop
	go func() {
		// The node controller marks a node that stops reporting NotReady
		// (then evicts its pods): report as a kubelet would.
		defer close(w.done)
		t := time.NewTicker(10 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-hb.Done():
				return
			case <-t.C:
				nodeReady(hb, cs, kubelet.Port)
			}
		}
	}()
	return w, nil
}

// nodeReady reports the node Ready now, with the stand-in kubelet's port.
func nodeReady(ctx context.Context, cs *kubernetes.Clientset, port int) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		node, err := cs.CoreV1().Nodes().Get(ctx, WorldNode, metav1.GetOptions{})
		if err != nil {
			return err
		}
		now := metav1.Now()
		node.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "127.0.0.1"}, {Type: corev1.NodeHostName, Address: WorldNode}}
		node.Status.DaemonEndpoints.KubeletEndpoint.Port = int32(port)
		node.Status.Capacity = corev1.ResourceList{"cpu": mustQty("4"), "memory": mustQty("8Gi"), "pods": mustQty("110")}
		node.Status.Allocatable = node.Status.Capacity
		node.Status.NodeInfo.KubeletVersion = "v1.36.3"
		node.Status.NodeInfo.OperatingSystem, node.Status.NodeInfo.Architecture = "linux", "amd64"
		node.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady",
			Message: "stand-in kubelet is posting ready status", LastHeartbeatTime: now, LastTransitionTime: now}}
		_, err = cs.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{})
		return err
	})
}

// runPod binds a pod to the node and writes the status a kubelet would:
// Running and Ready, or crash-looping.
func runPod(ctx context.Context, cs *kubernetes.Clientset, p corev1.Pod, crash bool, now time.Time) error {
	err := cs.CoreV1().Pods(p.Namespace).Bind(ctx, &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: p.Name},
		Target: corev1.ObjectReference{Kind: "Node", Name: WorldNode}}, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("bind %s/%s: %w", p.Namespace, p.Name, err)
	}
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		pod, err := cs.CoreV1().Pods(p.Namespace).Get(ctx, p.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		started := metav1.NewTime(now.Add(-40 * time.Minute))
		ready := corev1.ConditionTrue
		cst := corev1.ContainerStatus{Name: "app", Image: pod.Spec.Containers[0].Image, ImageID: "sha256:" + strings.Repeat("ab", 32),
			ContainerID: "containerd://" + randHex(32), Ready: true, Started: ptr.To(true),
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: started}}}
		if crash {
			ready = corev1.ConditionFalse
			cst.Ready, cst.Started, cst.RestartCount = false, ptr.To(false), 12
			cst.State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff",
				Message: "back-off 5m0s restarting failed container=app pod=" + pod.Name}}
			cst.LastTerminationState = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error",
				StartedAt: metav1.NewTime(now.Add(-3 * time.Minute)), FinishedAt: metav1.NewTime(now.Add(-3*time.Minute + 4*time.Second))}}
		}
		pod.Status.Phase = corev1.PodRunning
		pod.Status.HostIP, pod.Status.PodIP = "127.0.0.1", fmt.Sprintf("10.244.0.%d", 10+len(pod.Name)%200)
		pod.Status.StartTime = &started
		pod.Status.Conditions = []corev1.PodCondition{
			{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: started},
			{Type: corev1.PodInitialized, Status: corev1.ConditionTrue, LastTransitionTime: started},
			{Type: corev1.ContainersReady, Status: ready, LastTransitionTime: started},
			{Type: corev1.PodReady, Status: ready, LastTransitionTime: started},
		}
		pod.Status.ContainerStatuses = []corev1.ContainerStatus{cst}
		_, err = cs.CoreV1().Pods(p.Namespace).UpdateStatus(ctx, pod, metav1.UpdateOptions{})
		return err
	})
}

func worldEvents(ctx context.Context, cs *kubernetes.Clientset, ledger []corev1.Pod, now time.Time) error {
	for i, p := range ledger {
		for j, e := range []struct{ typ, reason, msg string }{
			{"Normal", "Pulled", "Container image \"registry.local/payments/ledger:2.4.0\" already present on machine"},
			{"Warning", "BackOff", "Back-off restarting failed container app in pod " + p.Name + "_payments"},
		} {
			_, err := cs.CoreV1().Events("payments").Create(ctx, &corev1.Event{
				ObjectMeta:     metav1.ObjectMeta{Name: fmt.Sprintf("%s.%d%d", p.Name, i, j)},
				InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: "payments", Name: p.Name, UID: p.UID, APIVersion: "v1", FieldPath: "spec.containers{app}"},
				Type:           e.typ, Reason: e.reason, Message: e.msg, Count: 12,
				FirstTimestamp: metav1.NewTime(now.Add(-40 * time.Minute)), LastTimestamp: metav1.NewTime(now.Add(-time.Minute)),
				Source: corev1.EventSource{Component: "kubelet", Host: WorldNode},
			}, metav1.CreateOptions{})
			if err != nil {
				return fmt.Errorf("event: %w", err)
			}
		}
	}
	return nil
}

// worldPodLog is what a pod of deployment key ("ns/name") printed.
func worldPodLog(key string, now time.Time) ContainerLog {
	at := func(minAgo int) time.Time { return now.Add(-time.Duration(minAgo) * time.Minute) }
	switch key {
	case "payments/ledger":
		crash := []LogLine{
			{Time: at(4), Text: "INFO ledger 2.4.0 starting"},
			{Time: at(4), Text: "INFO applying migration 0042_add_settlement_index"},
			{Time: at(3), Text: "ERROR migration 0042 failed: relation \"settlements\" does not exist"},
			{Time: at(3), Text: "FATAL cannot start without a migrated schema; exiting"},
		}
		return ContainerLog{Current: crash, Previous: crash}
	case "shop/web":
		var lines []LogLine
		for i := 30; i > 0; i-- {
			lines = append(lines, LogLine{Time: at(i), Text: fmt.Sprintf("GET /products/%d 200 %dms", 100+i, 8+i%5)})
		}
		return ContainerLog{Current: append(lines, LogLine{Time: at(1), Text: "POST /checkout 502 upstream payments unavailable"})}
	default:
		return ContainerLog{Current: []LogLine{{Time: at(40), Text: "INFO started"}, {Time: at(1), Text: "INFO healthy"}}}
	}
}

func waitUntil(ctx context.Context, timeout time.Duration, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if cond() {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
	return fmt.Errorf("timed out after %s", timeout)
}

// GiteaWorld is the seeded Gitea: the reader's token (read scopes only)
// for mcp-gitea.
type GiteaWorld struct {
	ReaderToken string
}

// worldRepo is platform/infra: Kubernetes manifests, a Helm chart,
// Terraform, a Gitea Actions pipeline and runbooks.
var worldRepo = map[string]string{
	"README.md": "# infra\n\nEverything that runs the shop: Kubernetes manifests (k8s/), the web chart (charts/web),\nTerraform for the cloud side (terraform/) and the deploy pipeline (.gitea/workflows).\n",
	"k8s/shop/web.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: app
          image: registry.local/shop/web:1.8.2
          ports: [{containerPort: 8080}]
`,
	"k8s/payments/ledger.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ledger
  namespace: payments
spec:
  replicas: 1
  selector:
    matchLabels: {app: ledger}
  template:
    metadata:
      labels: {app: ledger}
    spec:
      containers:
        - name: app
          image: registry.local/payments/ledger:2.4.0
`,
	"charts/web/Chart.yaml":  "apiVersion: v2\nname: web\nversion: 0.3.1\nappVersion: 1.8.2\ndescription: The shop's web front end\n",
	"charts/web/values.yaml": "replicaCount: 2\nimage:\n  repository: registry.local/shop/web\n  tag: 1.8.2\nresources:\n  limits: {cpu: 500m, memory: 256Mi}\n",
	"charts/web/templates/deployment.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
spec:
  replicas: {{ .Values.replicaCount }}
  selector:
    matchLabels: {app: {{ .Release.Name }}}
  template:
    metadata:
      labels: {app: {{ .Release.Name }}}
    spec:
      containers:
        - name: app
          image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
`,
	"terraform/main.tf": `terraform {
  required_version = ">= 1.6"
}

variable "region" {
  default = "eu-west-1"
}

resource "aws_s3_bucket" "backups" {
  bucket = "shop-ledger-backups"
}

resource "aws_db_instance" "ledger" {
  identifier        = "ledger"
  engine            = "postgres"
  instance_class    = "db.t3.medium"
  allocated_storage = 50
  publicly_accessible = true
}
`,
	".gitea/workflows/deploy.yaml": `name: deploy
on:
  push:
    branches: [main]
jobs:
  deploy:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: helm lint charts/web
      - run: kubectl apply -f k8s/ --recursive
`,
	"docs/runbooks/ledger-crashloop.md": "# Ledger crash-looping\n\n## Symptoms\n\nledger pods in payments restart; checkout returns 502.\n\n## Check\n\n1. `kubectl logs -n payments deploy/ledger --previous`\n2. Look for a failed migration.\n\n## Fix\n\nRoll back to the previous image, then run the migration by hand.\n",
}

// SeedGiteaWorld creates an admin (for the fixtures) and the mcp-reader
// user with a read-only token, the organisation platform with the
// repository infra (worldRepo pushed with git), a branch with a fix, an
// open pull request and an issue.
func SeedGiteaWorld(ctx context.Context, g *Gitea, workDir string) (*GiteaWorld, error) {
	adminToken, err := g.User(ctx, "sandbox-admin", true, "all")
	if err != nil {
		return nil, err
	}
	readerToken, err := g.User(ctx, "mcp-reader", false, "read:repository,read:issue,read:user,read:organization")
	if err != nil {
		return nil, err
	}
	admin, err := gitea.NewClient(g.URL, gitea.SetToken(adminToken))
	if err != nil {
		return nil, err
	}
	if _, _, err := admin.CreateOrg(gitea.CreateOrgOption{Name: "platform", Visibility: gitea.VisibleTypePublic}); err != nil {
		return nil, fmt.Errorf("create org: %w", err)
	}
	if _, _, err := admin.CreateOrgRepo("platform", gitea.CreateRepoOption{Name: "infra", Description: "Manifests, charts, Terraform and pipelines", DefaultBranch: "main"}); err != nil {
		return nil, fmt.Errorf("create repo: %w", err)
	}
	dir := filepath.Join(workDir, "infra-checkout")
	for path, body := range worldRepo {
		full := filepath.Join(dir, filepath.FromSlash(path))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(full, []byte(body), 0o644); err != nil {
			return nil, err
		}
	}
	remote := strings.Replace(g.URL, "http://", "http://sandbox-admin:"+adminToken+"@", 1) + "/platform/infra.git"
	alice, bob := "Alice Ops <alice@shop.test>", "Bob Dev <bob@shop.test>"
	day := time.Now().Add(-48 * time.Hour).Format(time.RFC3339)
	steps := []struct {
		author string
		args   []string
	}{
		{alice, []string{"init", "-q", "-b", "main"}},
		{alice, []string{"add", "-A"}},
		{alice, []string{"commit", "-q", "-m", "Initial infrastructure: manifests, web chart, Terraform, deploy pipeline"}},
		{alice, []string{"push", "-q", remote, "main"}},
		{bob, []string{"checkout", "-q", "-b", "fix/ledger-migration"}},
	}
	for _, s := range steps {
		if _, err := Git(ctx, dir, s.author, day, s.args...); err != nil {
			return nil, err
		}
	}
	ledger := filepath.Join(dir, "k8s", "payments", "ledger.yaml")
	body := strings.Replace(worldRepo["k8s/payments/ledger.yaml"], "ledger:2.4.0", "ledger:2.3.9", 1)
	if err := os.WriteFile(ledger, []byte(body), 0o644); err != nil {
		return nil, err
	}
	for _, args := range [][]string{
		{"commit", "-q", "-am", "payments: roll ledger back to 2.3.9 until migration 0042 is fixed"},
		{"push", "-q", remote, "fix/ledger-migration"},
	} {
		if _, err := Git(ctx, dir, bob, time.Now().Add(-time.Hour).Format(time.RFC3339), args...); err != nil {
			return nil, err
		}
	}
	if err := waitUntil(ctx, 60*time.Second, func() bool {
		r, _, err := admin.GetRepo("platform", "infra")
		if err != nil || r.Empty {
			return false
		}
		bs, _, err := admin.ListRepoBranches("platform", "infra", gitea.ListRepoBranchesOptions{})
		return err == nil && len(bs) >= 2
	}); err != nil {
		return nil, fmt.Errorf("platform/infra: Gitea did not show the push: %w", err)
	}
	if _, _, err := admin.CreatePullRequest("platform", "infra", gitea.CreatePullRequestOption{Head: "fix/ledger-migration", Base: "main",
		Title: "Roll ledger back to 2.3.9", Body: "ledger 2.4.0 crash-loops on migration 0042; roll back until it is fixed."}); err != nil {
		return nil, fmt.Errorf("pull request: %w", err)
	}
	if _, _, err := admin.CreateIssue("platform", "infra", gitea.CreateIssueOption{Title: "Checkout returns 502",
		Body: "Since the ledger 2.4.0 deploy, POST /checkout returns 502 about one time in three."}); err != nil {
		return nil, fmt.Errorf("issue: %w", err)
	}
	return &GiteaWorld{ReaderToken: readerToken}, nil
}

// worldStack is the shop stack: a web service that logs requests, a
// worker, and payments, which exits at start and keeps being restarted.
// Host networking (overlay DNS does not work here), short stop grace
// (busybox as PID 1 ignores SIGTERM).
const worldStack = `version: "3.8"
services:
  web:
    image: local/busybox:latest
    command: ["sh", "-c", "i=0; while true; do i=$$((i+1)); echo \"GET /products/$$i 200\"; sleep 5; done"]
    stop_grace_period: 1s
    deploy:
      replicas: 2
    networks: [hostnet]
  worker:
    image: local/busybox:latest
    command: ["sleep", "86400"]
    stop_grace_period: 1s
    networks: [hostnet]
  payments:
    image: local/busybox:latest
    command: ["sh", "-c", "echo 'payments: connecting to ledger'; echo 'FATAL ledger unreachable' >&2; exit 1"]
    stop_grace_period: 1s
    deploy:
      restart_policy: {condition: on-failure, delay: 10s}
    networks: [hostnet]
networks:
  hostnet:
    external: true
    name: host
`

// SeedSwarmWorld deploys the shop stack (worldStack).
func SeedSwarmWorld(ctx context.Context, s *Swarm, workDir string) error {
	file := filepath.Join(workDir, "shop-stack.yml")
	if err := os.WriteFile(file, []byte(worldStack), 0o644); err != nil {
		return err
	}
	_, err := s.CLI(ctx, "stack", "deploy", "--resolve-image", "never", "-c", file, "shop")
	return err
}

// SeedLokiWorld pushes the last hour of the shop's logs: web requests,
// the ledger's crash loop and the checkout errors it causes.
func SeedLokiWorld(ctx context.Context, l *Loki) error {
	now := time.Now()
	web := Stream{Labels: map[string]string{"namespace": "shop", "app": "web", "env": "prod"}}
	ledger := Stream{Labels: map[string]string{"namespace": "payments", "app": "ledger", "env": "prod"}}
	for i := 60; i > 0; i-- {
		at := now.Add(-time.Duration(i) * time.Minute)
		web.Lines = append(web.Lines, Line{Time: at, Text: fmt.Sprintf(`level=info msg="request" method=GET path=/products/%d status=200 duration_ms=%d`, i, 5+i%7)})
		if i%3 == 0 {
			web.Lines = append(web.Lines, Line{Time: at.Add(time.Second), Text: `level=error msg="request" method=POST path=/checkout status=502 err="payments unavailable"`})
		}
		if i%5 == 0 {
			ledger.Lines = append(ledger.Lines,
				Line{Time: at, Text: `level=info msg="ledger 2.4.0 starting"`},
				Line{Time: at.Add(time.Second), Text: `level=error msg="migration 0042 failed" err="relation \"settlements\" does not exist"`},
				Line{Time: at.Add(2 * time.Second), Text: `level=fatal msg="cannot start without a migrated schema"`})
		}
	}
	return l.Push(ctx, []Stream{web, ledger})
}

// WriteLogFiles writes plain log files under dir for mcp-logs' file
// tools: an nginx access log, an application log and its rotated copy.
func WriteLogFiles(dir string) error {
	now := time.Now()
	var access, app, rotated strings.Builder
	for i := 120; i > 0; i-- {
		at := now.Add(-time.Duration(i) * time.Minute)
		status := 200
		if i%4 == 0 {
			status = 502
		}
		fmt.Fprintf(&access, "127.0.0.1 - - [%s] \"GET /checkout HTTP/1.1\" %d 512 \"-\" \"curl/8.5\"\n", at.Format("02/Jan/2006:15:04:05 -0700"), status)
		fmt.Fprintf(&app, "%s INFO cart: %d items reserved\n", at.Format(time.RFC3339), i%9)
		fmt.Fprintf(&rotated, "%s INFO cart: started\n", at.Add(-24*time.Hour).Format(time.RFC3339))
	}
	files := map[string]string{"nginx/access.log": access.String(), "shop/cart.log": app.String(), "shop/cart.log.1": rotated.String()}
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func mustQty(s string) resource.Quantity { return resource.MustParse(s) }
