// Package tools declares mcp-logs' tools: one table, each entry a name, a
// description, schemas derived from its input and output types, and a
// handler that parses input, asks Loki or reads the files, shapes output.
package tools

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/opsmcp/opsmcp/mcp-logs/internal/logfile"
	"github.com/opsmcp/opsmcp/mcp-logs/internal/loki"
	"github.com/opsmcp/opsmcp/shared/tool"
)

// Server holds what the handlers need.
type Server struct {
	Loki  *loki.Client
	Roots *logfile.Roots
	// MaxRange caps a query's time range (and a metric query's range
	// vectors); MaxScanBytes caps what Loki's index says a query reads.
	MaxRange     time.Duration
	MaxScanBytes int64
	// MaxLine cuts longer lines; MaxLimit caps the lines of one call.
	MaxLine  int
	MaxLimit int
	// Now is the clock (tests pin it).
	Now func() time.Time
}

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Tools is the table of mcp-logs' tools.
func (s *Server) Tools() []tool.Tool {
	return []tool.Tool{
		tool.New[QueryInput, QueryOutput]("logs_query", "Query Loki with LogQL",
			`Runs a LogQL query on Loki. A log query ({app="api"} |= "error" | json) returns lines newest first with timestamp and stream labels; a metric query (sum by (app) (rate({app="api"}[5m]))) returns series, over a range or, with instant, at one time. The stream selector needs at least one label = "value" matcher; the range is capped, and a query whose index stats exceed the scan cap is refused with the numbers so it can be narrowed. Use logs_labels and logs_label_values to find streams. Secrets in lines are masked, and filters only ever see masked text: Loki filters unmasked lines, so allowed stages are only line filters (|= and |~, kept when they match the masked line away from masked values; != and !~, applied here to the masked lines), | json and | logfmt without parameters, and label filters with = =~ > >= < <= == (a line whose compared label is masked is dropped). Stages that rewrite lines or labels (line_format, label_format, unpack, regexp, pattern, unwrap, parser parameters, label_replace), negative label filters, and any filter in a metric query are refused with the reason. A role limited to some namespaces has every stream selector narrowed to them (namespace=~"..."), and a selector naming another namespace is refused.`,
			s.query),
		tool.New[LabelsInput, ListOutput]("logs_labels", "List Loki label names",
			"Label names seen in a time range (default the last hour), optionally only in the streams of a selector; within the caller's namespaces.",
			s.labels),
		tool.New[LabelValuesInput, ListOutput]("logs_label_values", "List values of a Loki label",
			"Values of one label in a time range (default the last hour), optionally only in the streams of a selector; within the caller's namespaces (namespace values outside them are left out).",
			s.labelValues),
		tool.New[SeriesInput, SeriesOutput]("logs_series", "List Loki streams",
			"The streams (label sets) a selector matches in a time range.",
			s.series),
		tool.New[StatsInput, StatsOutput]("logs_stats", "Size a Loki query before running it",
			"What Loki's index says a selector covers in a time range (streams, chunks, entries, bytes), whether logs_query would accept it, and the largest streams by volume, optionally grouped by labels.",
			s.stats),
		tool.New[PatternsInput, PatternsOutput]("logs_patterns", "Show Loki log patterns",
			"The log line patterns Loki's pattern ingester detected for a selector, most frequent first; a quick summary of what a noisy stream says. Needs the pattern ingester enabled on Loki.",
			s.patterns),
		tool.ClosedWorld(tool.New[FilesInput, FilesOutput]("logs_files", "List log files",
			"Log files under the server's roots (--files-root): path, size, modification time, gzip, and the time span their lines cover; newest first. A path glob matches the path relative to its root or the base name.",
			s.files)),
		tool.ClosedWorld(tool.New[SearchInput, LinesOutput]("logs_search", "Search log files",
			"Searches log files under the roots with an RE2 pattern (plain, rotated and gzip files), newest lines first unless order is oldest, with an optional path glob, time window, minimum level and JSON field filters. Each line comes with file, line number, time and level. Secrets are masked, and the filters only ever see masked text: each log entry (a line with its continuation lines, a PEM block whole) is masked before the pattern, fields or level look at it, so a match never depends on a hidden value.",
			s.search)),
		tool.ClosedWorld(tool.New[TailInput, LinesOutput]("logs_tail", "Tail a log file",
			"The last lines of one log file under the roots, newest first, with line numbers; continue with the cursor for earlier lines. Each log entry is masked whole, so a page never shows part of a masked value.",
			s.tail)),
	}
}

// Window is a time range argument set shared by the tools.
type Window struct {
	Since string `json:"since,omitempty" jsonschema:"how far back from now, e.g. 15m, 2h, 1d (default 1h; ignored when start is given)"`
	Start string `json:"start,omitempty" jsonschema:"range start: RFC 3339 time (2026-03-01T10:00:00Z) or Unix seconds"`
	End   string `json:"end,omitempty" jsonschema:"range end (default now): RFC 3339 time or Unix seconds"`
}

// window resolves a Window against now, checking Loki's range cap.
func (s *Server) window(w Window, def time.Duration) (time.Time, time.Time, error) {
	start, end, err := resolveWindow(w, def, s.now())
	if err == nil && s.MaxRange > 0 && end.Sub(start) > s.MaxRange {
		err = tool.Argf("the time range %s is over this server's cap of %s; narrow since or start/end", human(end.Sub(start)), human(s.MaxRange))
	}
	return start, end, err
}

// resolveWindow reads since or start/end, with def back from end when
// neither is given.
func resolveWindow(w Window, def time.Duration, now time.Time) (time.Time, time.Time, error) {
	end := now
	if w.End != "" {
		t, err := parseTime(w.End)
		if err != nil {
			return time.Time{}, time.Time{}, tool.Argf("end: %v", err)
		}
		end = t
	}
	start := end.Add(-def)
	switch {
	case w.Start != "":
		t, err := parseTime(w.Start)
		if err != nil {
			return time.Time{}, time.Time{}, tool.Argf("start: %v", err)
		}
		start = t
	case w.Since != "":
		d, err := parseDuration(w.Since)
		if err != nil {
			return time.Time{}, time.Time{}, tool.Argf("since: %v", err)
		}
		start = end.Add(-d)
	}
	if !start.Before(end) {
		return time.Time{}, time.Time{}, tool.Argf("start (%s) must be before end (%s)", start.Format(time.RFC3339), end.Format(time.RFC3339))
	}
	return start, end, nil
}

func parseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	// Within ±1e11 seconds (about 3000 years): a float outside int64 (or
	// NaN) would convert to an arbitrary time.
	if f, err := strconv.ParseFloat(s, 64); err == nil && f > -1e11 && f < 1e11 {
		sec := int64(f)
		return time.Unix(sec, int64((f-float64(sec))*1e9)).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("%q is not a time; use RFC 3339 (2026-03-01T10:00:00Z) or Unix seconds", s)
}

func parseDuration(s string) (time.Duration, error) {
	if strings.HasSuffix(s, "d") {
		n, err := strconv.Atoi(strings.TrimSuffix(s, "d"))
		if err == nil && n > 0 && n <= 100000 { // more would wrap negative
			return time.Duration(n) * 24 * time.Hour, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%q is not a positive duration; use e.g. 30s, 15m, 2h or 1d", s)
	}
	return d, nil
}

func human(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	return strings.TrimSuffix(strings.TrimSuffix(d.String(), "0s"), "0m")
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

func (s *Server) limit(n, def int) int {
	if n <= 0 {
		n = def
	}
	if s.MaxLimit > 0 && n > s.MaxLimit {
		n = s.MaxLimit
	}
	return n
}

func rfc(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}
