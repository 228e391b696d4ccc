package parse

import (
	"context"
	"encoding/pem"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
)

// fuzzDeadline is the per-file time limit of every fuzz target: a parse
// past it is the bug issue 23 was about.
const fuzzDeadline = 10 * time.Second

// parseWithin runs a parser in a goroutine (a panic there crashes the
// fuzz run: no recover hides it) and fails if it takes too long.
func parseWithin(t *testing.T, f func() ([]Section, error)) ([]Section, error) {
	t.Helper()
	type result struct {
		s   []Section
		err error
	}
	done := make(chan result, 1)
	go func() {
		s, err := f()
		done <- result{s, err}
	}()
	select {
	case r := <-done:
		return r.s, r.err
	case <-time.After(fuzzDeadline):
		t.Fatalf("parse did not return within %s", fuzzDeadline)
		return nil, nil
	}
}

// checkSections holds for every kind but PDF and pipelines: sections are
// trimmed, non-empty, on no page, and each is text of the input (so the
// output never outgrows it).
func checkSections(t *testing.T, src []byte, s []Section) {
	t.Helper()
	total := 0
	for i, x := range s {
		if x.Text == "" || strings.TrimSpace(x.Text) != x.Text {
			t.Fatalf("section %d is blank or untrimmed: %q", i, x.Text)
		}
		if x.Page != 0 {
			t.Fatalf("section %d has page %d outside a PDF", i, x.Page)
		}
		if !strings.Contains(string(src), x.Text) {
			t.Fatalf("section %d is not text of the input: %q", i, x.Text)
		}
		total += len(x.Text)
	}
	if total > len(src) {
		t.Fatalf("sections hold %d bytes of a %d-byte input", total, len(src))
	}
}

func FuzzMarkdown(f *testing.F) {
	f.Add([]byte("Intro.\n\n# Failover\n\n## Steps\n\n```sh\n# not a heading\n```\n\nRollback\n--------\n\nback\n"))
	f.Add([]byte("#\n##\n###### x\n####### too deep\nSetext\n===\n> # quoted\n- # listed\n"))
	f.Add([]byte("# A\r\n\r\nB\r\n====\r\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		s, _ := parseWithin(t, func() ([]Section, error) { return markdown(src), nil })
		checkSections(t, src, s)
	})
}

func FuzzAsciiDoc(f *testing.F) {
	f.Add([]byte("= ADR 7: Mesh\n\nStatus.\n\n== Context\n\n----\n== not a title\n----\n\n=== Options\n"))
	f.Add([]byte("====== six\n======= seven\n# hash title\n....\n= in literal\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		s, _ := parseWithin(t, func() ([]Section, error) { return asciidoc(src), nil })
		checkSections(t, src, s)
		for _, x := range s {
			if len(x.Heading) > 6 {
				t.Fatalf("heading path deeper than six levels: %q", x.Heading)
			}
		}
	})
}

func FuzzTerraform(f *testing.F) {
	f.Add([]byte("variable \"region\" {\n  default = \"eu\"\n}\n\nresource \"google_compute_instance\" \"a\" {\n  name = \"x\"\n}\n"))
	f.Add([]byte("resource {{{"))
	f.Add([]byte("a = 1\nb = \"${var.x}\"\nlocals { c = [for x in y : x] }\n"))
	f.Add([]byte("x = <<EOT\nheredoc\nEOT\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		s, err := parseWithin(t, func() ([]Section, error) { return terraform("main.tf", src) })
		if err != nil {
			t.Fatalf("terraform returns text, not an error: %v", err)
		}
		checkSections(t, src, s)
	})
}

func FuzzManifests(f *testing.F) {
	f.Add([]byte("apiVersion: v1\nkind: Service\nmetadata:\n  name: api\n  namespace: web\n---\nkind: Deployment\nmetadata:\n  name: api\n---\nfoo: [unclosed\n"))
	f.Add([]byte("a: &a [*a]\n---\nb: &b {x: *b}\n"))
	f.Add([]byte("--- \n---\n---x\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		s, _ := parseWithin(t, func() ([]Section, error) { return manifests(src), nil })
		checkSections(t, src, s)
	})
}

func FuzzHelm(f *testing.F) {
	f.Add(uint8(0), []byte("apiVersion: v2\nname: api\nversion: 1.0.0\n"))
	f.Add(uint8(1), []byte("# how many\nreplicas: 2\nimage:\n  tag: 1.2.3\n"))
	f.Add(uint8(2), []byte("kind: Deployment\nmetadata:\n  name: {{ include \"x\" . }}\n---\nkind: Service\n"))
	f.Fuzz(func(t *testing.T, which uint8, src []byte) {
		name := []string{"charts/api/Chart.yaml", "charts/api/values.yaml", "charts/api/templates/deploy.yaml"}[which%3]
		s, _ := parseWithin(t, func() ([]Section, error) { return helm(name, src), nil })
		checkSections(t, src, s)
	})
}

func FuzzPipeline(f *testing.F) {
	f.Add(uint8(0), []byte("name: ci\non: [push]\njobs:\n  test:\n    steps:\n      - run: make test\n"))
	f.Add(uint8(1), []byte("stages: [build]\nbuild:\n  script: [make]\n"))
	f.Add(uint8(2), []byte("steps:\n  build:\n    image: golang\n"))
	f.Add(uint8(0), []byte("a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\njobs:\n  d: [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"))
	f.Fuzz(func(t *testing.T, which uint8, src []byte) {
		name := []string{".gitea/workflows/ci.yml", ".gitlab-ci.yml", ".woodpecker.yml"}[which%3]
		s, _ := parseWithin(t, func() ([]Section, error) { return pipeline(name, src), nil })
		total := 0
		for _, x := range s {
			if x.Text == "" || x.Page != 0 {
				t.Fatalf("blank section or a page: %+v", x)
			}
			total += len(x.Text)
		}
		// Jobs are cut from the text, each line once: alias expansion
		// cannot make a small file huge (fuzzing found 97 bytes of
		// anchors rendered as 5661 when jobs were re-marshalled).
		if total > len(src) {
			t.Fatalf("%d bytes of sections from %d bytes of YAML", total, len(src))
		}
	})
}

// FuzzPDF runs the PDF reader as the indexer does: in a parse worker
// under its deadline (a loop inside the reader, which no page-tree check
// can see, is killed there), seeded with the files that looped for ever
// (issue 23). The worker must answer within its deadline, and what it
// returns must be pages in order, within the page cap.
func FuzzPDF(f *testing.F) {
	for _, data := range loopingPDFs {
		f.Add(data)
	}
	f.Add(objStmLoopPDF())
	f.Add([]byte("%PDF-1.4 not really"))
	var once sync.Once
	var w *Worker
	f.Fuzz(func(t *testing.T, data []byte) {
		once.Do(func() {
			w = &Worker{Path: os.Args[0], Env: []string{"OPSMCP_PARSE_WORKER=268435456", "GOMAXPROCS=1"},
				Limits: Limits{Timeout: 3 * time.Second, MemoryBytes: 256 << 20}}
		})
		s, err := parseWithin(t, func() ([]Section, error) { return w.Parse(context.Background(), PDF, "x.pdf", data) })
		if err != nil {
			return
		}
		if len(s) > MaxPDFPages {
			t.Fatalf("%d pages, over the cap", len(s))
		}
		last := 0
		for _, x := range s {
			if x.Page <= last || x.Text == "" {
				t.Fatalf("pages out of order or blank: %d after %d", x.Page, last)
			}
			last = x.Page
		}
	})
}

// FuzzMaskSections: a private key that a parser's sections split
// anywhere at line ends (pages, headings) is masked whole: no line of it
// survives, whatever text is around it.
func FuzzMaskSections(f *testing.F) {
	f.Add("intro\nline", "outro", uint8(3), uint8(7))
	f.Add("", "\x00\n1\x00\n", uint8(0), uint8(0))
	f.Add("-----BEGIN RSA PRIVATE KEY-----", "-----END RSA PRIVATE KEY-----", uint8(40), uint8(200))
	key := string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: []byte(strings.Repeat("planted-key-material-", 40))}))
	lines := strings.Split(strings.TrimSpace(key), "\n")
	body := lines[1 : len(lines)-1]
	mask := func(s string) string {
		// The masker's private-key rule, in short: BEGIN to the first
		// END, or to the end of the text.
		for {
			i := strings.Index(s, "-----BEGIN RSA PRIVATE KEY-----")
			if i < 0 {
				return s
			}
			j := strings.Index(s[i:], "-----END RSA PRIVATE KEY-----")
			end := len(s)
			if j >= 0 {
				end = i + j + len("-----END RSA PRIVATE KEY-----")
			}
			s = s[:i] + "[MASKED:private-key:0]" + s[end:]
		}
	}
	f.Fuzz(func(t *testing.T, before, after string, cut1, cut2 uint8) {
		if !utf8.ValidString(before + after) {
			return
		}
		// The key starts in section 1 and ends in section 2 or 3.
		i := int(cut1) % len(lines)
		j := i + int(cut2)%(len(lines)-i)
		k1 := strings.Join(lines[:i+1], "\n")
		k2 := strings.Join(lines[i+1:j+1], "\n")
		k3 := strings.Join(lines[j+1:], "\n")
		secs := []Section{{Text: before + "\n" + k1, Heading: []string{"one"}}, {Text: k2, Heading: []string{"two"}}, {Text: k3 + "\n" + after, Heading: []string{"three"}}}
		out := MaskSections(secs, mask)
		var all strings.Builder
		for _, s := range out {
			all.WriteString(s.Text + "\n")
			if len(s.Heading) != 1 {
				t.Fatalf("heading %q is not one of the sections'", s.Heading)
			}
		}
		for _, l := range body {
			if strings.Contains(all.String(), l) {
				t.Fatalf("a line of the key survived: %q", l)
			}
		}
		if !strings.Contains(all.String(), "[MASKED:private-key:0]") {
			t.Fatal("the key is not masked")
		}
	})
}
