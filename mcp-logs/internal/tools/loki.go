package tools

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/opsmcp/opsmcp/mcp-logs/internal/logql"
	"github.com/opsmcp/opsmcp/mcp-logs/internal/loki"
	"github.com/opsmcp/opsmcp/shared/tool"
)

// QueryInput are logs_query's arguments.
type QueryInput struct {
	Query string `json:"query" jsonschema:"LogQL query, e.g. {namespace=\"web\", app=\"api\"} |= \"error\" or sum by (app) (count_over_time({namespace=\"web\"}[5m]))"`
	Window
	Instant   bool   `json:"instant,omitempty" jsonschema:"metric queries only: evaluate at one time (end, default now) instead of over the range"`
	Limit     int    `json:"limit,omitempty" jsonschema:"most lines per page for a log query (default 100)"`
	Direction string `json:"direction,omitempty" jsonschema:"backward (newest first, the default) or forward (oldest first)"`
	Step      string `json:"step,omitempty" jsonschema:"metric range queries: resolution, e.g. 1m (default: Loki's choice)"`
}

// LokiItem is one log line or one metric series.
type LokiItem struct {
	Time     string            `json:"ts,omitempty" jsonschema:"the line's time (RFC 3339, nanoseconds)"`
	Labels   map[string]string `json:"labels,omitempty" jsonschema:"the line's stream labels"`
	Line     string            `json:"line,omitempty"`
	Metadata map[string]string `json:"metadata,omitempty" jsonschema:"structured metadata"`
	CutFrom  int               `json:"cut_from,omitempty" jsonschema:"the line's full length in bytes, when it was cut"`
	Metric   map[string]string `json:"metric,omitempty" jsonschema:"a series' labels"`
	Values   [][2]string       `json:"values,omitempty" jsonschema:"a series' [time, value] samples"`
}

// QueryOutput is logs_query's structured result.
type QueryOutput struct {
	ResultType string     `json:"result_type" jsonschema:"streams (lines), matrix or vector (series), scalar"`
	Start      string     `json:"start,omitempty"`
	End        string     `json:"end"`
	ScanBytes  int64      `json:"scan_bytes,omitempty" jsonschema:"bytes Loki's index said the query covers"`
	Items      []LokiItem `json:"items"`
}

// lokiPos is where a log query continues: the range still to read, and
// the lines at its boundary time already returned (Loki may hold several
// lines with one timestamp, so the boundary is re-read and those skipped).
type lokiPos struct {
	Start int64    `json:"s"`
	End   int64    `json:"e"`
	Seen  []string `json:"seen,omitempty"`
}

func (s *Server) query(ctx context.Context, c *tool.Call, in QueryInput) (*tool.Result, error) {
	q, lokiQuery, err := s.checkQuery(ctx, c, in.Query)
	if err != nil {
		return nil, err
	}
	forward := false
	switch in.Direction {
	case "", "backward":
	case "forward":
		forward = true
	default:
		return nil, tool.Argf("direction %q: use backward (newest first) or forward (oldest first)", in.Direction)
	}
	if q.Metric {
		return s.metricQuery(ctx, in, q, lokiQuery)
	}
	if in.Instant {
		return nil, tool.Argf("instant applies to metric queries only; a log query always reads a range (since, or start/end)")
	}
	start, end, err := s.window(in.Window, time.Hour)
	if err != nil {
		return nil, err
	}
	limit := s.limit(in.Limit, 100)
	var pos lokiPos
	if c.Resume != "" {
		if pos, err = s.resumeRange(c.Resume, in.Window, start, end); err != nil {
			return nil, err
		}
		start, end = time.Unix(0, pos.Start).UTC(), time.Unix(0, pos.End).UTC()
	} else {
		pos = lokiPos{Start: start.UnixNano(), End: end.UnixNano()}
	}
	scan, err := s.guard(ctx, q, start, end)
	if err != nil {
		return nil, err
	}
	boundary := pos.End - 1
	if forward {
		boundary = pos.Start
	}
	filtered := len(q.LineFilters) > 0 || len(q.LabelFilters) > 0
	// Without filters of its own, a page is one request of limit lines.
	// With them, Loki selects on unmasked lines and the re-check here
	// drops those whose match was on masked bytes; what the caller sees
	// must not depend on such lines. So batches have a fixed size, reading
	// goes on until the page is full or the range is read (up to
	// maxRounds), and a full page always offers a cursor, whether or not
	// anything follows: page, cursor and position (sealed) depend only on
	// the lines kept.
	batch := limit
	if filtered {
		batch = max(limit, filterBatch)
	}
	// examined are the lines read, in walk order, before the re-check;
	// kept those that pass it, masked, with their index in examined.
	var examined []entry
	var kept []loki.Entry
	var keptAt []int
	// after is the position just past examined[last]: the rest of the
	// range, and the lines at that time already read.
	after := func(last int) lokiPos {
		t := examined[last].Time.UnixNano()
		var ids []string
		if t == boundary {
			ids = append(ids, pos.Seen...)
		}
		for _, e := range examined[:last+1] {
			if e.Time.UnixNano() == t {
				ids = append(ids, e.id)
			}
		}
		if forward {
			return lokiPos{Start: t, End: pos.End, Seen: ids}
		}
		return lokiPos{Start: pos.Start, End: t + 1, Seen: ids}
	}
	filters := compileFilters(q)
	resultType := "streams"
	more := false
	for cur, round := pos, 1; ; round++ {
		res, err := s.Loki.QueryRange(ctx, loki.Range{Query: lokiQuery, Start: time.Unix(0, cur.Start), End: time.Unix(0, cur.End), Limit: batch + len(cur.Seen), Forward: forward})
		if err != nil {
			return nil, lokiErr("query", err)
		}
		resultType = res.Type
		entries := s.masked(c, res.Entries)
		sortEntries(entries, forward)
		seen := map[string]bool{}
		for _, h := range cur.Seen {
			seen[h] = true
		}
		at := cur.End - 1
		if forward {
			at = cur.Start
		}
		var page []entry
		for _, e := range entries {
			if e.Time.UnixNano() == at && seen[e.id] {
				continue
			}
			page = append(page, e)
		}
		full := len(entries) >= batch+len(cur.Seen)
		if len(page) > batch {
			page, full = page[:batch], true
		}
		for _, e := range page {
			examined = append(examined, e)
			// The re-check runs on the masked entry. A label filter may
			// have compared a stream label (with those a parser
			// extracted) or structured metadata.
			if filtered && !keep(q, filters, e.line, c.Mask, e.Labels, e.Metadata) {
				continue
			}
			out := e.Entry
			out.Line = e.line
			kept = append(kept, out)
			keptAt = append(keptAt, len(examined)-1)
			if len(kept) == limit {
				break
			}
		}
		switch {
		case len(kept) == limit:
			more = !filtered && full || filtered
		case !full || len(page) == 0:
			more = false
		case !filtered || round == maxRounds:
			more = true
		default:
			cur = after(len(examined) - 1)
			continue
		}
		break
	}
	out := QueryOutput{ResultType: resultType, Start: rfc(start), End: rfc(end), ScanBytes: scan, Items: make([]LokiItem, 0, len(kept))}
	for _, e := range kept {
		line, cut := s.cut(e.Line)
		out.Items = append(out.Items, LokiItem{Time: rfc(e.Time), Labels: e.Labels, Line: line, Metadata: e.Metadata, CutFrom: cut})
	}
	resume := func(shown int) string {
		next := pos
		// The page continues after the last line shown; a page that is
		// not full (the round limit stopped it) continues after the last
		// line read, so the lines the re-check dropped are not read again.
		switch {
		case shown > 0 && (shown < len(kept) || len(kept) == limit):
			next = after(keptAt[shown-1])
		case len(examined) > 0 && shown == len(kept):
			next = after(len(examined) - 1)
		}
		b, _ := json.Marshal(next)
		return sealPos(b)
	}
	return &tool.Result{Data: out, Render: renderLoki, Resume: resume, More: more}, nil
}

// maxSeen bounds the boundary lines a cursor carries (each widens the next
// request's limit by one).
const maxSeen = 1000

// filterBatch is the lines one request asks for when filters run here, and
// maxRounds the requests one page may make: a cursor is offered for an
// unfull page only after maxRounds*filterBatch lines were read and
// dropped, so which lines Loki matched unmasked shows in no page and no
// cursor below that (only in the time a call takes).
const (
	filterBatch = 1000
	maxRounds   = 10
)

// resumeRange reads a log query's cursor position and re-checks it: the
// binder signs cursors, so a forged one never arrives, but a position is
// still held to this server's range cap and, for a start/end window, to
// that window (defence in depth: no position can widen what the call's
// arguments and --max-range allow).
func (s *Server) resumeRange(sealed string, w Window, start, end time.Time) (lokiPos, error) {
	var pos lokiPos
	raw, err := openPos(sealed)
	if err != nil {
		return pos, tool.Argf("%v", err)
	}
	// Start >= 0 keeps End-Start from wrapping past the cap check.
	if json.Unmarshal(raw, &pos) != nil || pos.Start < 0 || pos.Start >= pos.End || len(pos.Seen) > maxSeen {
		return pos, tool.Argf("invalid cursor: pass it back exactly as given")
	}
	if s.MaxRange > 0 && time.Duration(pos.End-pos.Start) > s.MaxRange {
		return pos, tool.Argf("invalid cursor: its range is over this server's cap of %s", human(s.MaxRange))
	}
	if w.Start != "" && (pos.Start < start.UnixNano() || pos.End > end.UnixNano()) {
		return pos, tool.Argf("invalid cursor: its range is outside the call's start/end")
	}
	if w.Start == "" && w.End != "" && pos.End > end.UnixNano() {
		return pos, tool.Argf("invalid cursor: its range is outside the call's end")
	}
	return pos, nil
}

// checkQuery runs the local check, then Loki's own parser (which does not
// run the query), whose canonical form must pass the check too, so the
// two parsers cannot read the query differently. It returns the query
// Loki is to run: negative line filters taken out (they are applied to the
// masked lines here) and every selector held to the caller's namespaces.
func (s *Server) checkQuery(ctx context.Context, c *tool.Call, query string) (*logql.Query, string, error) {
	q, err := logql.Check(query)
	if err != nil {
		return nil, "", tool.Argf("%v", err)
	}
	if s.MaxRange > 0 && q.MaxRange > s.MaxRange {
		return nil, "", tool.Argf("range [%s] is over this server's cap of %s", human(q.MaxRange), human(s.MaxRange))
	}
	ns, err := namespaceScope(c)
	if err != nil {
		return nil, "", err
	}
	if formatted, err := s.Loki.FormatQuery(ctx, query); err != nil {
		var le *loki.Error
		if errors.As(err, &le) && le.Status == http.StatusBadRequest {
			return nil, "", tool.Argf("Loki cannot parse the query: %s", le.Msg)
		}
		if !errors.As(err, &le) || le.Status != http.StatusNotFound {
			return nil, "", lokiErr("check query", err)
		}
	} else if formatted != "" {
		fq, err := logql.Check(formatted)
		if err != nil {
			return nil, "", tool.Argf("as Loki reads it (%s): %v", formatted, err)
		}
		if fq.Metric != q.Metric || len(fq.Selectors) != len(q.Selectors) || len(fq.LineFilters) > len(q.LineFilters) || !subset(fq.LabelFilters, q.LabelFilters) {
			return nil, "", tool.Argf("Loki reads this query differently (as %s); write it as Loki formats it", formatted)
		}
		if s.MaxRange > 0 && fq.MaxRange > s.MaxRange {
			return nil, "", tool.Argf("range [%s] is over this server's cap of %s", human(fq.MaxRange), human(s.MaxRange))
		}
	}
	lq, err := forLoki(c, ns, query, q)
	if err != nil {
		return nil, "", err
	}
	return q, lq, nil
}

// guard asks the index how much the query's selectors cover and refuses
// over the cap, with the numbers.
func (s *Server) guard(ctx context.Context, q *logql.Query, start, end time.Time) (int64, error) {
	var total int64
	for _, sel := range q.Selectors {
		n, err := s.volume(ctx, sel.String(), start, end)
		if err != nil {
			return 0, lokiErr("index volume (checked before every query; the query was not run)", err)
		}
		total += n
	}
	if s.MaxScanBytes > 0 && total > s.MaxScanBytes {
		return 0, tool.Argf("refused: this query would scan %s between %s and %s, over this server's cap of %s. Narrow it: a shorter range (since), more selector labels (e.g. a pod or container); logs_stats shows which streams are large",
			humanBytes(total), rfc(start), rfc(end), humanBytes(s.MaxScanBytes))
	}
	return total, nil
}

// volume is the bytes a selector covers. The volume endpoint asks the
// store and the ingesters (index stats read only the store, so they miss
// the most recent hours) and answers in about a millisecond where index
// stats took 40 ms (docs/benchmarks.md). A Loki with volume disabled falls
// back to index stats.
func (s *Server) volume(ctx context.Context, sel string, start, end time.Time) (int64, error) {
	// Grouped by the selector's own labels (Loki's default), so a few
	// groups hold everything.
	vols, err := s.Loki.Volume(ctx, sel, start, end, nil, 10000)
	if err != nil {
		st, serr := s.Loki.Stats(ctx, sel, start, end)
		if serr != nil {
			return 0, err
		}
		return st.Bytes, nil
	}
	var n int64
	for _, v := range vols {
		n += v.Bytes
	}
	return n, nil
}

func (s *Server) metricQuery(ctx context.Context, in QueryInput, q *logql.Query, lokiQuery string) (*tool.Result, error) {
	out := QueryOutput{Items: []LokiItem{}}
	var res *loki.Result
	if in.Instant {
		at := s.now()
		if in.End != "" {
			t, err := parseTime(in.End)
			if err != nil {
				return nil, tool.Argf("end: %v", err)
			}
			at = t
		}
		scan, err := s.guard(ctx, q, at.Add(-q.MaxRange), at)
		if err != nil {
			return nil, err
		}
		out.End, out.ScanBytes = rfc(at), scan
		if res, err = s.Loki.Query(ctx, lokiQuery, at, 0); err != nil {
			return nil, lokiErr("query", err)
		}
	} else {
		start, end, err := s.window(in.Window, time.Hour)
		if err != nil {
			return nil, err
		}
		var step time.Duration
		if in.Step != "" {
			if step, err = parseDuration(in.Step); err != nil {
				return nil, tool.Argf("step: %v", err)
			}
			if end.Sub(start)/step > 11000 {
				return nil, tool.Argf("step %s gives more than 11000 points over %s; use a larger step", in.Step, human(end.Sub(start)))
			}
		}
		scan, err := s.guard(ctx, q, start.Add(-q.MaxRange), end)
		if err != nil {
			return nil, err
		}
		out.Start, out.End, out.ScanBytes = rfc(start), rfc(end), scan
		if res, err = s.Loki.QueryRange(ctx, loki.Range{Query: lokiQuery, Start: start, End: end, Step: step}); err != nil {
			return nil, lokiErr("query", err)
		}
	}
	out.ResultType = res.Type
	for _, ser := range res.Series {
		it := LokiItem{Metric: ser.Metric}
		if it.Metric == nil {
			it.Metric = map[string]string{}
		}
		for _, smp := range ser.Samples {
			it.Values = append(it.Values, [2]string{rfc(smp.Time), smp.Value})
		}
		out.Items = append(out.Items, it)
	}
	sort.SliceStable(out.Items, func(i, j int) bool { return labelString(out.Items[i].Metric) < labelString(out.Items[j].Metric) })
	return &tool.Result{Data: out, Render: renderLoki}, nil
}

// entry is a line Loki returned with its masked text and its id.
type entry struct {
	loki.Entry
	line string // masked
	id   string
}

// masked masks each whole entry (a multi-line value is seen whole) before
// anything looks at it, and gives it an id that tells apart the lines of
// one timestamp from their masked text only: a hash of an unmasked line
// would let whoever reads it test guesses of the value masked in it.
func (s *Server) masked(c *tool.Call, es []loki.Entry) []entry {
	out := make([]entry, len(es))
	for i, e := range es {
		line := c.Mask(e.Line)
		h := sha256.Sum256([]byte(c.Mask(labelString(e.Labels)) + "\x00" + line))
		out[i] = entry{Entry: e, line: line, id: hex.EncodeToString(h[:8])}
	}
	return out
}

// sortEntries orders entries newest first (oldest first when forward),
// with a stable order among lines of one timestamp.
func sortEntries(es []entry, forward bool) {
	sort.SliceStable(es, func(i, j int) bool {
		a, b := es[i].Time, es[j].Time
		if !a.Equal(b) {
			return a.After(b) != forward
		}
		return es[i].id < es[j].id
	})
}

func labelString(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%q", k, m[k])
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

func (s *Server) cut(line string) (string, int) {
	if s.MaxLine <= 0 || len(line) <= s.MaxLine {
		return line, 0
	}
	end := s.MaxLine
	if i := strings.LastIndexAny(line[:end], " ,;\t"); i > end-256 && i > 0 {
		end = i
	}
	for end > 0 && line[end]&0xC0 == 0x80 {
		end--
	}
	return line[:end], len(line)
}

func renderLoki(d map[string]any) string {
	items, _ := d["items"].([]any)
	var b strings.Builder
	for _, it := range items {
		m, _ := it.(map[string]any)
		if metric, ok := m["metric"].(map[string]any); ok {
			b.WriteString(labelString(toStrings(metric)))
			vals, _ := m["values"].([]any)
			for _, v := range vals {
				p, _ := v.([]any)
				if len(p) == 2 {
					fmt.Fprintf(&b, "\n  %s %s", tool.Str(p[0]), tool.Str(p[1]))
				}
			}
			b.WriteByte('\n')
			continue
		}
		labels, _ := m["labels"].(map[string]any)
		fmt.Fprintf(&b, "%s %s %s", tool.Str(m["ts"]), labelString(toStrings(labels)), tool.Str(m["line"]))
		if n, ok := m["cut_from"].(float64); ok && n > 0 {
			fmt.Fprintf(&b, " …[line cut: %d bytes]", int(n))
		}
		b.WriteByte('\n')
	}
	return b.String()
}

func toStrings(m map[string]any) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = tool.Str(v)
	}
	return out
}

func lokiErr(what string, err error) error {
	var le *loki.Error
	if errors.As(err, &le) && le.Status == http.StatusBadRequest {
		return tool.Argf("Loki refused the %s: %s", what, le.Msg)
	}
	return fmt.Errorf("loki %s: %w", what, err)
}

// LabelsInput are logs_labels' arguments.
type LabelsInput struct {
	Query string `json:"query,omitempty" jsonschema:"only labels of the streams of this selector, e.g. {namespace=\"web\"}"`
	Window
}

// LabelValuesInput are logs_label_values' arguments.
type LabelValuesInput struct {
	Name  string `json:"name" jsonschema:"label name, e.g. app"`
	Query string `json:"query,omitempty" jsonschema:"only values in the streams of this selector"`
	Window
}

// ListOutput is a list of names or values.
type ListOutput struct {
	Items []string `json:"items"`
}

// scoped reads the optional (or, with need, required) selector and the
// time window that the listing tools share, and holds the selector to the
// caller's namespaces (a scope-only selector when none was given and the
// caller is restricted).
func (s *Server) scoped(c *tool.Call, query string, need bool, w Window) (string, *nsScope, time.Time, time.Time, error) {
	var zero time.Time
	if need && query == "" {
		return "", nil, zero, zero, tool.Argf("query is required: a stream selector such as {namespace=\"web\"}")
	}
	ns, err := namespaceScope(c)
	if err != nil {
		return "", nil, zero, zero, err
	}
	sel, err := s.selectorArg(c, ns, query)
	if err != nil {
		return "", nil, zero, zero, err
	}
	start, end, err := s.window(w, time.Hour)
	return ns.selector(sel), ns, start, end, err
}

func (s *Server) selectorArg(c *tool.Call, ns *nsScope, query string) (string, error) {
	if query == "" {
		return "", nil
	}
	q, err := logql.Check(query)
	if err != nil {
		return "", tool.Argf("%v", err)
	}
	if q.Metric || len(q.Selectors) != 1 || len(q.LineFilters) > 0 || len(q.LabelFilters) > 0 {
		return "", tool.Argf("query must be one stream selector, e.g. {namespace=\"web\"}")
	}
	if _, err := ns.narrow(c, query, q); err != nil {
		return "", err
	}
	return q.Selectors[0].String(), nil
}

func (s *Server) labels(ctx context.Context, c *tool.Call, in LabelsInput) (*tool.Result, error) {
	sel, _, start, end, err := s.scoped(c, in.Query, false, in.Window)
	if err != nil {
		return nil, err
	}
	names, err := s.Loki.Labels(ctx, start, end, sel)
	if err != nil {
		return nil, lokiErr("labels", err)
	}
	return &tool.Result{Data: ListOutput{Items: nonNil(names)}, Render: renderList}, nil
}

func (s *Server) labelValues(ctx context.Context, c *tool.Call, in LabelValuesInput) (*tool.Result, error) {
	if in.Name == "" {
		return nil, tool.Argf("name is required: a label name from logs_labels")
	}
	// The name goes into the request path: held to Loki's label name
	// rules before any request.
	if !logql.ValidLabel(in.Name) {
		return nil, tool.Argf("name %q is not a Loki label name (letters, digits and _, not starting with a digit); see logs_labels", in.Name)
	}
	sel, ns, start, end, err := s.scoped(c, in.Query, false, in.Window)
	if err != nil {
		return nil, err
	}
	vals, err := s.Loki.LabelValues(ctx, in.Name, start, end, sel)
	if err != nil {
		return nil, lokiErr("label values", err)
	}
	if in.Name == nsLabel {
		kept := vals[:0]
		for _, v := range vals {
			if ns.allows(c, v) {
				kept = append(kept, v)
			}
		}
		vals = kept
	}
	// A bare list has no key beside each value for the masker to see: mask
	// each as the assignment name=value it stands for.
	for i, v := range vals {
		if m := c.Mask(in.Name + "=" + v); strings.HasPrefix(m, in.Name+"=") {
			vals[i] = m[len(in.Name)+1:]
		} else {
			vals[i] = c.Mask(v)
		}
	}
	return &tool.Result{Data: ListOutput{Items: nonNil(vals)}, Render: renderList}, nil
}

// subset reports whether every name of a is in b.
func subset(a, b []string) bool {
	for _, x := range a {
		found := false
		for _, y := range b {
			found = found || x == y
		}
		if !found {
			return false
		}
	}
	return true
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func renderList(d map[string]any) string {
	items, _ := d["items"].([]any)
	var b strings.Builder
	for _, it := range items {
		b.WriteString(tool.Str(it) + "\n")
	}
	return b.String()
}

// SeriesInput are logs_series' arguments.
type SeriesInput struct {
	Query string `json:"query" jsonschema:"stream selector, e.g. {namespace=\"web\"}"`
	Window
}

// SeriesOutput is logs_series' structured result.
type SeriesOutput struct {
	Items []map[string]string `json:"items"`
}

func (s *Server) series(ctx context.Context, c *tool.Call, in SeriesInput) (*tool.Result, error) {
	sel, _, start, end, err := s.scoped(c, in.Query, true, in.Window)
	if err != nil {
		return nil, err
	}
	list, err := s.Loki.SeriesList(ctx, sel, start, end)
	if err != nil {
		return nil, lokiErr("series", err)
	}
	sort.Slice(list, func(i, j int) bool { return labelString(list[i]) < labelString(list[j]) })
	if list == nil {
		list = []map[string]string{}
	}
	return &tool.Result{Data: SeriesOutput{Items: list}, Render: func(d map[string]any) string {
		items, _ := d["items"].([]any)
		var b strings.Builder
		for _, it := range items {
			m, _ := it.(map[string]any)
			b.WriteString(labelString(toStrings(m)) + "\n")
		}
		return b.String()
	}}, nil
}

// StatsInput are logs_stats' arguments.
type StatsInput struct {
	Query string   `json:"query" jsonschema:"stream selector, e.g. {namespace=\"web\"} (a full LogQL query is accepted; its selectors are sized)"`
	By    []string `json:"by,omitempty" jsonschema:"group the volume by these labels (default: by stream)"`
	Top   int      `json:"top,omitempty" jsonschema:"how many of the largest streams or groups to list (default 20)"`
	Window
}

// Volume is bytes for one stream or group.
type Volume struct {
	Labels map[string]string `json:"labels"`
	Bytes  int64             `json:"bytes"`
}

// StatsOutput is logs_stats' structured result.
type StatsOutput struct {
	Start    string   `json:"start"`
	End      string   `json:"end"`
	Streams  int64    `json:"streams" jsonschema:"from the index (stored data; the ingesters' recent data is not counted)"`
	Chunks   int64    `json:"chunks" jsonschema:"from the index, as streams"`
	Entries  int64    `json:"entries" jsonschema:"from the index, as streams"`
	Bytes    int64    `json:"bytes" jsonschema:"bytes a query would scan, stored and recent (what logs_query's guard compares with cap_bytes)"`
	CapBytes int64    `json:"cap_bytes" jsonschema:"logs_query refuses queries that would scan more"`
	Allowed  bool     `json:"allowed" jsonschema:"whether logs_query would run over this range"`
	Items    []Volume `json:"items" jsonschema:"largest streams or groups by bytes"`
}

func (s *Server) stats(ctx context.Context, c *tool.Call, in StatsInput) (*tool.Result, error) {
	q, err := logql.Check(in.Query)
	if err != nil {
		return nil, tool.Argf("%v", err)
	}
	for _, l := range in.By {
		if !logql.ValidLabel(l) {
			return nil, tool.Argf("by: %q is not a Loki label name (letters, digits and _, not starting with a digit)", l)
		}
	}
	ns, err := namespaceScope(c)
	if err != nil {
		return nil, err
	}
	if _, err := ns.narrow(c, in.Query, q); err != nil {
		return nil, err
	}
	start, end, err := s.window(in.Window, time.Hour)
	if err != nil {
		return nil, err
	}
	out := StatsOutput{Start: rfc(start), End: rfc(end), CapBytes: s.MaxScanBytes, Items: []Volume{}}
	top := s.limit(in.Top, 20)
	for _, sel := range q.Selectors {
		st, err := s.Loki.Stats(ctx, sel.String(), start, end)
		if err != nil {
			return nil, lokiErr("index stats", err)
		}
		out.Streams += st.Streams
		out.Chunks += st.Chunks
		out.Entries += st.Entries
		// The same measure the guard applies (it includes the ingesters).
		n, err := s.volume(ctx, sel.String(), start, end)
		if err != nil {
			return nil, lokiErr("index volume", err)
		}
		out.Bytes += n
		vols, err := s.Loki.Volume(ctx, sel.String(), start, end, in.By, top)
		if err != nil {
			return nil, lokiErr("index volume", err)
		}
		for _, v := range vols {
			out.Items = append(out.Items, Volume{Labels: v.Labels, Bytes: v.Bytes})
		}
	}
	sort.SliceStable(out.Items, func(i, j int) bool { return out.Items[i].Bytes > out.Items[j].Bytes })
	if len(out.Items) > top {
		out.Items = out.Items[:top]
	}
	out.Allowed = s.MaxScanBytes <= 0 || out.Bytes <= s.MaxScanBytes
	return &tool.Result{Data: out, Render: func(d map[string]any) string {
		var b strings.Builder
		fmt.Fprintf(&b, "%s .. %s: %v streams, %v chunks, %v entries, %v bytes (cap %v; logs_query allowed: %v)\n",
			tool.Str(d["start"]), tool.Str(d["end"]), d["streams"], d["chunks"], d["entries"], d["bytes"], d["cap_bytes"], d["allowed"])
		items, _ := d["items"].([]any)
		for _, it := range items {
			m, _ := it.(map[string]any)
			labels, _ := m["labels"].(map[string]any)
			fmt.Fprintf(&b, "%12v  %s\n", m["bytes"], labelString(toStrings(labels)))
		}
		return b.String()
	}}, nil
}

// PatternsInput are logs_patterns' arguments.
type PatternsInput struct {
	Query string `json:"query" jsonschema:"stream selector, e.g. {app=\"api\"}"`
	Window
}

// PatternItem is one pattern.
type PatternItem struct {
	Pattern string `json:"pattern"`
	Count   int64  `json:"count"`
}

// PatternsOutput is logs_patterns' structured result.
type PatternsOutput struct {
	Items []PatternItem `json:"items"`
}

func (s *Server) patterns(ctx context.Context, c *tool.Call, in PatternsInput) (*tool.Result, error) {
	sel, _, start, end, err := s.scoped(c, in.Query, true, in.Window)
	if err != nil {
		return nil, err
	}
	pats, err := s.Loki.Patterns(ctx, sel, start, end)
	if err != nil {
		var le *loki.Error
		if errors.As(err, &le) && (le.Status == http.StatusNotFound || strings.Contains(le.Msg, "pattern")) {
			return nil, fmt.Errorf("this Loki does not serve patterns (its pattern ingester is off: pattern_ingester.enabled); use logs_query or logs_stats instead")
		}
		return nil, lokiErr("patterns", err)
	}
	out := PatternsOutput{Items: make([]PatternItem, 0, len(pats))}
	for _, p := range pats {
		out.Items = append(out.Items, PatternItem{Pattern: p.Pattern, Count: p.Count})
	}
	return &tool.Result{Data: out, Render: func(d map[string]any) string {
		items, _ := d["items"].([]any)
		var b strings.Builder
		for _, it := range items {
			m, _ := it.(map[string]any)
			fmt.Fprintf(&b, "%8v  %s\n", m["count"], tool.Str(m["pattern"]))
		}
		return b.String()
	}}, nil
}
