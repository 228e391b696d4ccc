package tools

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
	"go.yaml.in/yaml/v4"

	"github.com/opsmcp/opsmcp/shared/tool"
)

// maxComposeBytes bounds a compose file, given as content or read from a
// compose root.
const maxComposeBytes = 1 << 20

// swarm_compose reads one file: the compose file itself, given as content
// or as a path under the compose roots. Whatever would make compose-go
// read another file is refused before loading, with a message that says
// so: include, extends with a file, env_file and label_file. Behind that
// check compose-go is given no way to read the host either: include is
// skipped, env_file and label_file are never resolved, every resource
// (an extends file) goes to a loader that refuses it, and the working
// directory is the compose file's own directory under its root, or an
// empty directory of its own for content.

// errNoOtherFiles is what the refusing resource loader answers.
var errNoOtherFiles = errors.New("swarm_compose reads no file but the compose file itself")

// refuseResources is a compose-go resource loader that accepts every
// reference and loads none, so no extends or include reaches the disk.
type refuseResources struct{}

func (refuseResources) Accept(string) bool { return true }
func (refuseResources) Load(context.Context, string) (string, error) {
	return "", errNoOtherFiles
}
func (refuseResources) Dir(string) string { return "" }

// loadCompose checks content for references to other files, then loads
// it with compose-go confined as above. Errors are argument errors whose
// text quotes nothing from any file.
func loadCompose(ctx context.Context, c *tool.Call, content, name, dir, stack string) (*types.Project, error) {
	values, err := otherFiles(c, content)
	if err != nil {
		return nil, err
	}
	p, err := loadConfined(ctx, content, name, dir, stack)
	if err != nil {
		return nil, tool.Argf("compose file does not load: %s", composeErr(c, err, values))
	}
	return p, nil
}

// loadConfined runs compose-go with no way to read another file; its
// error is compose-go's, unfit to show as it is (see composeErr).
func loadConfined(ctx context.Context, content, name, dir, stack string) (p *types.Project, err error) {
	if dir == "" {
		// Content has no directory: one that does not exist (a random
		// name nobody made), so a relative path resolves into nothing
		// and nothing is written to make it.
		var r [16]byte
		rand.Read(r[:])
		dir = filepath.Join(os.TempDir(), "opsmcp-compose-none-"+hex.EncodeToString(r[:]))
	}
	defer func() {
		// compose-go asserts types of hostile YAML in places; a panic
		// there is a file it cannot load, not a crash of the server.
		if r := recover(); r != nil {
			p, err = nil, errors.New("compose-go could not load it (internal error on this input)")
		}
	}()
	p, err = loader.LoadWithContext(ctx, types.ConfigDetails{
		WorkingDir:  dir,
		ConfigFiles: []types.ConfigFile{{Filename: name, Content: []byte(content)}},
		Environment: types.Mapping{},
	}, func(o *loader.Options) {
		o.SetProjectName(stack, true)
		o.SkipResolveEnvironment = true
		o.SkipResolveLabels = true
		o.SkipInclude = true
		o.SkipConsistencyCheck = true
		o.ResourceLoaders = []loader.ResourceLoader{refuseResources{}}
	})
	return p, err
}

// quoted are the parts of a parser's message that quote the text it read
// (`value`, "value", 'value'): a file's lines must not come back through
// an error.
var quoted = regexp.MustCompile("`[^`]*`|\"[^\"]*\"|'[^']*'")

// word is what composeErr compares with the file's values: parsers
// quote values whole or in parts split at these separators.
var word = regexp.MustCompile("[^\\s:,;=()\\[\\]{}<>\"'`]+")

// composeErr is a loader error without the text it quoted: quoted parts
// go, and so does every word that occurs in one of the file's scalar
// values (values, NUL-separated), since parsers also cite values
// unquoted ("invalid IP address: <value>"). Keys stay: they name where
// the problem is, and the file's keys are what swarm_compose shows
// anyway. The result is short and masked.
func composeErr(c *tool.Call, err error, values string) string {
	msg := quoted.ReplaceAllString(err.Error(), "(…)")
	// Anything left after an unpaired quote is quoted text too.
	if i := strings.IndexAny(msg, "`\"'"); i >= 0 {
		msg = msg[:i] + "(…)"
	}
	msg = word.ReplaceAllStringFunc(msg, func(w string) string {
		if len(w) >= 3 && strings.Contains(values, w) {
			return "…"
		}
		return w
	})
	// Masked whole, then cut to whole words: a cut first could leave
	// half a secret no masking rule knows.
	return tool.Shorten(c.Mask(strings.ToValidUTF8(msg, "?")), 300)
}

// yamlContext is where in a compose document a mapping sits.
type yamlContext int

const (
	inOther   yamlContext = iota
	inTop                 // the top-level mapping
	inExtends             // the value of an extends key
)

// otherFiles refuses a compose text that names another file to read:
// include (top level), extends with a file, env_file or label_file
// (anywhere). Aliases and merge keys are followed, each node once per
// context, so neither an alias bomb nor a merged key gets past. It
// returns the text's scalar values (not keys), NUL-separated, for
// composeErr.
func otherFiles(c *tool.Call, content string) (string, error) {
	dec := yaml.NewDecoder(bytes.NewReader([]byte(content)))
	type visit struct {
		n   *yaml.Node
		ctx yamlContext
	}
	seen := map[visit]bool{}
	// onPath holds the nodes being walked: an alias to one of them is a
	// node that contains itself, which compose-go's merge resolution
	// explores without end and without looking at its context (36 s of
	// CPU for "x: &e {<<: *e}").
	onPath := map[*yaml.Node]bool{}
	var values strings.Builder
	var walk func(n *yaml.Node, ctx yamlContext) error
	walk = func(n *yaml.Node, ctx yamlContext) error {
		n = deref(n)
		if n != nil && onPath[n] {
			return tool.Argf("compose file is not supported: an alias refers to a node that contains it (a cycle, such as x: &a {<<: *a}); use each anchor only outside its own value")
		}
		if n == nil || seen[visit{n, ctx}] {
			return nil
		}
		seen[visit{n, ctx}] = true
		onPath[n] = true
		defer delete(onPath, n)
		switch n.Kind {
		case yaml.ScalarNode:
			values.WriteString(n.Value)
			values.WriteByte(0)
		case yaml.DocumentNode:
			for _, e := range n.Content {
				if err := walk(e, inTop); err != nil {
					return err
				}
			}
		case yaml.SequenceNode:
			for _, e := range n.Content {
				if err := walk(e, inOther); err != nil {
					return err
				}
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := deref(n.Content[i]), n.Content[i+1]
				key := ""
				if k != nil && k.Kind == yaml.ScalarNode {
					key = k.Value
				}
				next := inOther
				switch {
				case key == "<<":
					// A merge: its mappings' keys land here.
					if dv := deref(v); dv != nil && dv.Kind == yaml.SequenceNode {
						for _, m := range dv.Content {
							if err := walk(m, ctx); err != nil {
								return err
							}
						}
						continue
					}
					next = ctx
				case ctx == inTop && key == "include":
					return tool.Argf("include is not supported: swarm_compose reads only the one compose file; paste the included services into it")
				case ctx == inExtends && key == "file":
					return tool.Argf("extends with a file is not supported: swarm_compose reads only the one compose file; extend a service of the same file, or paste the base service into it")
				case key == "env_file" || key == "label_file":
					return tool.Argf("%s is not supported: swarm_compose reads only the one compose file; put the variables in environment (or labels) instead", key)
				case key == "extends":
					next = inExtends
				}
				if err := walk(v, next); err != nil {
					return err
				}
			}
		}
		return nil
	}
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return values.String(), nil
		}
		if err != nil {
			// Nothing parsed to tell values by: every word of the
			// text counts as one.
			return "", tool.Argf("compose file is not YAML: %s", composeErr(c, err, content))
		}
		if err := walk(&doc, inTop); err != nil {
			return "", err
		}
		switch sh := expanded(&doc, map[*yaml.Node]shape{}); {
		case sh.size > maxExpanded:
			return "", tool.Argf("compose file is not supported: its aliases and merge keys expand it to more than %d nodes; write the repeated parts out, or use fewer levels of anchors", maxExpanded)
		case sh.depth > maxDepth:
			return "", tool.Argf("compose file is not supported: it nests deeper than %d levels", maxDepth)
		}
	}
}

// maxExpanded and maxDepth bound a compose document's shape once its
// aliases are expanded: compose-go resolves merges along every expanded
// path at a cost that grows with the path's depth, and ignores the call's
// deadline, so nine levels of nine merges (a few hundred bytes) ran for
// minutes and 5,000 nested braces for 22 s. Real compose files are far
// inside both.
const (
	maxExpanded = 20000
	maxDepth    = 64
)

// shape is a node's size (nodes it stands for, aliases expanded) and
// depth, both saturating past their bound.
type shape struct{ size, depth int }

// expanded measures n with its aliases expanded, each distinct node
// once (memo). Cycles were refused before it is called; one that got
// past would saturate.
func expanded(n *yaml.Node, memo map[*yaml.Node]shape) shape {
	n = deref(n)
	if n == nil {
		return shape{1, 1}
	}
	if v, ok := memo[n]; ok {
		return v
	}
	memo[n] = shape{maxExpanded + 1, maxDepth + 1}
	out := shape{1, 1}
	for _, e := range n.Content {
		c := expanded(e, memo)
		out.size = min(out.size+c.size, maxExpanded+1)
		out.depth = max(out.depth, min(c.depth+1, maxDepth+1))
		if out.size > maxExpanded || out.depth > maxDepth {
			break
		}
	}
	memo[n] = out
	return out
}

// deref follows alias nodes to what they name.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 64; i++ {
		n = n.Alias
	}
	if n != nil && n.Kind == yaml.AliasNode {
		return nil
	}
	return n
}
