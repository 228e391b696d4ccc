package store_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opsmcp/opsmcp/mcp-docs/internal/store"
)

// benchWords is the vocabulary of the synthetic chunks: ops words, so
// BM25 sees realistic term overlap.
var benchWords = strings.Fields(`pod node deploy rollout restart ollama gpu vram mesh wireguard peer tunnel failover
secondary primary fallback bridge nginx traefik ingress certificate renew expiry database postgres backup restore
wal replica promote drain cordon uncordon kernel reboot flannel cni dns service endpoint probe readiness liveness
memory cpu limit request quota namespace secret configmap volume claim storage openebs helm chart values template
terraform resource module variable firewall instance zone region pipeline job stage build test image registry push
flux kustomization gitrepository reconcile argo application sync prune alert page oncall runbook incident timeout
latency error retry backoff queue slot model embed token context lane qwen deepseek gemma coder reasoning`)

// benchWord is the i-th most frequent word: the ops words first, then
// made-up ones; texts draw words from a Zipf distribution over 50,000 of
// them, as natural text does, so a query word matches a realistic share
// of chunks (a common one many, a rare one few).
func benchWord(i uint64) string {
	if i < uint64(len(benchWords)) {
		return benchWords[i]
	}
	return "w" + strconv.FormatUint(i, 36)
}

// benchStore fills (once, cached in OPSMCP_BENCH_DIR or a temp dir) a
// store with n synthetic chunks of 120 words and dim-dimensional
// vectors, in files of 10 chunks.
func benchStore(b *testing.B, n, dim int) (*store.SQLite, string) {
	dir := os.Getenv("OPSMCP_BENCH_DIR")
	if dir == "" {
		dir = b.TempDir()
	}
	path := filepath.Join(dir, fmt.Sprintf("bench-%d-%d.db", n, dim))
	_, statErr := os.Stat(path)
	st, err := store.OpenSQLite(path)
	if err != nil {
		b.Fatal(err)
	}
	if statErr == nil {
		return st, path
	}
	ctx := context.Background()
	r := rand.New(rand.NewPCG(1, 2))
	zipf := rand.NewZipf(r, 1.1, 2, 50000)
	start := time.Now()
	vecs := map[string][]float32{}
	for f := 0; f < n/10; f++ {
		var chunks []store.Chunk
		p := fmt.Sprintf("docs/%04d/file-%d.md", f%1000, f)
		for i := 0; i < 10; i++ {
			words := make([]string, 120)
			for j := range words {
				words[j] = benchWord(zipf.Uint64())
			}
			words[r.IntN(120)] = "uniq" + strconv.Itoa(f*10+i)
			text := strings.Join(words, " ")
			c := store.Chunk{ID: store.ChunkID("bench", p, i), Source: "bench", Path: p, Kind: "markdown", Version: "v1",
				Heading: []string{"File " + strconv.Itoa(f), "Part " + strconv.Itoa(i)}, Ordinal: i, Text: text, Hash: store.TextHash(text)}
			chunks = append(chunks, c)
			v := make([]float32, dim)
			for j := range v {
				v[j] = r.Float32()*2 - 1
			}
			vecs[c.Hash] = v
		}
		if err := st.PutFile(ctx, store.File{Source: "bench", Path: p, Kind: "markdown", Version: "v1", Hash: p}, chunks); err != nil {
			b.Fatal(err)
		}
		if len(vecs) >= 2000 {
			if err := st.PutVectors(ctx, "bench", vecs); err != nil {
				b.Fatal(err)
			}
			vecs = map[string][]float32{}
		}
	}
	if err := st.PutVectors(ctx, "bench", vecs); err != nil {
		b.Fatal(err)
	}
	if err := st.Compact(ctx, true); err != nil {
		b.Fatal(err)
	}
	b.Logf("built %d chunks in %s (%.0f chunks/s, vectors included, no embedding)", n, time.Since(start).Round(time.Millisecond), float64(n)/time.Since(start).Seconds())
	return st, path
}

func benchSizes() []int {
	if s := os.Getenv("OPSMCP_BENCH_CHUNKS"); s != "" {
		var out []int
		for _, f := range strings.Split(s, ",") {
			n, _ := strconv.Atoi(f)
			out = append(out, n)
		}
		return out
	}
	return []int{10000}
}

func percentiles(d []time.Duration) (p50, p99 time.Duration) {
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return d[len(d)*50/100], d[min(len(d)-1, len(d)*99/100)]
}

// BenchmarkQuery: keyword (FTS5 BM25) and dense (exact, all cores)
// latency at each size in OPSMCP_BENCH_CHUNKS (default 10000), with the
// store's file size and the process heap after loading the vectors.
func BenchmarkQuery(b *testing.B) {
	const dim = 768
	for _, n := range benchSizes() {
		st, path := benchStore(b, n, dim)
		ctx := context.Background()
		r := rand.New(rand.NewPCG(3, 4))
		// Queries: two words of the ops vocabulary (the common end of the
		// distribution: each is in a large share of chunks) and one from
		// the middle (ranks 200 to 20,000), as a question names a thing.
		queries := make([]string, 64)
		for i := range queries {
			queries[i] = benchWords[r.IntN(len(benchWords))] + " " + benchWord(uint64(200+r.IntN(19800))) + " " + benchWords[r.IntN(len(benchWords))]
		}
		qv := make([]float32, dim)
		for i := range qv {
			qv[i] = r.Float32()*2 - 1
		}
		// Load the vectors once, outside the timings.
		if _, err := st.Dense(ctx, "bench", qv, store.Filter{}, 10); err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		fi, _ := os.Stat(path)
		for _, kind := range []string{"keyword", "dense"} {
			b.Run(fmt.Sprintf("%s/%d", kind, n), func(b *testing.B) {
				var lat []time.Duration
				for i := 0; b.Loop(); i++ {
					t0 := time.Now()
					var err error
					if kind == "keyword" {
						_, err = st.Keyword(ctx, queries[i%len(queries)], store.Filter{}, 10)
					} else {
						_, err = st.Dense(ctx, "bench", qv, store.Filter{}, 10)
					}
					if err != nil {
						b.Fatal(err)
					}
					lat = append(lat, time.Since(t0))
				}
				p50, p99 := percentiles(lat)
				b.ReportMetric(float64(p50.Microseconds())/1000, "p50-ms")
				b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
				b.ReportMetric(float64(fi.Size())/(1<<20), "file-MiB")
				b.ReportMetric(float64(ms.HeapAlloc)/(1<<20), "heap-MiB")
			})
		}
		st.Close()
	}
}
