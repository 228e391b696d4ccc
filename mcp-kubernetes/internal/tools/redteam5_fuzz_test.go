package tools

import (
	"testing"
)

// FuzzOutputChecks: any Go template, JSONPath or sort path the caller
// gives is judged without a panic (a Go template that parses and is
// accepted is one kubectl could run; nothing here runs it).
func FuzzOutputChecks(f *testing.F) {
	for _, s := range []string{
		`{{range .items}}{{.metadata.name}}{{end}}`, `{{printf}}`, `{{"x" | printf}}`, `{{$a := js "\\"}}{{$a := js $a}}`,
		`{{with $x := .a}}{{range .b}}{{print $x}}{{end}}{{end}}`, `{{define "a"}}{{end}}`, `{{range 5}}{{end}}`,
		`{.items[*]['a','b']}`, `{..a..b}`, `{range .items[*]}{.x}{end}`, `.metadata.name`, `{.a[?(@.b=="c")]}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_ = checkGoTemplate(s)
		_ = checkJSONPath(s, false)
		_ = checkJSONPath(s, true)
	})
}
