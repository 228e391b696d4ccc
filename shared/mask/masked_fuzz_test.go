package mask

import (
	"strings"
	"testing"
)

// maskedSeeds are texts whose secrets a line alone shows differently
// than the whole text does: multi-line keys and YAML blocks, a value
// repeated on another line, a key on one line and its value on the next,
// Secret manifests, placeholders beside the rest of a value.
var maskedSeeds = []string{
	"-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAx9Qw3Er5Ty7Zx9Qw3Er5Ty7\nZx9Qw3Er5Ty7Zx9Qw3Er5Ty7==\n-----END RSA PRIVATE KEY-----",
	"db:\n  password: |\n    l1nesecretvalue\n    second line\n",
	"token: Zx9Qw3Er5Ty7Ux1\ndo not paste Zx9Qw3Er5Ty7Ux1 anywhere",
	"apiVersion: v1\nkind: Secret\nstringData:\n  conf: hunter2hunter2\n",
	"- name: SMTP_PASSWORD\n  value: s3cr3t-value\n",
	"password: [MASKED:x:01234567]tail\nnext",
	"variable \"db_password\" {\n  default = \"hunter2hunter2\"\n}\n",
	"Authorization: Bearer abc.def.ghi123\nGET /x HTTP/1.1",
	"10.0.1.2 - - \"GET /api/v1/orders/7 HTTP/1.1\" 200 rt=0.01 trace_id=0000000000000000000000000000abcd",
	"-----END PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n",
	"a=b\nc\r\nd: e\n\nx",
}

// FuzzLinesOfMaskedText holds the masker to what AnyMasked relies on: a
// line of a masked text that holds no placeholder (a line in which
// nothing was found with the whole text around it) masks to itself
// alone, so a handler that masked a whole text and returns its lines
// leaves the binder nothing to mask in them again.
func FuzzLinesOfMaskedText(f *testing.F) {
	for _, s := range maskedSeeds {
		f.Add(s)
	}
	m := New([]byte("fuzz"))
	f.Fuzz(func(t *testing.T, s string) {
		out, _ := m.Text(s)
		for _, line := range strings.Split(out, "\n") {
			if strings.Contains(line, Prefix) {
				continue
			}
			if alone, n := m.Text(line); alone != line {
				t.Fatalf("line %q of masked %q masks to %q alone (%d more)", line, s, alone, n)
			}
		}
	})
}

// TestAnyMaskedIsAny shows AnyMasked gives what Any gives when the strings
// it is told are masked are lines of masked text without placeholders,
// and still masks a string it is not told about.
func TestAnyMaskedIsAny(t *testing.T) {
	m := New([]byte("k"))
	text := strings.Join(maskedSeeds, "\n")
	masked, _ := m.Text(text)
	lines := strings.Split(masked, "\n")
	known := map[string]bool{}
	for _, l := range lines {
		known[l] = !strings.Contains(l, Prefix)
	}
	type item struct {
		Text string `json:"text"`
	}
	var items []item
	for _, l := range lines {
		items = append(items, item{l})
	}
	items = append(items, item{"password: hunter2hunter2"}, item{"export API_KEY=Zx9Qw3Er5Ty7Ux1Zx9Qw3Er5Ty7Ux1aQ"})
	want, wn, err := m.Any(map[string]any{"items": items})
	if err != nil {
		t.Fatal(err)
	}
	got, gn, err := m.AnyMasked(map[string]any{"items": items}, func(s string) bool { return known[s] })
	if err != nil {
		t.Fatal(err)
	}
	ws, _ := roundTrip(want)
	gs, _ := roundTrip(got)
	if a, b := strings.Join(flat(ws), "\n"), strings.Join(flat(gs), "\n"); a != b || wn != gn {
		t.Fatalf("AnyMasked differs from Any (%d vs %d masked):\n%s\n---\n%s", gn, wn, b, a)
	}
	for _, s := range flat(gs) {
		if strings.Contains(s, "hunter2hunter2") || strings.Contains(s, "Zx9Qw3Er5Ty7Ux1Zx9Qw3Er5Ty7Ux1aQ") {
			t.Fatalf("a string not known as masked was not masked: %q", s)
		}
	}
}

// flat lists every string in a decoded JSON value, in order.
func flat(v any) []string {
	switch t := v.(type) {
	case map[string]any:
		var out []string
		for _, k := range []string{"items", "text"} {
			out = append(out, flat(t[k])...)
		}
		return out
	case []any:
		var out []string
		for _, e := range t {
			out = append(out, flat(e)...)
		}
		return out
	case string:
		return []string{t}
	}
	return nil
}
