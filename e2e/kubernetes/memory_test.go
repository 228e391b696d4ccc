package kubernetes_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

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
	ctx := context.Background()
	cs, err := kube.Admin()
	require.NoError(t, err)
	const ns = "memory"
	_, err = cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
	if !apierrors.IsAlreadyExists(err) {
		require.NoError(t, err)
	}
	t.Cleanup(func() {
		_ = cs.CoreV1().ConfigMaps(ns).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{})
		_ = cs.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{})
	})
	value := strings.Repeat("abcdefghij", 100_000) // 1 MB, nothing to mask
	for i := range 30 {
		part := "large"
		if i < 8 {
			part = "small"
		}
		_, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("cm-%02d", i), Labels: map[string]string{"part": part}},
			Data: map[string]string{"v": value}}, metav1.CreateOptions{})
		if !apierrors.IsAlreadyExists(err) {
			require.NoError(t, err)
		}
	}

	t.Setenv("GOMEMLIMIT", "256MiB")
	before := harness.PIDsOf(binary)
	s, audit := stdioSession(t)
	pid := ""
	for _, p := range harness.PIDsOf(binary) {
		if !slices.Contains(before, p) {
			pid = p
		}
	}
	require.NotEmpty(t, pid, "the server's process")

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
