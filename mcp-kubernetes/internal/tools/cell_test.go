package tools

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestIntegerCellsPrintAsIntegers: k8s_get printed a priority class's
// value 2000001000 as 2.000001e+09 (a JSON number decodes as float64).
func TestIntegerCellsPrintAsIntegers(t *testing.T) {
	for v, want := range map[float64]string{2000000000: "2000000000", 2000001000: "2000001000", -5: "-5", 0: "0", 1.5: "1.5", 1e21: "1000000000000000000000"} {
		assert.Equal(t, want, cell(v), "%v", v)
	}
}
