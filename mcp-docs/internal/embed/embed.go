// Package embed turns text into vectors with Ollama's /api/embed, in
// batches, trying the team's Ollama endpoints in order (OLLAMA_URL, then
// OLLAMA_SECONDARY_URL, then OLLAMA_FALLBACK_URL) and retrying a failed
// batch with backoff before it gives up.
package embed

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/ollama/ollama/api"
)

// Embedder makes vectors for texts.
type Embedder interface {
	// Model names the vectors' model (they are stored per model).
	Model() string
	Embed(ctx context.Context, texts []string) ([][]float32, error)
}

// Endpoint is one Ollama server.
type Endpoint struct {
	Name string
	URL  string
}

// EnvEndpoints reads OLLAMA_URL, OLLAMA_SECONDARY_URL and
// OLLAMA_FALLBACK_URL (the gateway's variables), in that order.
func EnvEndpoints() []Endpoint {
	var out []Endpoint
	for _, e := range []struct{ name, env string }{{"primary", "OLLAMA_URL"}, {"secondary", "OLLAMA_SECONDARY_URL"}, {"fallback", "OLLAMA_FALLBACK_URL"}} {
		if u := strings.TrimSpace(os.Getenv(e.env)); u != "" {
			out = append(out, Endpoint{Name: e.name, URL: u})
		}
	}
	return out
}

// Ollama embeds with one model over a list of endpoints.
type Ollama struct {
	model     string
	endpoints []Endpoint
	clients   []*api.Client
	// Batch is the texts per request (default 32); Attempts the rounds
	// over all endpoints per batch (default 3).
	Batch    int
	Attempts int
	// Calls counts the texts sent for embedding (what the index asked,
	// whatever the retries).
	Calls int
}

// NewOllama checks the endpoints' URLs.
func NewOllama(model string, endpoints []Endpoint, timeout time.Duration) (*Ollama, error) {
	if model == "" {
		return nil, errors.New("no embedding model: give --embed-model (e.g. nomic-embed-text)")
	}
	if len(endpoints) == 0 {
		return nil, errors.New("no Ollama endpoint: set OLLAMA_URL (and OLLAMA_SECONDARY_URL, OLLAMA_FALLBACK_URL) or --ollama-url")
	}
	o := &Ollama{model: model, endpoints: endpoints, Batch: 32, Attempts: 3}
	for _, e := range endpoints {
		u, err := url.Parse(e.URL)
		if err != nil || u.Scheme == "" || u.Host == "" {
			return nil, fmt.Errorf("ollama endpoint %s: %q is not a URL like http://host:11434", e.Name, e.URL)
		}
		o.clients = append(o.clients, api.NewClient(u, &http.Client{Timeout: timeout}))
	}
	return o, nil
}

// Model implements Embedder.
func (o *Ollama) Model() string { return o.model }

// Embed implements Embedder.
func (o *Ollama) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, 0, len(texts))
	batch := max(o.Batch, 1)
	for start := 0; start < len(texts); start += batch {
		part := texts[start:min(start+batch, len(texts))]
		vecs, err := o.fitting(ctx, part, 0)
		if err != nil {
			return out, err
		}
		out = append(out, vecs...)
		o.Calls += len(part)
	}
	return out, nil
}

// tooLong is Ollama's answer when a text does not fit the model's context
// even with truncation (the runner's num_ctx can be below what the model
// reports).
func tooLong(err error) bool {
	return err != nil && strings.Contains(err.Error(), "exceeds the context length")
}

// fitting embeds texts; when one is too long for the model, it finds it
// by halving the batch and embeds its first half instead (then quarter…),
// so one oversized chunk cannot block every later run.
func (o *Ollama) fitting(ctx context.Context, texts []string, cuts int) ([][]float32, error) {
	vecs, err := o.batch(ctx, texts)
	if !tooLong(err) {
		return vecs, err
	}
	if len(texts) > 1 {
		mid := len(texts) / 2
		a, err := o.fitting(ctx, texts[:mid], cuts)
		if err != nil {
			return nil, err
		}
		b, err := o.fitting(ctx, texts[mid:], cuts)
		if err != nil {
			return nil, err
		}
		return append(a, b...), nil
	}
	if cuts >= 8 || len(texts[0]) < 64 {
		return nil, err
	}
	half := []rune(texts[0])
	return o.fitting(ctx, []string{string(half[:len(half)/2])}, cuts+1)
}

func (o *Ollama) batch(ctx context.Context, texts []string) ([][]float32, error) {
	truncate := true
	var errs []string
	for attempt := 0; attempt < max(o.Attempts, 1); attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				// What the endpoints said before time ran out is the
				// cause worth telling (refused, cut), not the deadline.
				return nil, fmt.Errorf("embed with %s: %s; then %w", o.model, strings.Join(errs, "; "), ctx.Err())
			case <-time.After(time.Duration(attempt*attempt) * 500 * time.Millisecond):
			}
		}
		for i, c := range o.clients {
			resp, err := c.Embed(ctx, &api.EmbedRequest{Model: o.model, Input: texts, Truncate: &truncate})
			if err == nil && len(resp.Embeddings) != len(texts) {
				err = fmt.Errorf("%d vectors for %d texts", len(resp.Embeddings), len(texts))
			}
			if err == nil {
				return resp.Embeddings, nil
			}
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			errs = append(errs, fmt.Sprintf("%s: %v", o.endpoints[i].Name, err))
			if tooLong(err) {
				return nil, err // the same on every host: the caller shortens
			}
			var se api.StatusError
			if errors.As(err, &se) && se.StatusCode >= 400 && se.StatusCode < 500 && se.StatusCode != http.StatusTooManyRequests {
				// The model is missing or the request is wrong: another
				// round will not help, another host might.
				continue
			}
		}
	}
	return nil, fmt.Errorf("embed with %s: %s", o.model, strings.Join(errs, "; "))
}
