package tools

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	fdiff "github.com/go-git/go-git/v5/plumbing/format/diff"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/utils/diff"
	dmp "github.com/sergi/go-diff/diffmatchpatch"

	"github.com/opsmcp/opsmcp/shared/tool"
)

// Bounds of one diff. A line diff costs up to the product of the two
// sides' line counts, and a packed blob can be tiny for a huge text: a
// commit rewriting 60,000 two-byte lines took 22 s, and go-git's own
// patch gives each file an hour and ignores the call's deadline.
const (
	// maxPatchBlob: a file whose old or new side is larger is listed as
	// "too large", without a patch (gitea_file reads it in ranges).
	maxPatchBlob = 1 << 20
	// maxPatchTotal: files past this many bytes of contents, in the
	// order git lists them, are listed as "too large" too.
	maxPatchTotal = 16 << 20
	// maxDiffTime bounds the line diff of one file; past it (or past the
	// call's deadline) the rest of the file is one deletion and one
	// addition, which is still a correct patch.
	maxDiffTime = 2 * time.Second
)

// maskedPatch is the unified diff from -> to (from nil: the empty tree)
// made from masked file contents: each file's old and new text is masked
// whole, and the hunks are cut from those, so the context and changed
// lines inside a key are masked even when the hunk holds neither its
// BEGIN nor its END line (a patch masked on its own would show them).
// Files over the size bounds come back in skipped, with no patch.
func maskedPatch(ctx context.Context, c *tool.Call, repo *git.Repository, from, to *object.Commit) (string, []DiffFile, error) {
	var ft *object.Tree
	var err error
	if from != nil {
		if ft, err = from.Tree(); err != nil {
			return "", nil, fmt.Errorf("tree of %s: %w", from.Hash, err)
		}
	}
	tt, err := to.Tree()
	if err != nil {
		return "", nil, fmt.Errorf("tree of %s: %w", to.Hash, err)
	}
	changes, err := object.DiffTreeWithOptions(ctx, ft, tt, object.DefaultDiffTreeOptions)
	if err != nil {
		return "", nil, fmt.Errorf("diff trees: %w", err)
	}
	mp := filePatches{}
	var skipped []DiffFile
	total := int64(0)
	for _, ch := range changes {
		if err := ctx.Err(); err != nil {
			return "", nil, fmt.Errorf("diff: %w", err)
		}
		ff, tf, err := ch.Files()
		if err != nil {
			return "", nil, fmt.Errorf("diff %s: %w", changeName(ch), err)
		}
		size := blobSize(ff) + blobSize(tf)
		if blobSize(ff) > maxPatchBlob || blobSize(tf) > maxPatchBlob || total+size > maxPatchTotal {
			skipped = append(skipped, tooLarge(ch))
			continue
		}
		total += size
		fp, err := filePatchOf(ctx, c, ch, ff, tf)
		if err != nil {
			return "", nil, fmt.Errorf("diff %s: %w", changeName(ch), err)
		}
		mp = append(mp, fp)
	}
	var b strings.Builder
	if err := fdiff.NewUnifiedEncoder(&b, fdiff.DefaultContextLines).Encode(mp); err != nil {
		return "", nil, fmt.Errorf("encode diff: %w", err)
	}
	return b.String(), skipped, nil
}

func blobSize(f *object.File) int64 {
	if f == nil {
		return 0
	}
	return f.Size
}

// changeName is the path a change is about (its new one, else its old).
func changeName(ch *object.Change) string {
	if ch.To.Name != "" {
		return ch.To.Name
	}
	return ch.From.Name
}

// tooLarge is the entry of a file left out of the patch for its size.
func tooLarge(ch *object.Change) DiffFile {
	d := DiffFile{Path: changeName(ch), Status: "too large"}
	if ch.From.Name != "" && ch.To.Name != "" && ch.From.Name != ch.To.Name {
		d.OldPath = ch.From.Name
	}
	return d
}

// entryFile is one side of a change as the unified encoder reads it.
type entryFile struct{ ce object.ChangeEntry }

func (f entryFile) Hash() plumbing.Hash     { return f.ce.TreeEntry.Hash }
func (f entryFile) Mode() filemode.FileMode { return f.ce.TreeEntry.Mode }
func (f entryFile) Path() string            { return f.ce.Name }

// sideOf is a change side for the encoder, nil when it is no file (absent,
// or a submodule), as go-git's own patch has it.
func sideOf(ce object.ChangeEntry) fdiff.File {
	if ce.Name == "" || !ce.TreeEntry.Mode.IsFile() {
		return nil
	}
	return entryFile{ce}
}

// binaryPatch is a file whose old or new side is binary: no chunks.
type binaryPatch struct{ from, to fdiff.File }

func (p binaryPatch) IsBinary() bool                  { return true }
func (p binaryPatch) Files() (fdiff.File, fdiff.File) { return p.from, p.to }
func (p binaryPatch) Chunks() []fdiff.Chunk           { return nil }

// filePatchOf is one file's patch, its chunks cut from the masked old and
// new contents, the line diff bounded by maxDiffTime and the call's
// deadline. When the masked contents do not line up with the chunks, the
// patch keeps its shape but not its text: every line comes back empty (a
// chunk masked alone could show a key's inner lines).
func filePatchOf(ctx context.Context, c *tool.Call, ch *object.Change, ff, tf *object.File) (fdiff.FilePatch, error) {
	from, to := sideOf(ch.From), sideOf(ch.To)
	oldText, oldBin, err := fileText(ff)
	if err != nil {
		return nil, err
	}
	newText, newBin, err := fileText(tf)
	if err != nil {
		return nil, err
	}
	if oldBin || newBin {
		return binaryPatch{from, to}, nil
	}
	budget := maxDiffTime
	if dl, ok := ctx.Deadline(); ok {
		budget = max(min(budget, time.Until(dl)), time.Millisecond)
	}
	raw := diffChunks(oldText, newText, budget)
	if len(raw) == 0 {
		// As go-git: a patch with no chunks (both sides empty, or no file
		// at all) is one the encoder shows without hunks.
		return binaryPatch{from, to}, nil
	}
	chunks, ok := alignChunks(raw, maskedLines(c, oldText), maskedLines(c, newText))
	if !ok {
		chunks = blankChunks(raw)
	}
	return filePatch{from: from, to: to, chunks: chunks}, nil
}

// diffChunks is the line diff of two texts as patch chunks, given budget
// (past it, the rest is one deletion and one addition).
func diffChunks(oldText, newText string, budget time.Duration) []fdiff.Chunk {
	var out []fdiff.Chunk
	for _, d := range diff.DoWithTimeout(oldText, newText, budget) {
		op := fdiff.Equal
		switch d.Type {
		case dmp.DiffDelete:
			op = fdiff.Delete
		case dmp.DiffInsert:
			op = fdiff.Add
		}
		out = append(out, textChunk{d.Text, op})
	}
	return out
}

// fileText is a file's content ("" for none), or binary.
func fileText(f *object.File) (string, bool, error) {
	if f == nil {
		return "", false, nil
	}
	bin, err := f.IsBinary()
	if err != nil || bin {
		return "", bin, err
	}
	s, err := f.Contents()
	return s, false, err
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
