package tools

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/opsmcp/opsmcp/mcp-logs/internal/logfile"
	"github.com/opsmcp/opsmcp/shared/tool"
)

// maxFiles bounds how many files one call lists or searches.
const maxFiles = 2000

// FilesInput are logs_files' arguments.
type FilesInput struct {
	Path string `json:"path,omitempty" jsonschema:"glob on the path relative to its root, or on the base name, e.g. nginx/*.log or app.log*"`
}

// FileInfo is one log file.
type FileInfo struct {
	Path     string `json:"path"`
	Size     int64  `json:"size"`
	Modified string `json:"modified"`
	Gzip     bool   `json:"gzip,omitempty"`
	First    string `json:"first,omitempty" jsonschema:"time of the first line that has one"`
	Last     string `json:"last,omitempty" jsonschema:"time of the last line that has one (not read for gzip files over 64 MiB)"`
}

// FilesOutput is logs_files' structured result.
type FilesOutput struct {
	Roots []string   `json:"roots"`
	Items []FileInfo `json:"items"`
	More  bool       `json:"more,omitempty" jsonschema:"true when more files matched than one call lists; narrow the glob"`
}

// allowedFiles lists the files matching glob that the caller's policy
// lets this tool read (scope "files": globs on the file's real path).
func (s *Server) allowedFiles(c *tool.Call, glob string) ([]logfile.File, bool, error) {
	files, more, err := s.Roots.List(glob, maxFiles)
	if err != nil {
		return nil, false, fileErr(err)
	}
	kept := files[:0]
	for _, f := range files {
		if c.Allows("files", f.Path) {
			kept = append(kept, f)
		}
	}
	return kept, more, nil
}

func fileErr(err error) error {
	if errors.Is(err, logfile.ErrNoRoots) || errors.Is(err, logfile.ErrOutside) {
		return tool.Argf("%v", err)
	}
	return err
}

func (s *Server) files(ctx context.Context, c *tool.Call, in FilesInput) (*tool.Result, error) {
	files, more, err := s.allowedFiles(c, in.Path)
	if err != nil {
		return nil, err
	}
	out := FilesOutput{Roots: s.Roots.Dirs(), Items: make([]FileInfo, 0, len(files)), More: more}
	for _, f := range files {
		first, last, err := logfile.Span(ctx, f, 64<<20)
		if err != nil && ctx.Err() != nil {
			return nil, fmt.Errorf("read file spans: %w", err)
		}
		out.Items = append(out.Items, FileInfo{Path: f.Path, Size: f.Size, Modified: rfc(f.ModTime), Gzip: f.Gzip, First: rfc(first), Last: rfc(last)})
	}
	return &tool.Result{Data: out, Render: func(d map[string]any) string {
		items, _ := d["items"].([]any)
		var b strings.Builder
		for _, it := range items {
			m, _ := it.(map[string]any)
			gz := ""
			if m["gzip"] == true {
				gz = " (gzip)"
			}
			fmt.Fprintf(&b, "%s%s  %v bytes  modified %s  lines %s .. %s\n", tool.Str(m["path"]), gz, m["size"], tool.Str(m["modified"]), orDash(m["first"]), orDash(m["last"]))
		}
		return b.String()
	}}, nil
}

func orDash(v any) string {
	if s := tool.Str(v); s != "" {
		return s
	}
	return "-"
}

// SearchInput are logs_search's arguments.
type SearchInput struct {
	Pattern string `json:"pattern" jsonschema:"RE2 regular expression a line must match, e.g. timeout|refused or (?i)error; . for every line"`
	Path    string `json:"path,omitempty" jsonschema:"only files whose path (relative to its root) or base name matches this glob"`
	Window
	Level  string            `json:"level,omitempty" jsonschema:"minimum level: trace, debug, info, warn, error, fatal"`
	Fields map[string]string `json:"fields,omitempty" jsonschema:"JSON lines only: field values to match, e.g. {\"user\":\"bob\", \"http.status\":\"504\"}"`
	Limit  int               `json:"limit,omitempty" jsonschema:"most lines per page (default 100)"`
	Order  string            `json:"order,omitempty" jsonschema:"newest (default) or oldest first"`
}

// FileLine is one line of a file.
type FileLine struct {
	File    string `json:"file"`
	Line    int64  `json:"line" jsonschema:"1-based line number (in the decompressed text of a gzip file)"`
	Time    string `json:"ts,omitempty"`
	Level   string `json:"level,omitempty"`
	Text    string `json:"text"`
	CutFrom int    `json:"cut_from,omitempty" jsonschema:"the line's full length in bytes, when it was cut"`
}

// LinesOutput is logs_search's and logs_tail's structured result.
type LinesOutput struct {
	Files        int        `json:"files" jsonschema:"files read"`
	BytesScanned int64      `json:"bytes_scanned,omitempty"`
	Items        []FileLine `json:"items"`
	Skipped      []string   `json:"skipped,omitempty" jsonschema:"files whose newest-first walk stopped at an entry over 8 MiB (search them with order oldest)"`
}

func (s *Server) search(ctx context.Context, c *tool.Call, in SearchInput) (*tool.Result, error) {
	if in.Pattern == "" {
		return nil, tool.Argf("pattern is required: an RE2 expression such as timeout|refused (use . for every line)")
	}
	re, err := logfile.Compile(in.Pattern)
	if err != nil {
		return nil, tool.Argf("pattern is not a valid RE2 expression: %v", err)
	}
	// Mask is applied to each whole log entry before the pattern, the
	// fields or the level look at it: they only ever see masked text.
	q := logfile.Query{Pattern: re, Fields: in.Fields, MaxLine: s.MaxLine, Limit: s.limit(in.Limit, 100), Mask: c.Mask}
	switch in.Order {
	case "", "newest":
	case "oldest":
		q.Oldest = true
	default:
		return nil, tool.Argf("order %q: use newest or oldest", in.Order)
	}
	if in.Level != "" {
		lvl, ok := logfile.ParseLevel(in.Level)
		if !ok {
			return nil, tool.Argf("level %q: use trace, debug, info, warn, error or fatal", in.Level)
		}
		q.MinLevel = lvl
	}
	if in.Since != "" || in.Start != "" || in.End != "" {
		// Files are bounded by their size, not by Loki's range cap.
		if q.Since, q.Until, err = resolveWindow(in.Window, time.Hour, s.now()); err != nil {
			return nil, err
		}
	}
	files, _, err := s.allowedFiles(c, in.Path)
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, tool.Argf("no log file under the roots (%s) matches path %q; see logs_files", strings.Join(s.Roots.Dirs(), ", "), in.Path)
	}
	from, err := filePos(c.Resume)
	if err != nil {
		return nil, err
	}
	ms, more, st, err := logfile.Search(ctx, files, q, from)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("search: %w", err)
		}
		return nil, tool.Argf("%v", err)
	}
	return linesResult(ms, more, st, q.Oldest, from), nil
}

// TailInput are logs_tail's arguments.
type TailInput struct {
	Path  string `json:"path" jsonschema:"log file: absolute, or relative to a root (see logs_files)"`
	Lines int    `json:"lines,omitempty" jsonschema:"how many lines (default 50)"`
}

func (s *Server) tail(ctx context.Context, c *tool.Call, in TailInput) (*tool.Result, error) {
	path, err := s.Roots.Resolve(in.Path)
	if err != nil {
		return nil, tool.Argf("%v", err)
	}
	if !c.Allows("files", path) {
		return nil, tool.Deniedf("your role may not read %s", path)
	}
	f, err := s.Roots.Stat(path)
	if err != nil {
		return nil, tool.Argf("%v", err)
	}
	from, err := filePos(c.Resume)
	if err != nil {
		return nil, err
	}
	if from != nil && from.File != path {
		return nil, tool.Argf("invalid cursor: pass it back exactly as given")
	}
	ms, more, err := logfile.Tail(ctx, f, s.limit(in.Lines, 50), s.MaxLine, c.Mask, from)
	if errors.Is(err, logfile.ErrBadPos) {
		return nil, tool.Argf("%v", err)
	}
	if errors.Is(err, logfile.ErrLongRecord) {
		// The lines after the long entry, and where the walk stopped.
		return linesResult(ms, false, logfile.Stats{Files: 1, Skipped: []string{path}}, false, from), nil
	}
	if err != nil {
		return nil, fmt.Errorf("tail %s: %w", path, err)
	}
	return linesResult(ms, more, logfile.Stats{Files: 1}, false, from), nil
}

// filePos decodes a file cursor position (sealed: see sealPos). The
// binder only hands back positions this server made; the reader re-checks
// that one is a record boundary of the file before reading from it.
func filePos(raw string) (*logfile.Pos, error) {
	if raw == "" {
		return nil, nil
	}
	plain, err := openPos(raw)
	if err != nil {
		return nil, tool.Argf("%v", err)
	}
	p := new(logfile.Pos)
	if json.Unmarshal(plain, p) != nil || p.Offset < 0 || p.Line < 0 || p.Sub < 0 || p.File == "" {
		return nil, tool.Argf("invalid cursor: pass it back exactly as given")
	}
	return p, nil
}

func linesResult(ms []logfile.Match, more bool, st logfile.Stats, oldest bool, from *logfile.Pos) *tool.Result {
	out := LinesOutput{Files: st.Files, BytesScanned: st.Bytes, Items: make([]FileLine, 0, len(ms)), Skipped: st.Skipped}
	for _, m := range ms {
		out.Items = append(out.Items, FileLine{File: m.File, Line: m.Line, Time: rfc(m.Time), Level: m.Level.String(), Text: m.Text, CutFrom: m.Len})
	}
	resume := func(shown int) string {
		var p logfile.Pos
		switch {
		case shown > 0 && oldest:
			p = ms[shown-1].After()
		case shown > 0:
			p = ms[shown-1].Before()
		case from != nil:
			p = *from
		default:
			return "" // nothing shown on a first page: start over
		}
		b, _ := json.Marshal(p)
		return sealPos(b)
	}
	return &tool.Result{Data: out, Render: renderLines, Resume: resume, More: more}
}

func renderLines(d map[string]any) string {
	items, _ := d["items"].([]any)
	var b strings.Builder
	for _, it := range items {
		m, _ := it.(map[string]any)
		fmt.Fprintf(&b, "%s:%v", tool.Str(m["file"]), m["line"])
		if t := tool.Str(m["ts"]); t != "" {
			b.WriteString(" " + t)
		}
		b.WriteString(" " + tool.Str(m["text"]))
		if n, ok := m["cut_from"].(float64); ok && n > 0 {
			fmt.Fprintf(&b, " …[line cut: %d bytes]", int(n))
		}
		b.WriteByte('\n')
	}
	skipped, _ := d["skipped"].([]any)
	for _, f := range skipped {
		fmt.Fprintf(&b, "[not searched past an entry over 8 MiB: %s; search it with order oldest]\n", tool.Str(f))
	}
	return b.String()
}
