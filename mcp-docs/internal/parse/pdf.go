package parse

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/ledongthuc/pdf"
)

// pdfPages extracts each page's text in reading order (pure Go), one
// section per page, numbered from 1; a page whose first line reads like a
// title ("3. Failover", "ROLLBACK") gets it as its heading.
func pdfPages(data []byte) (sections []Section, err error) {
	// The PDF reader panics on some malformed files; a bad PDF is an
	// error for that file, not a crash of the indexer.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("pdf: malformed file: %v", r)
		}
	}()
	r, err := pdf.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, fmt.Errorf("pdf: %w", err)
	}
	for i := 1; i <= r.NumPage(); i++ {
		p := r.Page(i)
		if p.V.IsNull() {
			continue
		}
		txt, err := p.GetPlainText(nil)
		if err != nil {
			return nil, fmt.Errorf("pdf page %d: %w", i, err)
		}
		var lines []string
		for _, l := range strings.Split(txt, "\n") {
			if l = strings.TrimSpace(l); l != "" {
				lines = append(lines, l)
			}
		}
		var heading []string
		if len(lines) > 1 && looksLikeTitle(lines[0]) {
			heading = []string{lines[0]}
		}
		sections = appendSection(sections, heading, i, strings.Join(lines, "\n"))
	}
	return sections, nil
}

func looksLikeTitle(l string) bool {
	if len(l) > 80 || strings.HasSuffix(l, ".") || strings.HasSuffix(l, ",") {
		return false
	}
	words := strings.Fields(l)
	return len(words) > 0 && len(words) <= 10
}
