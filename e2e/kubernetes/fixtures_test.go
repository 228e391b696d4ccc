package kubernetes_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"

	"github.com/opsmcp/opsmcp/e2e/harness"
)

// planted holds the secret values put into the cluster. None may ever
// appear in anything the server sends or logs.
type planted struct {
	DBPassword  string // Secret data (base64 in the API), structural masking only
	Short       string // a short Secret value no detector could find by shape
	EnvPassword string // literal env value of DB_PASSWORD
	APIToken    string // literal env value of API_TOKEN
	AWSKey      string // in a ConfigMap file
	GitHubToken string // in a ConfigMap file
	URLPassword string // in a DSN in a ConfigMap
	CRPassword  string // in a custom resource's spec
	LastApplied string // only inside a last-applied-configuration annotation
	EventToken  string // in an event message
	LogDSN      string // password in a DSN in a log line
	LogToken    string // bearer token in a log line
	LogAPIKey   string // api_key in a JSON log line
	// LogKey is an RSA private key a program printed into its log, one
	// log line per PEM line; LogKeyBody are its base64 body lines, none
	// of which may come back either.
	LogKey     string
	LogKeyBody []string
}

func (p planted) all() []string {
	out := []string{p.DBPassword, p.Short, p.EnvPassword, p.APIToken, p.AWSKey, p.GitHubToken, p.URLPassword, p.CRPassword, p.LastApplied, p.EventToken, p.LogDSN, p.LogToken, p.LogAPIKey, p.LogKey}
	return append(out, p.LogKeyBody...)
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func randAlnum(n int, alphabet string) string {
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

const (
	upper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
)

func newPlanted() planted {
	key, _, err := harness.RSAKeyPEM()
	if err != nil {
		panic(err)
	}
	var body []string
	for _, l := range strings.Split(strings.TrimSpace(string(key)), "\n") {
		if !strings.HasPrefix(l, "-----") {
			body = append(body, l)
		}
	}
	return planted{
		LogKey:      strings.TrimSpace(string(key)),
		LogKeyBody:  body,
		DBPassword:  "Pl4nted-db-" + randHex(8),
		Short:       "hx" + randHex(3),
		EnvPassword: "env-pw-" + randHex(8),
		APIToken:    "tok" + randHex(12),
		AWSKey:      "AKIA" + randAlnum(16, upper),
		GitHubToken: "ghp_" + randAlnum(36, alnum),
		URLPassword: "dsnpw" + randHex(6),
		CRPassword:  "crpw-" + randHex(8),
		LastApplied: "lastapplied-" + randHex(8),
		EventToken:  "evtok" + randAlnum(30, alnum),
		LogDSN:      "logdsn" + randHex(6),
		LogToken:    "logtok" + randAlnum(30, alnum),
		LogAPIKey:   "logkey" + randHex(10),
	}
}

var (
	widgetGVR = schema.GroupVersionResource{Group: "example.com", Version: "v1", Resource: "widgets"}
	crdGVR    = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
)

// bulkConfigMaps is how many ConfigMaps the "bulk" namespace holds, for
// budget and paging tests.
const bulkConfigMaps = 40

// seed creates the fixtures with the admin identity and binds the reader
// to a get/list/watch ClusterRole.
func seed(ctx context.Context, k *harness.Kube, kubeletPort int, p planted) error {
	cs, err := k.Admin()
	if err != nil {
		return err
	}
	dyn, err := dynamic.NewForConfig(k.RESTConfig(k.AdminToken))
	if err != nil {
		return err
	}
	steps := []func() error{
		func() error { return k.GrantReader(ctx) },
		func() error { return namespaces(ctx, cs, "team-a", "team-b", "bulk") },
		func() error { return seedSecrets(ctx, cs, p) },
		func() error { return seedConfigMaps(ctx, cs, p) },
		func() error { return workloads(ctx, cs, p) },
		func() error { return seedEvents(ctx, cs, p) },
		func() error { return customResources(ctx, dyn, p) },
		func() error { return seedLogPod(ctx, cs, kubeletPort) },
	}
	for i, s := range steps {
		if err := s(); err != nil {
			return fmt.Errorf("seed step %d: %w", i, err)
		}
	}
	return nil
}

func namespaces(ctx context.Context, cs *kubernetes.Clientset, names ...string) error {
	for _, n := range names {
		if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: n}}, metav1.CreateOptions{}); err != nil {
			return err
		}
	}
	return nil
}

func seedSecrets(ctx context.Context, cs *kubernetes.Clientset, p planted) error {
	lastApplied := fmt.Sprintf(`{"apiVersion":"v1","kind":"Secret","metadata":{"name":"db-creds","namespace":"team-a"},"stringData":{"password":"%s"}}`, p.LastApplied)
	_, err := cs.CoreV1().Secrets("team-a").Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "db-creds", Labels: map[string]string{"app": "web"},
			Annotations: map[string]string{"kubectl.kubernetes.io/last-applied-configuration": lastApplied}},
		Data: map[string][]byte{"password": []byte(p.DBPassword), "username": []byte("app"), "pin": []byte(p.Short)},
	}, metav1.CreateOptions{})
	if err != nil {
		return err
	}
	_, err = cs.CoreV1().Secrets("team-b").Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "api-key"},
		StringData: map[string]string{"key": p.Short + "-b"},
	}, metav1.CreateOptions{})
	return err
}

func seedConfigMaps(ctx context.Context, cs *kubernetes.Clientset, p planted) error {
	props := fmt.Sprintf("db.url=postgres://app:%s@db.team-a.svc:5432/app\naws.access_key_id=%s\nlog.level=info\n", p.URLPassword, p.AWSKey)
	_, err := cs.CoreV1().ConfigMaps("team-a").Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "app-config", Labels: map[string]string{"app": "web"}},
		Data: map[string]string{
			"app.properties": props,
			"ci.yaml":        fmt.Sprintf("steps:\n  - run: git clone https://%s@git.example.com/ops/repo.git\n", p.GitHubToken),
			"replicas":       "2",
		},
	}, metav1.CreateOptions{})
	if err != nil {
		return err
	}
	for i := 0; i < bulkConfigMaps; i++ {
		_, err := cs.CoreV1().ConfigMaps("bulk").Create(ctx, &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("cm-%02d", i), Labels: map[string]string{"set": "bulk"}},
			Data:       map[string]string{"note": strings.Repeat(fmt.Sprintf("line %02d of a plain config value\n", i), 8)},
		}, metav1.CreateOptions{})
		if err != nil {
			return err
		}
	}
	return nil
}

func container(image string, env ...corev1.EnvVar) []corev1.Container {
	return []corev1.Container{{Name: "app", Image: image, Env: env}}
}

func workloads(ctx context.Context, cs *kubernetes.Clientset, p planted) error {
	labels := map[string]string{"app": "web"}
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](2),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: container("registry.local/web:1.0",
					corev1.EnvVar{Name: "DB_PASSWORD", Value: p.EnvPassword},
					corev1.EnvVar{Name: "API_TOKEN", Value: p.APIToken},
					corev1.EnvVar{Name: "LOG_LEVEL", Value: "debug"},
				)},
			},
		},
	}
	created, err := cs.AppsV1().Deployments("team-a").Create(ctx, dep, metav1.CreateOptions{})
	if err != nil {
		return err
	}
	// A second revision, so the rollout history has two replica sets.
	if err := waitFor(ctx, func() bool {
		l, _ := cs.AppsV1().ReplicaSets("team-a").List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
		return l != nil && len(l.Items) == 1
	}); err != nil {
		return fmt.Errorf("first replica set: %w", err)
	}
	// The deployment controller writes the object too: retry on conflict.
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		d, err := cs.AppsV1().Deployments("team-a").Get(ctx, created.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		d.Spec.Template.Spec.Containers[0].Image = "registry.local/web:1.1"
		_, err = cs.AppsV1().Deployments("team-a").Update(ctx, d, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		return err
	}
	if err := waitFor(ctx, func() bool {
		l, _ := cs.AppsV1().ReplicaSets("team-a").List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
		return l != nil && len(l.Items) == 2
	}); err != nil {
		return fmt.Errorf("second replica set: %w", err)
	}
	sts := &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: "cache"},
		Spec: appsv1.StatefulSetSpec{
			Replicas:    ptr.To[int32](1),
			ServiceName: "cache",
			Selector:    &metav1.LabelSelector{MatchLabels: map[string]string{"app": "cache"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "cache"}},
				Spec:       corev1.PodSpec{Containers: container("registry.local/cache:7")},
			},
		},
	}
	if _, err := cs.AppsV1().StatefulSets("team-a").Create(ctx, sts, metav1.CreateOptions{}); err != nil {
		return err
	}
	// Tests read controller-made state: wait for it, so they never race it.
	if err := waitFor(ctx, func() bool {
		st, _ := cs.AppsV1().StatefulSets("team-a").Get(ctx, "cache", metav1.GetOptions{})
		pods, _ := cs.CoreV1().Pods("team-a").List(ctx, metav1.ListOptions{LabelSelector: "app in (web,cache)"})
		return st != nil && st.Status.ObservedGeneration >= 1 && pods != nil && len(pods.Items) >= 2
	}); err != nil {
		return fmt.Errorf("controllers did not act on the workloads: %w", err)
	}
	api := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "api"},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](1),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "api"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "api"}},
				Spec:       corev1.PodSpec{Containers: container("registry.local/api:2.3")},
			},
		},
	}
	_, err = cs.AppsV1().Deployments("team-b").Create(ctx, api, metav1.CreateOptions{})
	return err
}

func seedEvents(ctx context.Context, cs *kubernetes.Clientset, p planted) error {
	now := time.Now()
	mk := func(name, typ, reason, msg string, count int32, at time.Time) *corev1.Event {
		return &corev1.Event{
			ObjectMeta:     metav1.ObjectMeta{Name: name},
			InvolvedObject: corev1.ObjectReference{Kind: "Deployment", Namespace: "team-a", Name: "web", APIVersion: "apps/v1"},
			Type:           typ, Reason: reason, Message: msg, Count: count,
			FirstTimestamp: metav1.NewTime(at.Add(-time.Minute)), LastTimestamp: metav1.NewTime(at),
			Source: corev1.EventSource{Component: "e2e"},
		}
	}
	list := []*corev1.Event{
		// Two records of the same warning: folded into one row with count 5.
		mk("web.backoff-1", "Warning", "BackOff", "Back-off pulling image registry.local/web:1.1", 2, now.Add(-3*time.Minute)),
		mk("web.backoff-2", "Warning", "BackOff", "Back-off pulling image registry.local/web:1.1", 3, now.Add(-1*time.Minute)),
		mk("web.probe", "Warning", "Unhealthy", "Readiness probe failed: GET /health returned 401 with Authorization: Bearer "+p.EventToken, 1, now.Add(-2*time.Minute)),
		mk("web.note", "Normal", "Noted", "e2e fixture event", 1, now.Add(-10*time.Minute)),
	}
	for _, e := range list {
		if _, err := cs.CoreV1().Events("team-a").Create(ctx, e, metav1.CreateOptions{}); err != nil {
			return err
		}
	}
	return nil
}

func customResources(ctx context.Context, dyn dynamic.Interface, p planted) error {
	crd := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
		"metadata": map[string]any{"name": "widgets.example.com"},
		"spec": map[string]any{
			"group": "example.com", "scope": "Namespaced",
			"names": map[string]any{"plural": "widgets", "singular": "widget", "kind": "Widget", "shortNames": []any{"wd"}},
			"versions": []any{map[string]any{
				"name": "v1", "served": true, "storage": true,
				"schema": map[string]any{"openAPIV3Schema": map[string]any{
					"type": "object", "x-kubernetes-preserve-unknown-fields": true}},
				"additionalPrinterColumns": []any{map[string]any{"name": "Size", "type": "string", "jsonPath": ".spec.size"}},
			}},
		},
	}}
	if _, err := dyn.Resource(crdGVR).Create(ctx, crd, metav1.CreateOptions{}); err != nil {
		return err
	}
	if err := waitFor(ctx, func() bool {
		_, err := dyn.Resource(widgetGVR).Namespace("team-a").List(ctx, metav1.ListOptions{})
		return err == nil
	}); err != nil {
		return fmt.Errorf("CRD not served: %w", err)
	}
	cr := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "example.com/v1", "kind": "Widget",
		"metadata": map[string]any{"name": "blue", "namespace": "team-a"},
		"spec":     map[string]any{"size": "large", "adminPassword": p.CRPassword},
	}}
	_, err := dyn.Resource(widgetGVR).Namespace("team-a").Create(ctx, cr, metav1.CreateOptions{})
	return err
}

func waitFor(ctx context.Context, cond func() bool) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	return fmt.Errorf("timed out")
}

// logLines returns what the stand-in kubelet serves for team-a/logger:
// lines written over the last 50 minutes, with planted secrets, and a
// previous instance that crashed.
func logLines(p planted, now time.Time) map[string]harness.ContainerLog {
	at := func(minAgo int) time.Time { return now.Add(-time.Duration(minAgo) * time.Minute) }
	app := []harness.LogLine{
		{Time: at(50), Text: "INFO starting payments worker version=2.14.3"},
		{Time: at(48), Text: "INFO connecting to postgres://app:" + p.LogDSN + "@db.team-a.svc:5432/app"},
		{Time: at(45), Text: "DEBUG outgoing request GET /v1/charges Authorization: Bearer " + p.LogToken},
		{Time: at(40), Text: "ERROR charge failed: card_declined order=1001"},
	}
	// A key printed over many lines at once (a debug dump of the config).
	for _, l := range strings.Split(p.LogKey, "\n") {
		app = append(app, harness.LogLine{Time: at(35), Text: l})
	}
	for i := 0; i < 6; i++ {
		app = append(app, harness.LogLine{Time: at(30 - 3*i), Text: fmt.Sprintf("INFO processed batch n=%d size=%d", i, 100+i)})
	}
	app = append(app,
		harness.LogLine{Time: at(8), Text: `{"level":"error","msg":"upstream retry","api_key":"` + p.LogAPIKey + `","attempt":3}`},
		harness.LogLine{Time: at(1), Text: "INFO heartbeat ok"},
	)
	return map[string]harness.ContainerLog{
		"team-a/logger/app": {Current: app, Previous: []harness.LogLine{
			{Time: at(55), Text: "INFO starting payments worker version=2.14.2"},
			{Time: at(51), Text: "FATAL panic: runtime error: out of memory"},
			{Time: at(51), Text: "goroutine 1 [running]:"},
		}},
		"team-a/logger/sidecar": {Current: []harness.LogLine{{Time: at(49), Text: "proxy ready"}}},
	}
}

// seedLogPod registers a node whose kubelet is the stand-in and binds a
// two-container pod to it.
func seedLogPod(ctx context.Context, cs *kubernetes.Clientset, kubeletPort int) error {
	if _, err := cs.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "fake-node"}}, metav1.CreateOptions{}); err != nil {
		return err
	}
	// The controller manager's node controller updates the new node too.
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		node, err := cs.CoreV1().Nodes().Get(ctx, "fake-node", metav1.GetOptions{})
		if err != nil {
			return err
		}
		node.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "127.0.0.1"}}
		node.Status.DaemonEndpoints.KubeletEndpoint.Port = int32(kubeletPort)
		_, err = cs.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		return err
	}
	_, err = cs.CoreV1().Pods("team-a").Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "logger"},
		Spec: corev1.PodSpec{NodeName: "fake-node", Containers: []corev1.Container{
			{Name: "app", Image: "registry.local/worker:2.14.3"},
			{Name: "sidecar", Image: "registry.local/proxy:1.0"},
		}},
	}, metav1.CreateOptions{})
	return err
}
