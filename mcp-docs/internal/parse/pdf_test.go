package parse

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The PDF in testdata was written by MinimalPDF (run with
// OPSMCP_WRITE_TESTDATA=1): two pages of Helvetica text.
func TestPDFPages(t *testing.T) {
	path := filepath.Join("testdata", "runbook.pdf")
	if os.Getenv("OPSMCP_WRITE_TESTDATA") != "" {
		require.NoError(t, os.WriteFile(path, MinimalPDF([][]string{
			{"Ollama failover", "When GCP-A stops answering, route to GCP-B.", "Check the tags endpoint first."},
			{"Rollback", "Set OLLAMA_URL back to the bridge on host 110."},
		}), 0o644))
		// The operations manual of the mcp-docs corpus.
		require.NoError(t, os.WriteFile(filepath.Join("..", "..", "testdata", "corpus", "manuals", "gpu-operations.pdf"), MinimalPDF([][]string{
			{"GPU host maintenance", "Host 111 carries two RTX 4090 cards for the 32B models.", "Drain its lane in the gateway before any driver update.", "Schedule maintenance windows on Tuesday evenings."},
			{"Driver updates", "Install the NVIDIA driver from the vendor repository, then reboot.", "After reboot run nvidia-smi and confirm both cards and CUDA 12.", "If a card is missing, reseat it and check the PCIe power cables."},
			{"Model residency", "Keep qwen2.5-coder:32b and deepseek-r1:32b loaded on host 111 only.", "OLLAMA_KEEP_ALIVE is 24h so the models stay in VRAM overnight.", "gemma3:4b runs on GCP-A and GCP-B for the alert-fast lane."},
		}), 0o644))
	}
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	s, err := Parse(PDF, "runbook.pdf", data)
	require.NoError(t, err)
	require.Len(t, s, 2)
	assert.Equal(t, 1, s[0].Page)
	assert.Equal(t, []string{"Ollama failover"}, s[0].Heading)
	assert.Contains(t, s[0].Text, "route to GCP-B")
	assert.Equal(t, 2, s[1].Page)
	assert.Equal(t, []string{"Rollback"}, s[1].Heading)
	assert.Contains(t, s[1].Text, "bridge on host 110")
}

// MinimalPDF writes a PDF with one page per entry, each line a text line
// in Helvetica: enough structure (catalog, pages, fonts, content streams,
// a correct xref table) for any reader. Tests and the e2e fixture use it.
func MinimalPDF(pages [][]string) []byte {
	var objs []string
	n := len(pages)
	// 1 catalog, 2 pages, 3 font, then per page: page object, content.
	kids := ""
	for i := 0; i < n; i++ {
		kids += fmt.Sprintf("%d 0 R ", 4+2*i)
	}
	objs = append(objs, "<< /Type /Catalog /Pages 2 0 R >>",
		fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", kids, n),
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
	for i, lines := range pages {
		var content bytes.Buffer
		content.WriteString("BT /F1 12 Tf 72 720 Td 16 TL\n")
		for _, l := range lines {
			fmt.Fprintf(&content, "(%s) Tj T*\n", l)
		}
		content.WriteString("ET")
		objs = append(objs,
			fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>", 5+2*i),
			fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", content.Len(), content.String()))
	}
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n")
	offsets := make([]int, len(objs))
	for i, o := range objs {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, xref)
	return b.Bytes()
}
