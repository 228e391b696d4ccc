package kubernetes_test

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/opsmcp/opsmcp/e2e/harness"
)

// TestRedteam6PeakRSSUnderTheLimit: under GOMEMLIMIT=256MiB (a 256 MiB
// container), no call the memory for answers lets through, alone or
// beside the team's 8 in flight, may take mcp-kubernetes' resident set
// past 256 MiB. Each case runs on a fresh server, so its VmHWM is its own.
func TestRedteam6PeakRSSUnderTheLimit(t *testing.T) {
	rt6Seed(t, 24) // 24 x 1 MB: 183 of the 192 MiB at 8 bytes a byte
	t.Setenv("GOMEMLIMIT", "256MiB")
	ns := " -n " + rt6NS
	cols := make([]string, 200)
	for i := range cols {
		cols[i] = fmt.Sprintf("C%d:.data.v", i)
	}
	for _, c := range []struct {
		name    string
		tool    string
		args    map[string]any
		par     int
		limited bool
	}{
		// One 1 MB ConfigMap (8 MiB held): each column is a copy of it,
		// all buffered in kubectl's tabwriter before the first write.
		{name: "custom-columns 200 copies of 1 MB", tool: "k8s_kubectl", par: 1,
			args: map[string]any{"command": "get configmaps" + ns + " --field-selector metadata.name=cm-00 -o custom-columns=" + strings.Join(cols, ",")}},
		// 3 MB (24 MiB held): kubectl's JSONPath finds every result of
		// every node before it prints one; repeated nodes are not unions.
		{name: "8 x jsonpath 200 copies of 3 MB", tool: "k8s_kubectl", par: 8,
			args: map[string]any{"command": "get configmaps" + ns + " -l g=0 -o jsonpath=" + strings.Repeat("{.items[*].data.v}", 200)}},
		{name: "jsonpath {.items} of 24 MB", tool: "k8s_kubectl", par: 1,
			args: map[string]any{"command": "get configmaps" + ns + " -o jsonpath={.items}"}},
		{name: "go-template {{.items}} of 24 MB", tool: "k8s_kubectl", par: 1,
			args: map[string]any{"command": "get configmaps" + ns + " -o go-template={{.items}}"}},
		{name: "-o json of 24 MB", tool: "k8s_kubectl", par: 1,
			args: map[string]any{"command": "get configmaps" + ns + " -o json"}},
		// The Guard's merge of one list per namespace (json.Marshal of the
		// merged maps) is not held.
		{name: "-A of 24 MB for a caller limited to 2 namespaces", tool: "k8s_kubectl", par: 1, limited: true,
			args: map[string]any{"command": "get configmaps -A -o name"}},
		{name: "8 x jsonpath {.items} of 3 MB", tool: "k8s_kubectl", par: 8,
			args: map[string]any{"command": "get configmaps" + ns + " -l g=0 -o jsonpath={.items}"}},
		// The typed tool's objects are rendered and masked again by the
		// binder after the call's Hold is released.
		{name: "k8s_get yaml of 24 MB", tool: "k8s_get", par: 1,
			args: map[string]any{"resource": "configmaps", "namespace": rt6NS, "output": "yaml", "limit": 500}},
		{name: "-o yaml of 24 MB", tool: "k8s_kubectl", par: 1,
			args: map[string]any{"command": "get configmaps" + ns + " -o yaml"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv, token := startHTTP(t), sreToken
			if c.limited {
				srv, token = rt6Limited(t), "rt6-limited-token"
			}
			pid := srv.proc.Cmd.Process.Pid
			var wg sync.WaitGroup
			var mu sync.Mutex
			answered := 0
			for range c.par {
				wg.Add(1)
				go func() {
					defer wg.Done()
					r := call(t, rt6Session(t, srv, token), c.tool, c.args)
					mu.Lock()
					defer mu.Unlock()
					if !r.IsError {
						answered++
					}
				}()
			}
			wg.Wait()
			peak := int(harness.PeakRSS(strconv.Itoa(pid)) >> 20)
			// Answered or refused (narrow, busy): either way under the limit.
			t.Logf("%s: %d of %d answered, peak RSS %d MiB", c.name, answered, c.par, peak)
			assert.Less(t, peak, 256, "peak RSS in MiB, over the container's 256")
		})
	}
}

// TestRedteam6ConcurrentLargeCallsOneAnswered: 8 calls at once of a list
// that alone fits the memory for answers: each takes part of it as it
// reads, and they refuse one another as busy, so none is answered though
// any one of them would be (and 8 clients retrying together meet again).
func TestRedteam6ConcurrentLargeCallsOneAnswered(t *testing.T) {
	rt6Seed(t, 24)
	t.Setenv("GOMEMLIMIT", "256MiB")
	srv := startHTTP(t)
	var wg sync.WaitGroup
	var mu sync.Mutex
	answered := 0
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// 12 MB: 96 of the 128 MiB for answers at 8 bytes a byte, so
			// one fits and two do not.
			r := call(t, rt6Session(t, srv, sreToken), "k8s_kubectl", map[string]any{"command": "get configmaps -n " + rt6NS + " -l 'g in (0,1,2,3)' -o name"})
			mu.Lock()
			defer mu.Unlock()
			if !r.IsError {
				answered++
				assert.Equal(t, 12, strings.Count(r.Text, "configmap/"), "the 12 selected: %.300s", r.Text)
			} else {
				assert.Contains(t, r.Text, "retry in a moment", "refused as busy, not as too large")
			}
		}()
	}
	wg.Wait()
	assert.Positive(t, answered, "of 8 calls that each fit alone, at least one is answered")
}
