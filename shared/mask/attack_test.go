package mask

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// linearShapes are lines that once made masking superlinear: a unit
// repeated to fill a 64 KiB line. "password:password:…" gave every key
// a value running to the end of the line, and the repeat search compared
// each of them at each of their positions (cubic: 57 s at 64 KiB).
var linearShapes = []string{
	"password:", "authorization:", "cookie: ", "password: \"", "a=", "token ",
	"password: Qz1x%05d\n", "pass=%040d ", "[MASKED:x:01234567] password: x%06d ",
	"x-api-key: ", "secret_id=", "password%%3D", " --password ", "-----BEGIN RSA PRIVATE KEY-----\n",
	"http://aaaaaaaaaaaaaaaaaaaaaaaaaaaaa1", "name: password\n", "variable \"x\" { sensitive = true\n",
	"password: aaaaaaaa%d\n", "password: \"ab\\\"", "<password>", "password => '", "ALTER USER x WITH PASSWORD '",
}

// TestTextIsLinearOnHostileLines bounds each shape at 64 KiB by a time a
// linear masker meets many times over (tens of milliseconds, even under
// -race on a loaded machine), and a quadratic one misses by far.
func TestTextIsLinearOnHostileLines(t *testing.T) {
	m := New(testKey)
	for _, unit := range linearShapes {
		s := fill(unit, 64<<10)
		start := time.Now()
		m.Text(s)
		d := time.Since(start)
		assert.Less(t, d, 5*time.Second, "%q ×%d took %v", unit, len(s)/len(unit), d)
	}
}

func fill(unit string, size int) string {
	var sb strings.Builder
	for i := 0; sb.Len() < size; i++ {
		if strings.Contains(unit, "%") {
			fmt.Fprintf(&sb, unit, i)
		} else {
			sb.WriteString(unit)
		}
	}
	return sb.String()
}

// TestStructuredKeyValuePairs: a value is secret because of a sibling
// that names it, whatever the pair's field names ({key, value} as Helm,
// Consul and many APIs write it; {Name, Value} as Go marshals it), and a
// map key that itself carries a secret is masked like a value, without
// the placeholder's kind repeating it.
func TestStructuredKeyValuePairs(t *testing.T) {
	m := New(testKey)
	const s = "Qx7structSecret9"
	for _, in := range []any{
		map[string]any{"key": "password", "value": s},
		map[string]any{"Key": "DB_PASSWORD", "Value": s},
		map[string]any{"Name": "API_TOKEN", "Value": s},
		map[string]any{"name": "SMTP_PASSWORD", "value": s, "valueFrom": nil},
		map[string]any{"labels": map[string]any{"Authorization: Bearer " + s: "1"}},
		map[string]any{"password=" + s: "x"},
		map[string]any{"fields": map[string]any{"postgres://app:" + s + "@db/x": true}},
	} {
		out, n := m.Value(in)
		raw, _ := json.Marshal(out)
		assert.NotContains(t, string(raw), s, "%v", in)
		assert.NotContains(t, strings.ToLower(string(raw)), strings.ToLower(s[3:11]), "a part of it in a placeholder's kind: %s", raw)
		assert.GreaterOrEqual(t, n, 1)
	}
	// Pairs that are not secret stay readable.
	out, n := m.Value(map[string]any{"key": "region", "value": "eu-west-1", "labels": map[string]any{"app.kubernetes.io/name": "web"}})
	assert.Zero(t, n)
	raw, _ := json.Marshal(out)
	assert.Contains(t, string(raw), "eu-west-1")
	assert.Contains(t, string(raw), "app.kubernetes.io/name")
}
