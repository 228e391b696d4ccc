package harness

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Ollama is a real Ollama server on loopback with its own model store.
type Ollama struct {
	URL  string
	Proc *Proc
	bin  string
	dir  string
	env  []string
}

// StartOllama builds (once) and starts Ollama in dir.
func StartOllama(ctx context.Context, dir string) (*Ollama, error) {
	bin, err := Upstreams("ollama")
	if err != nil {
		return nil, err
	}
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	work := filepath.Join(dir, "ollama")
	for _, d := range []string{"models", "home"} {
		if err := os.MkdirAll(filepath.Join(work, d), 0o755); err != nil {
			return nil, err
		}
	}
	o := &Ollama{URL: fmt.Sprintf("http://127.0.0.1:%d", port), bin: filepath.Join(bin, "ollama-v0.17.4"), dir: work,
		env: append(os.Environ(), fmt.Sprintf("OLLAMA_HOST=127.0.0.1:%d", port), "OLLAMA_MODELS="+filepath.Join(work, "models"), "HOME="+filepath.Join(work, "home"))}
	cmd := exec.Command(o.bin, "serve")
	cmd.Env = o.env
	logPath := filepath.Join(dir, "ollama.log")
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = f, f
	if o.Proc, err = startCmd("ollama", cmd, f, logPath); err != nil {
		return nil, err
	}
	if err := WaitHTTP(ctx, o.Proc, o.URL+"/api/version", "", http.DefaultClient, 60*time.Second); err != nil {
		o.Proc.Stop()
		return nil, err
	}
	return o, nil
}

// toolTemplate makes Ollama report the "tools" capability: it renders the
// offered tools and past tool calls.
const toolTemplate = `{{- if .Tools }}tools:{{ range .Tools }} {{ .Function.Name }}{{ end }}
{{ end }}{{ range .Messages }}{{ .Role }}: {{ .Content }}{{ range .ToolCalls }} call {{ .Function.Name }}{{ end }}
{{ end }}assistant: `

// CreateTiny writes a tiny random-weight model (TinyGGUF) and creates it
// as name; with tools, its template accepts tools. params are extra
// Modelfile PARAMETER lines ("num_predict 1").
func (o *Ollama) CreateTiny(ctx context.Context, name string, tools bool, params ...string) error {
	gguf := filepath.Join(o.dir, name+".gguf")
	if err := TinyGGUF(gguf, 42); err != nil {
		return err
	}
	tmpl := `{{ range .Messages }}{{ .Role }}: {{ .Content }}
{{ end }}assistant: `
	if tools {
		tmpl = toolTemplate
	}
	modelfile := filepath.Join(o.dir, name+".Modelfile")
	body := fmt.Sprintf("FROM %s\nTEMPLATE \"\"\"%s\"\"\"\nPARAMETER num_ctx 512\n", gguf, tmpl)
	for _, p := range params {
		body += "PARAMETER " + p + "\n"
	}
	if err := os.WriteFile(modelfile, []byte(body), 0o644); err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, o.bin, "create", name, "-f", modelfile)
	cmd.Env = o.env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("ollama create %s: %w: %s", name, err, strings.TrimSpace(out.String()))
	}
	return nil
}

// Stop stops Ollama.
func (o *Ollama) Stop() { o.Proc.Stop() }
