package tool_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/opsmcp/opsmcp/shared/tool"
)

func TestStrAndDate(t *testing.T) {
	assert.Equal(t, "", tool.Str(nil), "a missing field renders empty, not <nil>")
	assert.Equal(t, "3", tool.Str(float64(3)))
	assert.Equal(t, "web", tool.Str("web"))
	assert.Equal(t, "", tool.Date(time.Time{}), "no zero date 0001-01-01")
	at := time.Date(2026, 3, 1, 12, 30, 0, 0, time.FixedZone("CET", 3600))
	assert.Equal(t, "2026-03-01T11:30:00Z", tool.Date(at))
}
