package mask

import (
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
