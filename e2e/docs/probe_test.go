package docs_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"testing"

	"github.com/opsmcp/opsmcp/e2e/harness"
)

func TestProbeEmbed(t *testing.T) {
	dir := t.TempDir()
	o, err := harness.StartOllama(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Stop()
	if err := o.CreateTiny(context.Background(), "tiny-embed", false); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(o.URL+"/api/embed", "application/json", bytes.NewBufferString(`{"model":"tiny-embed","input":["hello world","second"]}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	t.Logf("%d %s", resp.StatusCode, string(b)[:min(400, len(b))])
	log, _ := os.ReadFile(o.Proc.Log)
	t.Logf("%s", string(log)[max(0, len(log)-1500):])
}
