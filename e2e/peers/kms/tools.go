//go:build tools

// Package kms only pins containers/kubernetes-mcp-server's main package
// for e2e/peers/build.sh.
package kms

import _ "github.com/containers/kubernetes-mcp-server/cmd/kubernetes-mcp-server"
