package telemetry

import (
	"fmt"
	"testing"
	"time"

	"github.com/ollama/ollama/api"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsmcp/opsmcp/orchestrator/internal/gateway"
)

// TestLabelsStayBounded: however many distinct tool, model or endpoint
// names a caller passes, the series stop growing at the bound.
func TestLabelsStayBounded(t *testing.T) {
	m := New()
	count := func() int {
		mfs, err := m.Registry.Gather()
		require.NoError(t, err)
		n := 0
		for _, mf := range mfs {
			n += len(mf.Metric)
		}
		return n
	}
	feed := func(from, to int) {
		for i := from; i < to; i++ {
			v := fmt.Sprintf("name-%d", i)
			m.Tool(v, time.Millisecond, i%2 == 0)
			m.ModelTurn(v, v, time.Millisecond, api.ChatResponse{}, true)
			m.QueueWait(v, v, time.Millisecond)
			m.ModelEvent(gateway.ModelEvent{Endpoint: v, Model: v, Event: gateway.EventLoad})
			m.Warmup(v, v, "loaded")
			m.Failover(v)
			m.FirstToken(v, time.Millisecond)
		}
	}
	feed(0, maxLabelValues+10)
	at := count()
	feed(maxLabelValues+10, 3*maxLabelValues)
	assert.Equal(t, at, count(), "new names beyond the bound add no series")
	assert.Equal(t, "other", m.tools.of("yet-another"))
	assert.Equal(t, "name-1", m.tools.of("name-1"), "known names keep their label")
}
