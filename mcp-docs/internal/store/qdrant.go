package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
)

// Qdrant is the store for scale, over Qdrant's REST API: one collection
// (versioned: <name>_v1 behind the alias <name>) with a named dense
// vector "dense" (cosine) and a named sparse vector "bm25" whose IDF
// Qdrant computes (modifier idf; the term-frequency part is computed
// here), payload indexes on the filtered fields, and file and source
// records as payload-only points beside the chunks.
type Qdrant struct {
	base       string
	collection string // the alias
	dim        int
	key        string
	hc         *http.Client
}

// qdrantSchema is the collection layout's version: a change makes a new
// collection (<name>_v2) to re-index into, and the alias moves.
const qdrantSchema = 1

// OpenQdrant connects to Qdrant at base (http://host:6333) and makes the
// collection if it does not exist. dim is the embedding model's size.
func OpenQdrant(ctx context.Context, base, name, apiKey string, dim int) (*Qdrant, error) {
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("qdrant url %q: want http://host:6333", base)
	}
	if dim <= 0 {
		return nil, errors.New("qdrant needs the embedding size (--qdrant-dim, 768 for nomic-embed-text)")
	}
	q := &Qdrant{base: strings.TrimRight(base, "/"), collection: name, dim: dim, key: apiKey, hc: &http.Client{Timeout: 60 * time.Second}}
	real := fmt.Sprintf("%s_v%d", name, qdrantSchema)
	if err := q.do(ctx, "GET", "/collections/"+real, nil, nil); err == nil {
		return q, nil
	} else if !isNotFound(err) {
		return nil, fmt.Errorf("qdrant: %w", err)
	}
	create := map[string]any{
		"vectors":        map[string]any{"dense": map[string]any{"size": dim, "distance": "Cosine"}},
		"sparse_vectors": map[string]any{"bm25": map[string]any{"modifier": "idf"}},
	}
	if err := q.do(ctx, "PUT", "/collections/"+real, create, nil); err != nil {
		return nil, fmt.Errorf("qdrant: create collection %s: %w", real, err)
	}
	for field, schema := range map[string]string{"type": "keyword", "source": "keyword", "path": "keyword", "kind": "keyword",
		"version_keys": "keyword", "hash": "keyword", "cid": "keyword", "embedded_model": "keyword", "ordinal": "integer"} {
		if err := q.do(ctx, "PUT", "/collections/"+real+"/index?wait=true", map[string]any{"field_name": field, "field_schema": schema}, nil); err != nil {
			return nil, fmt.Errorf("qdrant: index %s: %w", field, err)
		}
	}
	alias := map[string]any{"actions": []any{map[string]any{"create_alias": map[string]any{"collection_name": real, "alias_name": name}}}}
	if err := q.do(ctx, "POST", "/collections/aliases", alias, nil); err != nil {
		return nil, fmt.Errorf("qdrant: alias %s: %w", name, err)
	}
	return q, nil
}

type qdrantError struct {
	status int
	body   string
}

func (e *qdrantError) Error() string { return fmt.Sprintf("HTTP %d: %s", e.status, e.body) }

func isNotFound(err error) bool {
	var qe *qdrantError
	return errors.As(err, &qe) && qe.status == http.StatusNotFound
}

// do sends one request; out receives the response's "result".
func (q *Qdrant) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		raw, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, q.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if q.key != "" {
		req.Header.Set("api-key", q.key)
	}
	resp, err := q.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return &qdrantError{resp.StatusCode, strings.TrimSpace(string(raw))}
	}
	if out == nil {
		return nil
	}
	var env struct {
		Result json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(raw, &env); err != nil {
		return fmt.Errorf("decode %s %s: %w", method, path, err)
	}
	return json.Unmarshal(env.Result, out)
}

func (q *Qdrant) points(p string) string { return "/collections/" + q.collection + "/points" + p }

// Filters, in Qdrant's JSON.
func match(key string, v any) map[string]any {
	return map[string]any{"key": key, "match": map[string]any{"value": v}}
}

func must(conds ...map[string]any) map[string]any {
	list := make([]any, len(conds))
	for i, c := range conds {
		list[i] = c
	}
	return map[string]any{"must": list}
}

func (q *Qdrant) filter(f Filter, extra ...map[string]any) map[string]any {
	conds := append([]map[string]any{match("type", "chunk")}, extra...)
	if f.Source != "" {
		conds = append(conds, match("source", f.Source))
	}
	if f.Kind != "" {
		conds = append(conds, match("kind", f.Kind))
	}
	if f.Version != "" {
		conds = append(conds, match("version_keys", f.Version))
	}
	return must(conds...)
}

// versionKeys lets a version filter match the whole version or a commit
// prefix of 3 to 12 characters (Qdrant matches keywords exactly).
func versionKeys(v string) []string {
	keys := []string{v}
	for n := 3; n < len(v) && n <= 12; n++ {
		keys = append(keys, v[:n])
	}
	return keys
}

type qpoint struct {
	ID      uint64         `json:"id"`
	Score   float64        `json:"score"`
	Payload map[string]any `json:"payload"`
}

func chunkPayload(c Chunk) map[string]any {
	return map[string]any{"type": "chunk", "cid": c.ID, "source": c.Source, "path": c.Path, "kind": c.Kind, "version": c.Version,
		"version_keys": versionKeys(c.Version), "heading": c.Heading, "page": c.Page, "ordinal": c.Ordinal, "text": c.Text, "hash": c.Hash}
}

func payloadChunk(p map[string]any) Chunk {
	str := func(k string) string { s, _ := p[k].(string); return s }
	num := func(k string) int { f, _ := p[k].(float64); return int(f) }
	c := Chunk{ID: str("cid"), Source: str("source"), Path: str("path"), Kind: str("kind"), Version: str("version"),
		Page: num("page"), Ordinal: num("ordinal"), Text: str("text"), Hash: str("hash")}
	if hs, ok := p["heading"].([]any); ok {
		for _, h := range hs {
			c.Heading = append(c.Heading, fmt.Sprint(h))
		}
	}
	return c
}

// sparse is a text's BM25 term weights (k1 1.2, b 0.75 against an
// average of 256 terms); Qdrant multiplies in the IDF.
func sparse(text string, query bool) map[string]any {
	terms := strings.FieldsFunc(strings.ToLower(text), func(r rune) bool { return !isWordRune(r) })
	tf := map[uint32]float64{}
	for _, t := range terms {
		h := fnv.New32a()
		h.Write([]byte(crudeStem(t)))
		tf[h.Sum32()]++
	}
	idx := make([]uint32, 0, len(tf))
	for i := range tf {
		idx = append(idx, i)
	}
	sort.Slice(idx, func(a, b int) bool { return idx[a] < idx[b] })
	vals := make([]float64, len(idx))
	for i, k := range idx {
		if query {
			vals[i] = 1
			continue
		}
		const k1, b, avg = 1.2, 0.75, 256.0
		f := tf[k]
		vals[i] = f * (k1 + 1) / (f + k1*(1-b+b*float64(len(terms))/avg))
	}
	return map[string]any{"indices": idx, "values": vals}
}

// crudeStem strips one common English suffix; applied to documents and
// queries alike, "restarting" and "restart" meet (SQLite's FTS5 uses the
// Porter stemmer for the same end).
func crudeStem(w string) string {
	for _, suf := range []string{"ing", "ed", "es", "s", "ly"} {
		if len(w) > len(suf)+2 && strings.HasSuffix(w, suf) {
			return strings.TrimSuffix(w, suf)
		}
	}
	return w
}

func isWordRune(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 127
}

// scroll pages through the points a filter selects.
func (q *Qdrant) scroll(ctx context.Context, filter map[string]any, limit int) ([]qpoint, error) {
	var out []qpoint
	var offset any
	for {
		req := map[string]any{"filter": filter, "limit": min(limit-len(out), 1000), "with_payload": true, "with_vector": false}
		if offset != nil {
			req["offset"] = offset
		}
		var res struct {
			Points []qpoint `json:"points"`
			Next   any      `json:"next_page_offset"`
		}
		if err := q.do(ctx, "POST", q.points("/scroll"), req, &res); err != nil {
			return nil, err
		}
		out = append(out, res.Points...)
		if res.Next == nil || len(out) >= limit {
			return out, nil
		}
		offset = res.Next
	}
}

// Files implements Store.
func (q *Qdrant) Files(ctx context.Context, source string) (map[string]File, error) {
	pts, err := q.scroll(ctx, must(match("type", "file"), match("source", source)), 1<<30)
	if err != nil {
		return nil, fmt.Errorf("list files of %s: %w", source, err)
	}
	out := map[string]File{}
	for _, p := range pts {
		f := File{Source: source}
		f.Path, _ = p.Payload["path"].(string)
		f.Kind, _ = p.Payload["kind"].(string)
		f.Version, _ = p.Payload["version"].(string)
		f.Hash, _ = p.Payload["file_hash"].(string)
		n, _ := p.Payload["chunks"].(float64)
		f.Chunks = int(n)
		f.Indexed = payloadTime(p.Payload["indexed"])
		f.Note, _ = p.Payload["note"].(string)
		out[f.Path] = f
	}
	return out, nil
}

func fileFilter(source, path string) map[string]any {
	return must(match("source", source), match("path", path))
}

// PutFile implements Store.
func (q *Qdrant) PutFile(ctx context.Context, f File, chunks []Chunk) error {
	if err := q.do(ctx, "POST", q.points("/delete?wait=true"), map[string]any{"filter": must(match("type", "chunk"), match("source", f.Source), match("path", f.Path))}, nil); err != nil {
		return fmt.Errorf("replace %s: %w", f.Path, err)
	}
	pts := []any{map[string]any{"id": PointID(f.Source, f.Path, -1), "vector": map[string]any{}, "payload": map[string]any{
		"type": "file", "source": f.Source, "path": f.Path, "kind": f.Kind, "version": f.Version, "version_keys": versionKeys(f.Version),
		"file_hash": f.Hash, "chunks": len(chunks), "indexed": f.Indexed.Format(time.RFC3339Nano), "note": f.Note}}}
	for _, c := range chunks {
		pts = append(pts, map[string]any{"id": PointID(c.Source, c.Path, c.Ordinal), "vector": map[string]any{"bm25": sparse(c.Text+" "+strings.Join(c.Heading, " "), false)},
			"payload": chunkPayload(c)})
	}
	if err := q.do(ctx, "PUT", q.points("?wait=true"), map[string]any{"points": pts}, nil); err != nil {
		return fmt.Errorf("write %s: %w", f.Path, err)
	}
	return nil
}

// DeleteFile implements Store.
func (q *Qdrant) DeleteFile(ctx context.Context, source, path string) error {
	if err := q.do(ctx, "POST", q.points("/delete?wait=true"), map[string]any{"filter": fileFilter(source, path)}, nil); err != nil {
		return fmt.Errorf("delete %s: %w", path, err)
	}
	return nil
}

// SetVersion implements Store.
func (q *Qdrant) SetVersion(ctx context.Context, source, path, version string) error {
	body := map[string]any{"payload": map[string]any{"version": version, "version_keys": versionKeys(version)}, "filter": fileFilter(source, path)}
	if err := q.do(ctx, "POST", q.points("/payload?wait=true"), body, nil); err != nil {
		return fmt.Errorf("set version of %s: %w", path, err)
	}
	return nil
}

// Unembedded implements Store.
func (q *Qdrant) Unembedded(ctx context.Context, model string, limit int) ([]Pending, error) {
	filter := map[string]any{"must": []any{match("type", "chunk")}, "must_not": []any{match("embedded_model", model)}}
	seen := map[string]bool{}
	var out []Pending
	pts, err := q.scroll(ctx, filter, limit*4)
	if err != nil {
		return nil, fmt.Errorf("find chunks to embed: %w", err)
	}
	for _, p := range pts {
		c := payloadChunk(p.Payload)
		if !seen[c.Hash] && len(out) < limit {
			seen[c.Hash] = true
			out = append(out, Pending{Hash: c.Hash, Text: c.Text})
		}
	}
	return out, nil
}

// PutVectors implements Store: every chunk with one of the hashes gets
// the vector, and is marked as embedded by model.
func (q *Qdrant) PutVectors(ctx context.Context, model string, vecs map[string][]float32) error {
	hashes := make([]string, 0, len(vecs))
	for h := range vecs {
		hashes = append(hashes, h)
	}
	for start := 0; start < len(hashes); start += 256 {
		part := hashes[start:min(start+256, len(hashes))]
		filter := must(match("type", "chunk"), map[string]any{"key": "hash", "match": map[string]any{"any": part}})
		pts, err := q.scroll(ctx, filter, 1<<30)
		if err != nil {
			return fmt.Errorf("store vectors: %w", err)
		}
		var upd []any
		for _, p := range pts {
			h, _ := p.Payload["hash"].(string)
			if v, ok := vecs[h]; ok {
				if len(v) != q.dim {
					return fmt.Errorf("store vectors: %d dimensions, the collection has %d (--qdrant-dim)", len(v), q.dim)
				}
				upd = append(upd, map[string]any{"id": p.ID, "vector": map[string]any{"dense": v}})
			}
		}
		if len(upd) == 0 {
			continue
		}
		if err := q.do(ctx, "PUT", q.points("/vectors?wait=true"), map[string]any{"points": upd}, nil); err != nil {
			return fmt.Errorf("store vectors: %w", err)
		}
		if err := q.do(ctx, "POST", q.points("/payload?wait=true"), map[string]any{"payload": map[string]any{"embedded_model": model}, "filter": filter}, nil); err != nil {
			return fmt.Errorf("store vectors: %w", err)
		}
	}
	return nil
}

// PutSource implements Store.
func (q *Qdrant) PutSource(ctx context.Context, s Source) error {
	pt := map[string]any{"id": PointID("\x00source", s.Name, -2), "vector": map[string]any{}, "payload": map[string]any{
		"type": "source", "source": s.Name, "kind": s.Kind, "version": s.Version, "indexed": s.Indexed.Format(time.RFC3339Nano),
		"error": s.Error, "changed": s.Changed, "embedded": s.Embedded, "skipped": append([]string{}, s.Skipped...)}}
	if err := q.do(ctx, "PUT", q.points("?wait=true"), map[string]any{"points": []any{pt}}, nil); err != nil {
		return fmt.Errorf("record source %s: %w", s.Name, err)
	}
	return nil
}

func (q *Qdrant) count(ctx context.Context, filter map[string]any) (int, error) {
	var res struct {
		Count int `json:"count"`
	}
	err := q.do(ctx, "POST", q.points("/count"), map[string]any{"filter": filter, "exact": true}, &res)
	return res.Count, err
}

// Sources implements Store.
func (q *Qdrant) Sources(ctx context.Context) ([]Source, error) {
	pts, err := q.scroll(ctx, must(match("type", "source")), 10000)
	if err != nil {
		return nil, fmt.Errorf("list sources: %w", err)
	}
	var out []Source
	for _, p := range pts {
		var s Source
		s.Name, _ = p.Payload["source"].(string)
		s.Kind, _ = p.Payload["kind"].(string)
		s.Version, _ = p.Payload["version"].(string)
		s.Error, _ = p.Payload["error"].(string)
		s.Indexed = payloadTime(p.Payload["indexed"])
		ch, _ := p.Payload["changed"].(float64)
		em, _ := p.Payload["embedded"].(float64)
		s.Changed, s.Embedded = int(ch), int(em)
		if sk, ok := p.Payload["skipped"].([]any); ok {
			for _, x := range sk {
				if str, ok := x.(string); ok {
					s.Skipped = append(s.Skipped, str)
				}
			}
		}
		if s.Files, err = q.count(ctx, must(match("type", "file"), match("source", s.Name))); err != nil {
			return nil, err
		}
		if s.Chunks, err = q.count(ctx, must(match("type", "chunk"), match("source", s.Name))); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// query runs Qdrant's query API; a path glob filters afterwards (Qdrant
// has no glob match), over a deeper list.
func (q *Qdrant) query(ctx context.Context, using string, vec any, f Filter, k int, extra ...map[string]any) ([]Hit, error) {
	keep, err := f.Matcher()
	if err != nil {
		return nil, err
	}
	limit := k
	if f.Path != "" {
		limit = max(k*20, 200)
	}
	var res struct {
		Points []qpoint `json:"points"`
	}
	body := map[string]any{"query": vec, "using": using, "filter": q.filter(f, extra...), "limit": limit, "with_payload": true}
	if err := q.do(ctx, "POST", q.points("/query"), body, &res); err != nil {
		return nil, err
	}
	var out []Hit
	for _, p := range res.Points {
		c := payloadChunk(p.Payload)
		if keep(c.Source, c.Path, c.Kind, c.Version) && len(out) < k {
			out = append(out, Hit{Chunk: c, Score: p.Score})
		}
	}
	return out, nil
}

// Keyword implements Store.
func (q *Qdrant) Keyword(ctx context.Context, query string, f Filter, k int) ([]Hit, error) {
	terms := Terms(query)
	if len(terms) == 0 {
		return nil, nil
	}
	hits, err := q.query(ctx, "bm25", sparse(strings.Join(terms, " "), true), f, k)
	if err != nil {
		return nil, fmt.Errorf("keyword search: %w", err)
	}
	return hits, nil
}

// Dense implements Store.
func (q *Qdrant) Dense(ctx context.Context, model string, vec []float32, f Filter, k int) ([]Hit, error) {
	if len(vec) != q.dim {
		return nil, fmt.Errorf("query vector has %d dimensions, the collection has %d", len(vec), q.dim)
	}
	hits, err := q.query(ctx, "dense", vec, f, k, match("embedded_model", model))
	if err != nil {
		return nil, fmt.Errorf("dense search: %w", err)
	}
	return hits, nil
}

// Get implements Store.
func (q *Qdrant) Get(ctx context.Context, id string) (Chunk, error) {
	pts, err := q.scroll(ctx, must(match("type", "chunk"), match("cid", id)), 1)
	if err != nil {
		return Chunk{}, err
	}
	if len(pts) == 0 {
		return Chunk{}, fmt.Errorf("chunk %s: %w", id, ErrNotFound)
	}
	return payloadChunk(pts[0].Payload), nil
}

// Chunks implements Store.
func (q *Qdrant) Chunks(ctx context.Context, source, path string, from, to int) ([]Chunk, error) {
	filter := must(match("type", "chunk"), match("source", source), match("path", path),
		map[string]any{"key": "ordinal", "range": map[string]any{"gte": from, "lte": to}})
	pts, err := q.scroll(ctx, filter, 1<<30)
	if err != nil {
		return nil, fmt.Errorf("chunks of %s: %w", path, err)
	}
	out := make([]Chunk, 0, len(pts))
	for _, p := range pts {
		out = append(out, payloadChunk(p.Payload))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Ordinal < out[j].Ordinal })
	return out, nil
}

// payloadTime reads a time stored as RFC 3339 text (JSON numbers would
// lose nanoseconds).
func payloadTime(v any) time.Time {
	s, _ := v.(string)
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}

// MaskKey is the index's own key for masked placeholders, made once and
// kept in a payload-only point (see SQLite.MaskKey).
func (q *Qdrant) MaskKey(ctx context.Context) ([]byte, error) {
	pts, err := q.scroll(ctx, must(match("type", "meta")), 1)
	if err != nil {
		return nil, fmt.Errorf("read mask key: %w", err)
	}
	if len(pts) > 0 {
		if k, _ := pts[0].Payload["mask_key"].(string); k != "" {
			return hex.DecodeString(k)
		}
	}
	key := make([]byte, 32)
	rand.Read(key)
	pt := map[string]any{"id": PointID("\x00meta", "mask_key", -3), "vector": map[string]any{}, "payload": map[string]any{"type": "meta", "mask_key": hex.EncodeToString(key)}}
	if err := q.do(ctx, "PUT", q.points("?wait=true"), map[string]any{"points": []any{pt}}, nil); err != nil {
		return nil, fmt.Errorf("store mask key: %w", err)
	}
	return key, nil
}

// Close implements Store.
func (q *Qdrant) Close() error { return nil }

// Drop deletes the collection behind the alias (tests use it to start
// clean).
func (q *Qdrant) Drop(ctx context.Context) error {
	real := fmt.Sprintf("%s_v%d", q.collection, qdrantSchema)
	return q.do(ctx, "DELETE", "/collections/"+real, nil, nil)
}
