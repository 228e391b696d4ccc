package parse

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"

	"github.com/ledongthuc/pdf"
)

// Bounds of a PDF's page tree. The reader follows /Kids and /Parent with
// no cycle check and trusts /Count, so the tree is walked here, by these
// bounds, before any page is read.
const (
	// MaxPDFPages caps the pages read from one file.
	MaxPDFPages = 10000
	// maxPDFDepth caps the nesting of Pages nodes (real files nest a few
	// levels; the spec has no limit, a stack does).
	maxPDFDepth = 64
	// maxPDFNodes caps the nodes visited in the tree walk.
	maxPDFNodes = 4 * MaxPDFPages
)

// pdfPages extracts each page's text in reading order (pure Go), one
// section per page, numbered from 1. Headings are not set here: a page's
// title is taken from its masked text (PDFTitles), so a line of a secret
// can never become a heading.
func pdfPages(data []byte) (sections []Section, err error) {
	// The PDF reader panics on some malformed files; a bad PDF is an
	// error for that file, not a crash of the indexer.
	defer func() {
		if r := recover(); r != nil {
			sections, err = nil, fmt.Errorf("pdf: malformed file: %v", r)
		}
	}()
	r, err := pdf.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, fmt.Errorf("pdf: %w", err)
	}
	pages, err := pageList(r)
	if err != nil {
		return nil, err
	}
	for i, pv := range pages {
		if err := parentChainOK(pv); err != nil {
			return nil, fmt.Errorf("pdf page %d: %w", i+1, err)
		}
		txt, err := pdf.Page{V: pv}.GetPlainText(nil)
		if err != nil {
			return nil, fmt.Errorf("pdf page %d: %w", i+1, err)
		}
		var lines []string
		for _, l := range strings.Split(txt, "\n") {
			if l = strings.TrimSpace(l); l != "" {
				lines = append(lines, l)
			}
		}
		sections = appendSection(sections, nil, i+1, strings.Join(lines, "\n"))
	}
	return sections, nil
}

// objID names the indirect object a Value was read from. The reader keeps
// it unexported; without it (a reader version that renamed the field)
// the walk still ends by its depth and node bounds. ok is false then.
func objID(v pdf.Value) (id uint64, ok bool) {
	f := reflect.ValueOf(v).FieldByName("ptr")
	if !f.IsValid() || f.Kind() != reflect.Struct {
		return 0, false
	}
	idf, genf := f.FieldByName("id"), f.FieldByName("gen")
	if !idf.IsValid() || !genf.IsValid() || !idf.CanUint() || !genf.CanUint() {
		return 0, false
	}
	return idf.Uint()<<16 | genf.Uint(), true
}

// pageList walks the page tree depth first, in document order, and
// returns its Page leaves. A node seen twice (a cycle, or a kid shared by
// two parents), nesting past maxPDFDepth, more than MaxPDFPages pages or
// a /Count beyond it make the file an error: such a tree is not a
// document, and guessing around it is how readers loop.
func pageList(r *pdf.Reader) ([]pdf.Value, error) {
	root := r.Trailer().Key("Root").Key("Pages")
	if c := root.Key("Count").Int64(); c > MaxPDFPages || c < 0 {
		return nil, fmt.Errorf("pdf: /Count %d is beyond the %d pages a file may have", c, MaxPDFPages)
	}
	seen := map[uint64]bool{}
	var pages []pdf.Value
	nodes := 0
	var walk func(v pdf.Value, depth int) error
	walk = func(v pdf.Value, depth int) error {
		if nodes++; nodes > maxPDFNodes {
			return fmt.Errorf("pdf: page tree has more than %d nodes", maxPDFNodes)
		}
		if depth > maxPDFDepth {
			return fmt.Errorf("pdf: page tree nested deeper than %d levels", maxPDFDepth)
		}
		if id, ok := objID(v); ok {
			if seen[id] {
				return fmt.Errorf("pdf: page tree loops (object %d reached twice)", id>>16)
			}
			seen[id] = true
		}
		switch v.Key("Type").Name() {
		case "Pages":
			kids := v.Key("Kids")
			for i := 0; i < kids.Len(); i++ {
				if err := walk(kids.Index(i), depth+1); err != nil {
					return err
				}
			}
		case "Page":
			if len(pages) >= MaxPDFPages {
				return fmt.Errorf("pdf: more than %d pages", MaxPDFPages)
			}
			pages = append(pages, v)
		}
		return nil
	}
	if err := walk(root, 0); err != nil {
		return nil, err
	}
	return pages, nil
}

// parentChainOK checks the /Parent chain the reader climbs to find a
// page's resources: it must end, without a cycle, within maxPDFDepth.
func parentChainOK(v pdf.Value) error {
	seen := map[uint64]bool{}
	for depth := 0; !v.IsNull(); depth++ {
		if depth > maxPDFDepth+1 {
			return fmt.Errorf("/Parent chain longer than %d", maxPDFDepth)
		}
		if id, ok := objID(v); ok {
			if seen[id] {
				return fmt.Errorf("/Parent chain loops (object %d reached twice)", id>>16)
			}
			seen[id] = true
		}
		v = v.Key("Parent")
	}
	return nil
}

// PDFTitles gives each PDF page whose first line reads like a title
// ("3. Failover", "ROLLBACK") that line as its heading. It runs on masked
// text, after MaskSections.
func PDFTitles(sections []Section) {
	for i := range sections {
		lines := strings.Split(sections[i].Text, "\n")
		if len(sections[i].Heading) == 0 && len(lines) > 1 && looksLikeTitle(lines[0]) {
			sections[i].Heading = []string{lines[0]}
		}
	}
}

func looksLikeTitle(l string) bool {
	if len(l) > 80 || strings.HasSuffix(l, ".") || strings.HasSuffix(l, ",") {
		return false
	}
	words := strings.Fields(l)
	return len(words) > 0 && len(words) <= 10
}
