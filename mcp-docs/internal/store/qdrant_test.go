package store_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opsmcp/opsmcp/mcp-docs/internal/store"
	"github.com/opsmcp/opsmcp/mcp-docs/internal/store/storetest"
)

// TestQdrantConformance runs the store suite against a real Qdrant. No
// Qdrant can run on the machines this project's CI uses, so it needs
// QDRANT_URL (and QDRANT_API_KEY if set) pointing at one the caller
// started, e.g. `docker run -p 6333:6333 qdrant/qdrant:v1.15.1` then
// QDRANT_URL=http://127.0.0.1:6333 go test ./internal/store/ -run Qdrant.
// Each subtest uses, and drops, its own collection.
func TestQdrantConformance(t *testing.T) {
	base := os.Getenv("QDRANT_URL")
	if base == "" {
		t.Skip("QDRANT_URL is not set: the Qdrant conformance run needs a Qdrant server (see the README)")
	}
	n := 0
	storetest.Run(t, func(t *testing.T) store.Store {
		n++
		name := fmt.Sprintf("opsmcp_test_%d_%d", time.Now().UnixNano(), n)
		q, err := store.OpenQdrant(context.Background(), base, name, os.Getenv("QDRANT_API_KEY"), 2)
		require.NoError(t, err)
		t.Cleanup(func() { q.Drop(context.Background()) })
		return q
	})
}
