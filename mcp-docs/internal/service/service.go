// Package service wires mcp-docs together from its flags: the store, the
// sources, the embedder, the indexer with its schedule and webhook
// queue, and the searcher the tools use.
package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/pflag"

	"github.com/opsmcp/opsmcp/mcp-docs/internal/chunk"
	"github.com/opsmcp/opsmcp/mcp-docs/internal/embed"
	"github.com/opsmcp/opsmcp/mcp-docs/internal/index"
	"github.com/opsmcp/opsmcp/mcp-docs/internal/parse"
	"github.com/opsmcp/opsmcp/mcp-docs/internal/search"
	"github.com/opsmcp/opsmcp/mcp-docs/internal/source"
	"github.com/opsmcp/opsmcp/mcp-docs/internal/store"
	"github.com/opsmcp/opsmcp/mcp-docs/internal/webhook"
	"github.com/opsmcp/opsmcp/shared/mask"
)

// Options are mcp-docs' own flags, shared by index and serve.
type Options struct {
	Config       string
	DB           string
	CacheDir     string
	EmbedModel   string
	OllamaURLs   []string
	EmbedTimeout time.Duration
	EmbedBatch   int
	Chunk        chunk.Options
	ReindexEvery time.Duration
	WebhookFile  string
	// Store is sqlite (the default: one file) or qdrant.
	Store            string
	QdrantURL        string
	QdrantCollection string
	QdrantKeyFile    string
	QdrantDim        int
	// Bounds of reading and parsing.
	ParseTimeout   time.Duration
	ParseMemoryMiB int64
	MaxFileChunks  int
	MaxSourceBytes int64
	MirrorBudget   int64
}

// AddFlags registers the options.
func AddFlags(fs *pflag.FlagSet, o *Options, serving bool) {
	fs.StringVar(&o.Config, "config", "", "sources file (YAML: sources: [{name, path} or {name, git, ref, token_file}, include, exclude]); none: this repository's README, docs/ and deploy/, when run from it")
	fs.StringVar(&o.DB, "db", "", "the index: one SQLite file (default <cache-dir>/docs.db)")
	fs.StringVar(&o.CacheDir, "cache-dir", "", "where git mirrors and the default index live (default: the user cache dir)/opsmcp-docs")
	fs.StringVar(&o.EmbedModel, "embed-model", "nomic-embed-text", "Ollama embedding model; empty: keyword search only")
	fs.StringArrayVar(&o.OllamaURLs, "ollama-url", nil, "Ollama endpoint for embeddings (repeatable; default OLLAMA_URL, OLLAMA_SECONDARY_URL, OLLAMA_FALLBACK_URL)")
	fs.DurationVar(&o.EmbedTimeout, "embed-timeout", 2*time.Minute, "time limit of one embedding request")
	fs.IntVar(&o.EmbedBatch, "embed-batch", 32, "texts per embedding request")
	fs.IntVar(&o.Chunk.MinTokens, "chunk-min-tokens", chunk.Defaults.MinTokens, "merge shorter neighbouring sections up to this size")
	fs.IntVar(&o.Chunk.MaxTokens, "chunk-max-tokens", chunk.Defaults.MaxTokens, "split longer sections below this size")
	fs.IntVar(&o.Chunk.OverlapTokens, "chunk-overlap-tokens", chunk.Defaults.OverlapTokens, "overlap between the pieces of a split section")
	fs.StringVar(&o.Store, "store", "sqlite", "index store: sqlite (one file, --db) or qdrant (--qdrant-url)")
	fs.StringVar(&o.QdrantURL, "qdrant-url", "", "Qdrant's REST URL, e.g. http://qdrant:6333 (with --store qdrant)")
	fs.StringVar(&o.QdrantCollection, "qdrant-collection", "opsmcp-docs", "Qdrant collection alias (the collection itself is <alias>_v<schema>)")
	fs.StringVar(&o.QdrantKeyFile, "qdrant-api-key-file", "", "file holding Qdrant's API key")
	fs.IntVar(&o.QdrantDim, "qdrant-dim", 768, "embedding size of --embed-model, for the Qdrant collection (768: nomic-embed-text)")
	fs.DurationVar(&o.ParseTimeout, "parse-timeout", parse.DefaultLimits.Timeout, "time limit of one file's parse; a file past it is skipped and reported")
	fs.Int64Var(&o.ParseMemoryMiB, "parse-memory-mib", parse.DefaultLimits.MemoryBytes>>20, "memory bound of the parse worker process, in MiB; a file past it is skipped and reported")
	fs.IntVar(&o.MaxFileChunks, "max-file-chunks", index.DefaultMaxChunks, "most chunks one file may make; a file past it is skipped and reported")
	fs.Int64Var(&o.MaxSourceBytes, "max-source-bytes", source.DefaultMaxSourceBytes, "most bytes of files one source may hold; files past it are skipped and reported")
	fs.Int64Var(&o.MirrorBudget, "mirror-budget-bytes", source.DefaultMirrorBudget, "most bytes the git mirrors may take; past it, mirrors no source uses are removed, least recently used first")
	if serving {
		fs.DurationVar(&o.ReindexEvery, "reindex-every", 15*time.Minute, "re-index every source this often (0: only at start and on webhooks)")
		fs.StringVar(&o.WebhookFile, "webhook-secret-file", "", "secret of the Gitea webhook (POST /webhook/gitea); none: webhook off")
	}
}

// Index is a store with its own masking key.
type Index interface {
	store.Store
	MaskKey(ctx context.Context) ([]byte, error)
}

// Service is a running mcp-docs.
type Service struct {
	Store    Index
	Sources  *source.Config
	Indexer  *index.Indexer
	Searcher *search.Searcher
	Log      *slog.Logger

	queue   chan string
	pending sync.Map // source name -> queued
}

// Open checks the options and opens the store, sources and embedder.
func Open(ctx context.Context, o Options, log *slog.Logger) (*Service, error) {
	var cfg *source.Config
	if o.Config == "" {
		// No sources file: this repository's own docs, so a first
		// docs_search answers (see RepoRoot).
		root, err := RepoRoot()
		if err != nil {
			return nil, err
		}
		if cfg, err = RepoSources(root); err != nil {
			return nil, err
		}
		log.Info("no --config: serving this repository's README, docs/ and deploy/", "root", root)
	} else {
		var err error
		if cfg, err = source.Load(o.Config); err != nil {
			return nil, err
		}
	}
	if o.CacheDir == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			return nil, fmt.Errorf("no --cache-dir and no user cache dir: %w", err)
		}
		o.CacheDir = filepath.Join(base, "opsmcp-docs")
	}
	if err := os.MkdirAll(o.CacheDir, 0o700); err != nil {
		return nil, fmt.Errorf("cache dir: %w", err)
	}
	st, err := openStore(ctx, o)
	if err != nil {
		return nil, err
	}
	key, err := st.MaskKey(ctx)
	if err != nil {
		st.Close()
		return nil, err
	}
	var emb embed.Embedder
	if o.EmbedModel != "" {
		eps := embed.EnvEndpoints()
		if len(o.OllamaURLs) > 0 {
			eps = nil
			for i, u := range o.OllamaURLs {
				eps = append(eps, embed.Endpoint{Name: fmt.Sprintf("ollama-%d", i+1), URL: u})
			}
		}
		if len(eps) == 0 {
			log.Warn("no Ollama endpoint (OLLAMA_URL or --ollama-url): keyword search only", "embed_model", o.EmbedModel)
		} else {
			oe, err := embed.NewOllama(o.EmbedModel, eps, o.EmbedTimeout)
			if err != nil {
				st.Close()
				return nil, err
			}
			oe.Batch = o.EmbedBatch
			emb = oe
		}
	}
	limits := parse.Limits{Timeout: o.ParseTimeout, MemoryBytes: o.ParseMemoryMiB << 20}.WithDefaults()
	s := &Service{
		Store: st, Sources: cfg, Log: log,
		Indexer: &index.Indexer{Store: st, Embedder: emb, Masker: mask.New(key), Chunk: o.Chunk, Log: log,
			Reader: &source.Reader{CacheDir: o.CacheDir, MaxSourceBytes: o.MaxSourceBytes, MirrorBudget: o.MirrorBudget, Keep: cfg.Sources, Log: log},
			Parser: newParser(limits, log), Limits: limits, MaxChunks: o.MaxFileChunks},
		Searcher: &search.Searcher{Store: st, Embedder: emb},
		queue:    make(chan string, len(cfg.Sources)),
	}
	return s, nil
}

// newParser runs parses in a child process of this binary
// (`mcp-docs parse-worker`), where a runaway parse can be killed and its
// memory bounded; without one, in goroutines under the deadline only.
func newParser(l parse.Limits, log *slog.Logger) parse.Parser {
	path, args, err := parse.WorkerCommand("parse-worker", "--memory-bytes", strconv.FormatInt(l.MemoryBytes, 10))
	if err != nil {
		log.Warn("parsing in process: a runaway parse is abandoned at its deadline, not stopped", "err", err)
		return &parse.InProcess{Limits: l}
	}
	// The child gets no environment of ours (no tokens, no keys) and one
	// core: the machine's others are for serving.
	return &parse.Worker{Path: path, Args: args, Env: []string{"GOMAXPROCS=1"}, Limits: l, Log: log}
}

func openStore(ctx context.Context, o Options) (Index, error) {
	switch o.Store {
	case "sqlite", "":
		if o.DB == "" {
			o.DB = filepath.Join(o.CacheDir, "docs.db")
		}
		return store.OpenSQLite(o.DB)
	case "qdrant":
		if o.QdrantURL == "" {
			return nil, errors.New("--store qdrant needs --qdrant-url")
		}
		var key string
		if o.QdrantKeyFile != "" {
			raw, err := os.ReadFile(o.QdrantKeyFile)
			if err != nil {
				return nil, fmt.Errorf("read --qdrant-api-key-file: %w", err)
			}
			key = strings.TrimSpace(string(raw))
		}
		return store.OpenQdrant(ctx, o.QdrantURL, o.QdrantCollection, key, o.QdrantDim)
	default:
		return nil, fmt.Errorf("--store %q: use sqlite or qdrant", o.Store)
	}
}

// Close stops the parse worker and closes the store.
func (s *Service) Close() error {
	if s.Indexer.Parser != nil {
		s.Indexer.Parser.Close()
	}
	return s.Store.Close()
}

// Trigger queues sources for re-indexing; a source already queued is not
// queued twice.
func (s *Service) Trigger(names []string) {
	for _, n := range names {
		if _, loaded := s.pending.LoadOrStore(n, true); !loaded {
			s.queue <- n
		}
	}
}

// Run indexes every source now and then every `every` (0: never again),
// and whatever Trigger queues, until ctx ends.
func (s *Service) Run(ctx context.Context, every time.Duration) {
	all := func() {
		names := make([]string, 0, len(s.Sources.Sources))
		for _, src := range s.Sources.Sources {
			names = append(names, src.Name)
		}
		s.Trigger(names)
	}
	all()
	var tick <-chan time.Time
	if every > 0 {
		t := time.NewTicker(every)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick:
			all()
		case name := <-s.queue:
			s.pending.Delete(name)
			src, ok := s.Sources.Find(name)
			if !ok {
				continue
			}
			rep, err := s.Indexer.Index(ctx, src)
			if err != nil {
				s.Log.Error("index failed", "source", name, "err", err)
				continue
			}
			s.Log.Info("indexed", "source", name, "version", rep.Version, "files", rep.Files, "changed", rep.Changed,
				"deleted", rep.Deleted, "chunks", rep.Chunks, "embedded", rep.Embedded, "took", rep.Took.Round(time.Millisecond))
		}
	}
}

// Webhook is the Gitea push handler, or nil without a secret file.
func (s *Service) Webhook(secretFile string) (*webhook.Handler, error) {
	if secretFile == "" {
		return nil, nil
	}
	raw, err := os.ReadFile(secretFile)
	if err != nil {
		return nil, fmt.Errorf("read --webhook-secret-file: %w", err)
	}
	secret := []byte(strings.TrimSpace(string(raw)))
	if len(secret) < 16 {
		return nil, errors.New("--webhook-secret-file: use a secret of at least 16 characters")
	}
	return &webhook.Handler{Secret: secret, Log: s.Log, Trigger: s.Trigger, Match: func(p webhook.Push) []string {
		var names []string
		for _, src := range s.Sources.Sources {
			if src.Git == "" || !webhook.SameRepo(src.Git, p) {
				continue
			}
			ref := src.Ref
			if (ref == "" && (p.Ref == "refs/heads/main" || p.Ref == "refs/heads/master")) || p.Ref == "refs/heads/"+ref || p.Ref == "refs/tags/"+ref {
				names = append(names, src.Name)
			}
		}
		return names
	}}, nil
}
