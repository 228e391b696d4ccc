package parse

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsmcp/opsmcp/mcp-docs/internal/parse/pdftest"
)

// The PDF in testdata was written by MinimalPDF (run with
// OPSMCP_WRITE_TESTDATA=1): two pages of Helvetica text.
func TestPDFPages(t *testing.T) {
	path := filepath.Join("testdata", "runbook.pdf")
	if os.Getenv("OPSMCP_WRITE_TESTDATA") != "" {
		require.NoError(t, os.WriteFile(path, pdftest.MinimalPDF([][]string{
			{"Ollama failover", "When GCP-A stops answering, route to GCP-B.", "Check the tags endpoint first."},
			{"Rollback", "Set OLLAMA_URL back to the bridge on host 110."},
		}), 0o644))
		// The operations manual of the mcp-docs corpus.
		require.NoError(t, os.WriteFile(filepath.Join("..", "..", "testdata", "corpus", "manuals", "gpu-operations.pdf"), pdftest.MinimalPDF([][]string{
			{"GPU host maintenance", "Host 111 carries two RTX 4090 cards for the 32B models.", "Drain its lane in the gateway before any driver update.", "Schedule maintenance windows on Tuesday evenings."},
			{"Driver updates", "Install the NVIDIA driver from the vendor repository, then reboot.", "After reboot run nvidia-smi and confirm both cards and CUDA 12.", "If a card is missing, reseat it and check the PCIe power cables."},
			{"Model residency", "Keep qwen2.5-coder:32b and deepseek-r1:32b loaded on host 111 only.", "OLLAMA_KEEP_ALIVE is 24h so the models stay in VRAM overnight.", "gemma3:4b runs on GCP-A and GCP-B for the alert-fast lane."},
		}), 0o644))
	}
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	s, err := Parse(PDF, "runbook.pdf", data)
	require.NoError(t, err)
	s = Finish(PDF, s, func(s string) string { return s })
	require.Len(t, s, 2)
	assert.Equal(t, 1, s[0].Page)
	assert.Equal(t, []string{"Ollama failover"}, s[0].Heading)
	assert.Contains(t, s[0].Text, "route to GCP-B")
	assert.Equal(t, 2, s[1].Page)
	assert.Equal(t, []string{"Rollback"}, s[1].Heading)
	assert.Contains(t, s[1].Text, "bridge on host 110")
}

// Page trees from issue 23 that made the PDF reader loop for ever: a
// Pages node that is its own kid, and a /Count of four trillion with no
// kids (the reader trusted /Count and asked for every page). They are
// written to testdata (OPSMCP_WRITE_TESTDATA=1) for the e2e and as fuzz
// seeds.
var loopingPDFs = map[string][]byte{
	"loop-kids.pdf":  pdftest.RawPDF("<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [2 0 R] /Count 5 >>"),
	"count-huge.pdf": pdftest.RawPDF("<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [] /Count 4000000000000 >>"),
	// A kid's /Parent chain that loops: the reader looks resources up it.
	"loop-parent.pdf": pdftest.RawPDF("<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 3 0 R /Contents 4 0 R >>", "<< /Length 22 >>\nstream\nBT (looping parent) Tj ET\nendstream"),
	// Nested deeper than any real document: a chain of Pages nodes.
	"deep.pdf": deepPDF(200),
}

func deepPDF(depth int) []byte {
	objs := []string{"<< /Type /Catalog /Pages 2 0 R >>"}
	for i := 0; i < depth; i++ {
		objs = append(objs, fmt.Sprintf("<< /Type /Pages /Kids [%d 0 R] /Count 1 >>", i+3))
	}
	objs = append(objs, fmt.Sprintf("<< /Type /Page /Parent %d 0 R >>", depth+1))
	return pdftest.RawPDF(objs...)
}

// TestLoopingPDFs: each bad page tree is an error for its file, named,
// and comes back at once (before the fix, the first two never returned).
func TestLoopingPDFs(t *testing.T) {
	if os.Getenv("OPSMCP_WRITE_TESTDATA") != "" {
		for name, data := range loopingPDFs {
			require.NoError(t, os.WriteFile(filepath.Join("testdata", name), data, 0o644))
		}
	}
	want := map[string]string{"loop-kids.pdf": "page tree loops", "count-huge.pdf": "/Count 4000000000000",
		"loop-parent.pdf": "/Parent chain loops", "deep.pdf": "nested deeper than"}
	for name, data := range loopingPDFs {
		t.Run(name, func(t *testing.T) {
			assert.Len(t, data, len(mustRead(t, filepath.Join("testdata", name))), "testdata is current")
			done := make(chan error, 1)
			go func() {
				_, err := Parse(PDF, name, data)
				done <- err
			}()
			select {
			case err := <-done:
				require.Error(t, err)
				assert.Contains(t, err.Error(), want[name])
			case <-time.After(5 * time.Second):
				t.Fatalf("%s: the parse did not return in 5s", name)
			}
		})
	}
}

// TestPDFPageOrder: pages come in tree order through nested Pages nodes,
// whatever /Count claims.
func TestPDFPageOrder(t *testing.T) {
	page := func(parent, content int) string {
		return fmt.Sprintf("<< /Type /Page /Parent %d 0 R /Resources << >> /Contents %d 0 R >>", parent, content)
	}
	stream := func(s string) string {
		body := "BT (" + s + ") Tj ET"
		return fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(body), body)
	}
	data := pdftest.RawPDF("<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R 4 0 R] /Count 7 >>", // a wrong count
		"<< /Type /Pages /Parent 2 0 R /Kids [5 0 R 6 0 R] /Count 2 >>",
		page(2, 7), page(3, 8), page(3, 9),
		stream("third page"), stream("first page"), stream("second page"))
	s, err := Parse(PDF, "x.pdf", data)
	require.NoError(t, err)
	var texts []string
	var pages []int
	for _, sec := range s {
		texts, pages = append(texts, sec.Text), append(pages, sec.Page)
	}
	assert.Equal(t, []string{"first page", "second page", "third page"}, texts)
	assert.Equal(t, []int{1, 2, 3}, pages)
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	return b
}
