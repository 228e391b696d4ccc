// Package toollist renders a server's tools/list the way a client sees it
// (names, titles, descriptions, input and output schemas, annotations), so
// a change to any of them is visible: as a golden file in review
// (toollisttest) and in the version a server reports (Version).
package toollist

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/opsmcp/opsmcp/shared/audit"
	"github.com/opsmcp/opsmcp/shared/auth"
	"github.com/opsmcp/opsmcp/shared/mask"
	"github.com/opsmcp/opsmcp/shared/metrics"
	"github.com/opsmcp/opsmcp/shared/policy"
	"github.com/opsmcp/opsmcp/shared/tool"
)

// Render binds tools as server would serve them with an open policy and
// maxBytes as --max-output-bytes, lists them over an in-memory MCP
// session, and returns the list as indented JSON with a final newline.
// Listing through a real client, not marshalling the table, is the point:
// it is what the binder and the SDK add (schemas inferred, annotations)
// that a client depends on.
func Render(server string, tools []tool.Tool, maxBytes int) ([]byte, error) {
	b := &tool.Binder{Server: server, Tools: tools, Masker: mask.New(nil), Audit: audit.New(io.Discard),
		Metrics: metrics.New(server), Policy: policy.OpenPolicy(), MaxBytes: maxBytes}
	srv := mcp.NewServer(&mcp.Implementation{Name: server}, nil)
	b.Bind(srv, auth.Principal{User: "tools-list"}, "tools-list")
	ct, st := mcp.NewInMemoryTransports()
	ctx := context.Background()
	if _, err := srv.Connect(ctx, st, nil); err != nil {
		return nil, fmt.Errorf("render %s tools/list: %w", server, err)
	}
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "tools-list"}, nil).Connect(ctx, ct, nil)
	if err != nil {
		return nil, fmt.Errorf("render %s tools/list: %w", server, err)
	}
	defer cs.Close()
	var listed []*mcp.Tool
	for tl, err := range cs.Tools(ctx, nil) {
		if err != nil {
			return nil, fmt.Errorf("render %s tools/list: %w", server, err)
		}
		listed = append(listed, tl)
	}
	out, err := json.MarshalIndent(listed, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("render %s tools/list: %w", server, err)
	}
	return append(out, '\n'), nil
}

// ID names a rendered tools/list by its content: the first 12 hex digits
// of its sha256 (`sha256sum testdata/tools.golden.json` starts with them).
func ID(schema []byte) string {
	sum := sha256.Sum256(schema)
	return fmt.Sprintf("%x", sum[:6])
}

// Version is base with the tools schema as semver build metadata,
// "0.1.0+tools.a3dfe5ae5251": what --version prints and what a server
// sends as serverInfo.version, so a client sees a changed schema in the
// version alone.
func Version(base, server string, tools []tool.Tool, maxBytes int) string {
	schema, err := Render(server, tools, maxBytes)
	if err != nil {
		return base + "+tools.unknown"
	}
	return base + "+tools." + ID(schema)
}
