package index

import (
	"context"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	"github.com/opsmcp/opsmcp/mcp-docs/internal/chunk"
	"github.com/opsmcp/opsmcp/mcp-docs/internal/parse"
	"github.com/opsmcp/opsmcp/mcp-docs/internal/source"
	"github.com/opsmcp/opsmcp/shared/mask"
)

// FuzzChunksNeverHoldKey: a private key planted at a line start of any
// document, of any kind, is in no chunk's text or heading, however the
// document around it is shaped and however small the chunks are.
func FuzzChunksNeverHoldKey(f *testing.F) {
	f.Add(uint8(0), []byte("# Runbook\n\n## Key\n\nText.\n\n## After\n\nMore.\n"), uint16(20))
	f.Add(uint8(1), []byte("= ADR\n\n== Key\n\n----\nlisting\n----\n"), uint16(0))
	f.Add(uint8(2), []byte("apiVersion: v1\nkind: Secret\nmetadata:\n  name: tls\nstringData:\n  tls.key: |\n    x\n---\nkind: ConfigMap\n"), uint16(60))
	f.Add(uint8(3), []byte("name: ci\njobs:\n  deploy:\n    env:\n      KEY: |\n        x\n"), uint16(30))
	f.Add(uint8(4), []byte("resource \"tls\" \"k\" {\n  pem = <<EOT\nx\nEOT\n}\n"), uint16(40))
	f.Add(uint8(5), []byte("replicas: 2\ntls:\n  key: |\n    x\n"), uint16(12))
	key := string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: []byte(strings.Repeat("planted-fuzz-key-", 120))}))
	var body []string
	for _, l := range strings.Split(key, "\n") {
		if l != "" && !strings.HasPrefix(l, "-----") {
			body = append(body, l)
		}
	}
	kinds := []struct{ kind, name string }{{parse.Markdown, "r.md"}, {parse.AsciiDoc, "a.adoc"}, {parse.Manifest, "k.yaml"},
		{parse.Pipeline, ".gitea/workflows/ci.yml"}, {parse.Terraform, "main.tf"}, {parse.Helm, "charts/x/values.yaml"}, {parse.Text, "n.txt"}}
	ix := &Indexer{Masker: mask.New([]byte("fuzz-key")), Chunk: chunk.Options{MinTokens: 20, MaxTokens: 60, OverlapTokens: 15},
		Parser: &parse.InProcess{Limits: parse.Limits{Timeout: 10 * time.Second}}}
	f.Fuzz(func(t *testing.T, which uint8, doc []byte, at uint16) {
		k := kinds[int(which)%len(kinds)]
		// Planted at a line start, indented like the line it displaces.
		lines := strings.SplitAfter(string(doc), "\n")
		n := int(at) % (len(lines) + 1)
		indent := ""
		if n < len(lines) {
			indent = lines[n][:len(lines[n])-len(strings.TrimLeft(lines[n], " "))]
		}
		planted := indent + strings.ReplaceAll(strings.TrimSpace(key), "\n", "\n"+indent) + "\n"
		text := strings.Join(lines[:n], "") + planted + strings.Join(lines[n:], "")
		if n > 0 && !strings.HasSuffix(strings.Join(lines[:n], ""), "\n") {
			text = strings.Join(lines[:n], "") + "\n" + planted + strings.Join(lines[n:], "")
		}
		chunks, err := ix.chunks(context.Background(), "fuzz", k.kind, source.File{Path: k.name, Data: []byte(text)})
		if err != nil {
			if parse.IsLimit(err) {
				t.Fatalf("%s: past a bound: %v", k.kind, err)
			}
			return
		}
		for _, c := range chunks {
			all := c.Text + "\n" + strings.Join(c.Heading, "\n")
			for _, l := range body {
				if strings.Contains(all, l) {
					t.Fatalf("%s chunk %d holds a line of the key: %q", k.kind, c.Ordinal, l)
				}
			}
		}
	})
}
