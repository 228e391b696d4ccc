// Command mcp-gitea is a read-only MCP server for a Gitea: repositories,
// history, diffs, blame, pull requests, issues, code search and a review
// of infrastructure code.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/opsmcp/opsmcp/mcp-gitea/internal/forge"
	"github.com/opsmcp/opsmcp/mcp-gitea/internal/tools"
	"github.com/opsmcp/opsmcp/shared/serve"
	"github.com/opsmcp/opsmcp/shared/tool"
)

var version = "dev"

func main() {
	var (
		o            forge.Options
		tokenFile    string
		callerTokens bool
		requireToken bool
		mirrorMaxMB  int64
	)
	spec := serve.Spec{
		Name: "mcp-gitea", Version: version, Title: "read-only Gitea MCP server",
		Upstream:   forge.Upstream,
		MemoryCost: tools.MemoryCost, MemoryNarrow: " (a smaller file: gitea_search finds lines in a large one; a lower limit)",
		Instructions: "Read-only access to Gitea repositories. Start with gitea_repos; gitea_tree and gitea_file read code at any ref; gitea_commits, gitea_diff and gitea_blame explain history; gitea_pulls and gitea_issues read discussions; gitea_search finds code; gitea_iac reviews infrastructure code. Secrets are masked.",
		Prompts:      tools.Prompts(),
		Tools:        func() []tool.Tool { return (&tools.Server{}).Tools() },
	}
	serve.Main(spec, 8082, func(fs *pflag.FlagSet) {
		fs.StringVar(&o.URL, "gitea-url", os.Getenv("GITEA_URL"), "Gitea base URL (also read from $GITEA_URL)")
		fs.StringVar(&tokenFile, "gitea-token-file", "", "file holding the server's Gitea token (else $GITEA_TOKEN); give it read:repository and read:issue scopes only")
		fs.StringSliceVar(&o.Repos, "repos", nil, "repository allowlist: owner/name or owner/* (repeatable; default: all the token can see)")
		fs.StringVar(&o.MirrorDir, "mirror-dir", "", "where read-only git mirrors are cached (default: the user cache dir)")
		fs.DurationVar(&o.MirrorTTL, "mirror-ttl", time.Minute, "fetch a mirror again when it is older than this")
		fs.DurationVar(&o.Timeout, "gitea-timeout", 30*time.Second, "timeout of each API request")
		fs.Int64Var(&mirrorMaxMB, "mirror-max-mb", 2048, "total size budget of the mirrors in MiB; past it the least recently used are removed (0: no budget)")
		fs.BoolVar(&callerTokens, "caller-tokens", false, "HTTP: let callers send their own Gitea token in X-Gitea-Token, so each reads only what they may")
		fs.BoolVar(&requireToken, "require-caller-token", false, "HTTP: refuse any call without the caller's own X-Gitea-Token, so no caller ever reads with the server's token (implies --caller-tokens)")
	}, func(ctx context.Context, log *slog.Logger) ([]tool.Tool, func(context.Context) error, error) {
		if mirrorMaxMB < 0 {
			return nil, nil, fmt.Errorf("--mirror-max-mb %d: give a size in MiB, or 0 for no budget", mirrorMaxMB)
		}
		o.MirrorMaxBytes = mirrorMaxMB << 20
		o.Log = log
		o.Token = os.Getenv("GITEA_TOKEN")
		if tokenFile != "" {
			b, err := os.ReadFile(tokenFile)
			if err != nil {
				return nil, nil, fmt.Errorf("--gitea-token-file: %w", err)
			}
			o.Token = strings.TrimSpace(string(b))
		}
		f, err := forge.New(ctx, o)
		if err != nil {
			return nil, nil, err
		}
		// Gitea is not reached here: the server starts while it is down.
		log.Info("Gitea configured", "url", f.URL(), "allowlist", strings.Join(f.Allowlist(), ","))
		ready := func(ctx context.Context) error {
			cl, err := f.Client(ctx, "")
			if err != nil {
				return err
			}
			_, _, err = cl.ServerVersion()
			return err
		}
		s := &tools.Server{Forge: f, CallerTokens: callerTokens || requireToken, RequireCallerToken: requireToken}
		return s.Tools(), ready, nil
	})
}
