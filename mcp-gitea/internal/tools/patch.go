package tools

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	fdiff "github.com/go-git/go-git/v5/plumbing/format/diff"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/opsmcp/opsmcp/shared/tool"
)

// maskedPatch is the unified diff from -> to (from nil: the empty tree)
// made from masked file contents: each file's old and new text is masked
// whole, and the hunks are cut from those, so the context and changed
// lines inside a key are masked even when the hunk holds neither its
// BEGIN nor its END line (a patch masked on its own would show them).
func maskedPatch(ctx context.Context, c *tool.Call, repo *git.Repository, from, to *object.Commit) (string, error) {
	var ft *object.Tree
	var err error
	if from != nil {
		if ft, err = from.Tree(); err != nil {
			return "", fmt.Errorf("tree of %s: %w", from.Hash, err)
		}
	}
	tt, err := to.Tree()
	if err != nil {
		return "", fmt.Errorf("tree of %s: %w", to.Hash, err)
	}
	changes, err := object.DiffTreeWithOptions(ctx, ft, tt, object.DefaultDiffTreeOptions)
	if err != nil {
		return "", fmt.Errorf("diff trees: %w", err)
	}
	p, err := changes.PatchContext(ctx)
	if err != nil {
		return "", fmt.Errorf("diff: %w", err)
	}
	mp := filePatches{}
	for _, fp := range p.FilePatches() {
		mp = append(mp, maskFilePatch(c, repo, fp))
	}
	var b strings.Builder
	if err := fdiff.NewUnifiedEncoder(&b, fdiff.DefaultContextLines).Encode(mp); err != nil {
		return "", fmt.Errorf("encode diff: %w", err)
	}
	return b.String(), nil
}

// maskFilePatch rebuilds one file's chunks from its masked old and new
// lines. When the contents cannot be read or do not line up with the
// chunks, the patch keeps its shape but not its text: every line comes
// back empty (a chunk masked alone could show a key's inner lines).
func maskFilePatch(c *tool.Call, repo *git.Repository, fp fdiff.FilePatch) fdiff.FilePatch {
	if fp.IsBinary() {
		return fp
	}
	from, to := fp.Files()
	oldText, err1 := blobText(repo, from)
	newText, err2 := blobText(repo, to)
	var chunks []fdiff.Chunk
	ok := false
	if err1 == nil && err2 == nil {
		chunks, ok = alignChunks(fp.Chunks(), maskedLines(c, oldText), maskedLines(c, newText))
	}
	if !ok {
		chunks = blankChunks(fp.Chunks())
	}
	return filePatch{from: from, to: to, chunks: chunks}
}

// blankChunks keeps each chunk's kind and line count, not its text.
func blankChunks(in []fdiff.Chunk) []fdiff.Chunk {
	out := make([]fdiff.Chunk, 0, len(in))
	for _, ch := range in {
		out = append(out, textChunk{strings.Repeat("\n", countLines(ch.Content())), ch.Type()})
	}
	return out
}

// alignChunks takes each chunk's lines from the masked old (deletions)
// or new (additions and context) lines, in order; ok is false when the
// chunks do not add up to the files.
func alignChunks(in []fdiff.Chunk, oldLines, newLines []string) ([]fdiff.Chunk, bool) {
	var out []fdiff.Chunk
	o, n := 0, 0
	for _, ch := range in {
		k := countLines(ch.Content())
		var src []string
		switch ch.Type() {
		case fdiff.Equal:
			if n+k > len(newLines) || o+k > len(oldLines) {
				return nil, false
			}
			src = newLines[n : n+k]
			o, n = o+k, n+k
		case fdiff.Add:
			if n+k > len(newLines) {
				return nil, false
			}
			src = newLines[n : n+k]
			n += k
		case fdiff.Delete:
			if o+k > len(oldLines) {
				return nil, false
			}
			src = oldLines[o : o+k]
			o += k
		default:
			return nil, false
		}
		out = append(out, textChunk{strings.Join(src, ""), ch.Type()})
	}
	return out, o == len(oldLines) && n == len(newLines)
}

// countLines counts lines as a chunk holds them: each ends with "\n" but
// perhaps the file's last.
func countLines(s string) int {
	n := strings.Count(s, "\n")
	if s != "" && !strings.HasSuffix(s, "\n") {
		n++
	}
	return n
}

// blobText is a file's content in a patch ("" for none, or a submodule).
func blobText(repo *git.Repository, f fdiff.File) (string, error) {
	if f == nil || f.Mode() == filemode.Submodule {
		return "", nil
	}
	b, err := repo.BlobObject(f.Hash())
	if err != nil {
		return "", err
	}
	rd, err := b.Reader()
	if err != nil {
		return "", err
	}
	defer rd.Close()
	raw, err := io.ReadAll(rd)
	return string(raw), err
}

type filePatches []fdiff.FilePatch

func (p filePatches) FilePatches() []fdiff.FilePatch { return p }
func (p filePatches) Message() string                { return "" }

type filePatch struct {
	from, to fdiff.File
	chunks   []fdiff.Chunk
}

func (f filePatch) IsBinary() bool                  { return false }
func (f filePatch) Files() (fdiff.File, fdiff.File) { return f.from, f.to }
func (f filePatch) Chunks() []fdiff.Chunk           { return f.chunks }

type textChunk struct {
	content string
	op      fdiff.Operation
}

func (c textChunk) Content() string       { return c.content }
func (c textChunk) Type() fdiff.Operation { return c.op }
