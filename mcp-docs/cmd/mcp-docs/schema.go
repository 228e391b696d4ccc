package main

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/opsmcp/opsmcp/mcp-docs/internal/tools"
	"github.com/opsmcp/opsmcp/shared/audit"
	"github.com/opsmcp/opsmcp/shared/auth"
	"github.com/opsmcp/opsmcp/shared/mask"
	"github.com/opsmcp/opsmcp/shared/metrics"
	"github.com/opsmcp/opsmcp/shared/policy"
	"github.com/opsmcp/opsmcp/shared/serve"
	"github.com/opsmcp/opsmcp/shared/tool"
)

// toolsSchema renders the tools/list a client sees at the default
// --max-output-bytes, as mcp-docs/internal/tools/testdata/tools.golden.json
// holds it: --version prints its sha256, so two builds with the same
// version line serve the same tool names and schemas (README: Upgrade
// policy).
func toolsSchema() ([]byte, error) {
	b := &tool.Binder{Server: "mcp-docs", Tools: (&tools.Server{}).Tools(), Masker: mask.New(nil), Audit: audit.New(io.Discard),
		Metrics: metrics.New("mcp-docs"), Policy: policy.OpenPolicy(), MaxBytes: serve.DefaultMaxOutputBytes}
	srv := mcp.NewServer(&mcp.Implementation{Name: "mcp-docs"}, nil)
	b.Bind(srv, auth.Principal{User: "version"}, "version")
	ct, st := mcp.NewInMemoryTransports()
	ctx := context.Background()
	if _, err := srv.Connect(ctx, st, nil); err != nil {
		return nil, fmt.Errorf("tools schema: %w", err)
	}
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "version"}, nil).Connect(ctx, ct, nil)
	if err != nil {
		return nil, fmt.Errorf("tools schema: %w", err)
	}
	defer cs.Close()
	var listed []*mcp.Tool
	for tl, err := range cs.Tools(ctx, nil) {
		if err != nil {
			return nil, fmt.Errorf("tools schema: %w", err)
		}
		listed = append(listed, tl)
	}
	out, err := json.MarshalIndent(listed, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("tools schema: %w", err)
	}
	return append(out, '\n'), nil
}

// fullVersion is the build's version with its tools schema as semver
// build metadata, "0.1.0+tools.a3dfe5ae5251": what --version prints and
// what the server sends as serverInfo.version at initialize, so a client
// sees a changed schema in the version alone.
func fullVersion() string {
	schema, err := toolsSchema()
	if err != nil {
		return version + "+tools.unknown"
	}
	return version + "+tools." + schemaID(schema)
}

// schemaID names a tools schema by its content: the first 12 hex digits
// of its sha256 (`sha256sum tools.golden.json` starts with them).
func schemaID(schema []byte) string {
	sum := sha256.Sum256(schema)
	return fmt.Sprintf("%x", sum[:6])
}
