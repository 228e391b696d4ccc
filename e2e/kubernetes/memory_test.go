package kubernetes_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/opsmcp/opsmcp/e2e/harness"
)

// TestLargeAnswersWithinTheMemoryLimit: mcp-kubernetes in a 256 MiB
// container (GOMEMLIMIT stands for the cgroup's limit here) read a 30 MiB
// list of ConfigMaps with kubectl's code at a peak of 253 MiB RSS, and a
// template that copied it four times at 757 MiB: killed, with every
// caller's call in it. It now gives answers half of its memory, at 8
// bytes a byte (more for a document, or a template that copies them), and refuses
// what is past that with what to do, staying far below the limit; a
// narrower request is answered. The typed tools (k8s_get through
// client-go) are held to the same.
func TestLargeAnswersWithinTheMemoryLimit(t *testing.T) {
	const ns = "memory"
	bigConfigMaps(t, ns, 30, func(i int) map[string]string {
		if i < 8 {
			return map[string]string{"part": "small"}
		}
		return map[string]string{"part": "large"}
	})

	t.Setenv("GOMEMLIMIT", "256MiB")
	var s *mcp.ClientSession
	var audit string
	pid := harness.NewProcessOf(t, binary, func() { s, audit = stdioSession(t) })

	r := call(t, s, "k8s_kubectl", map[string]any{"command": "get configmaps -n memory -o name"})
	assert.True(t, r.IsError)
	assert.Contains(t, r.Text, "take more memory than this server gives all calls' answers (128 MiB; it holds about 8 bytes for each byte of answer")
	assert.Contains(t, r.Text, "narrow the request")

	r = call(t, s, "k8s_kubectl", map[string]any{"command": "get configmaps -n memory -l part=small -o name"})
	require.False(t, r.IsError, r.Text)
	assert.Equal(t, 8, strings.Count(r.Text, "configmap/cm-0"), r.Text)

	r = call(t, s, "k8s_kubectl", map[string]any{"command": "get configmaps -n memory -l part=small -o go-template='{{print . . . .}}'"})
	assert.True(t, r.IsError, "%.300s", r.Text)
	assert.Contains(t, r.Text, "it holds about 32 bytes for each byte of answer")

	// The typed tools read through the same bound (client-go's clients).
	r = call(t, s, "k8s_get", map[string]any{"resource": "configmaps", "namespace": "memory", "output": "name"})
	assert.True(t, r.IsError)
	assert.Contains(t, r.Text, "take more memory than this server gives all calls' answers (128 MiB")
	r = call(t, s, "k8s_get", map[string]any{"resource": "configmaps", "namespace": "memory", "output": "name", "label_selector": "part=small"})
	require.False(t, r.IsError, r.Text)
	assert.Equal(t, 8, strings.Count(r.Text, "cm-0"), r.Text)

	peak := harness.PeakRSS(pid) >> 20
	require.NotZero(t, peak, "the server's peak RSS")
	assert.Less(t, peak, int64(240), "peak RSS in MiB, under the container's 256")
	t.Logf("peak RSS %d MiB", peak)
	assert.FileExists(t, audit)
}

// bigConfigMaps creates n ConfigMaps of 1 MB each (nothing to mask),
// cm-00..., labelled by labels(i) (nil: none), in namespace ns, and
// removes them and ns when the test ends, waiting until ns is gone (a
// terminating namespace refuses the next test's objects).
func bigConfigMaps(t *testing.T, ns string, n int, labels func(i int) map[string]string) {
	t.Helper()
	ctx := context.Background()
	cs, err := kube.Admin()
	require.NoError(t, err)
	_, err = cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
	if !apierrors.IsAlreadyExists(err) {
		require.NoError(t, err)
	}
	t.Cleanup(func() {
		_ = cs.CoreV1().ConfigMaps(ns).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{})
		_ = cs.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{})
		for end := time.Now().Add(60 * time.Second); time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
			if _, err := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); apierrors.IsNotFound(err) {
				return
			}
		}
	})
	value := strings.Repeat("abcdefghij", 100_000)
	for i := range n {
		meta := metav1.ObjectMeta{Name: fmt.Sprintf("cm-%02d", i)}
		if labels != nil {
			meta.Labels = labels(i)
		}
		_, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: meta, Data: map[string]string{"v": value}}, metav1.CreateOptions{})
		if !apierrors.IsAlreadyExists(err) {
			require.NoError(t, err)
		}
	}
}
