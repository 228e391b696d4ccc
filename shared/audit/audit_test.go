package audit

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// upper is a stand-in masker: it hides the word "hunter2".
type upper struct{}

func (upper) Text(s string) (string, int) {
	n := strings.Count(s, "hunter2")
	return strings.ReplaceAll(s, "hunter2", "[MASKED:password:00000000]"), n
}

func (u upper) JSON(raw []byte) ([]byte, int) {
	s, n := u.Text(string(raw))
	return []byte(s), n
}

func TestBuildMasksAndKeys(t *testing.T) {
	start := time.Date(2026, 11, 28, 10, 0, 0, 0, time.FixedZone("x", 3600))
	c := Call{Server: "s", Tool: "t", User: "alice", Via: "orch", RequestID: "4bf9", Start: start, Duration: 1500 * time.Microsecond,
		Args: json.RawMessage(`{"q":"password hunter2"}`), ArgsKey: []byte("k1"), Err: "upstream said hunter2", Bytes: 10, Masked: 1}
	r := Build(upper{}, c)
	assert.NotContains(t, string(r.Args), "hunter2")
	assert.NotContains(t, r.Error, "hunter2")
	assert.Equal(t, Error, r.Outcome, "an error sets the outcome")
	assert.Equal(t, 3, r.Masked, "result, arguments and error")
	assert.Equal(t, start.UTC(), r.TS)
	assert.Equal(t, 1.5, r.DurationMS)
	assert.Equal(t, "orch", r.Via)

	other := c
	other.ArgsKey = []byte("k2")
	assert.NotEqual(t, r.ArgsSHA256, Build(upper{}, other).ArgsSHA256, "the hash is keyed")
	assert.Len(t, r.ArgsSHA256, 64)

	ok := Build(upper{}, Call{Tool: "t", ArgsKey: []byte("k")})
	assert.Equal(t, OK, ok.Outcome)
	assert.JSONEq(t, `{}`, string(ok.Args))
	denied := Build(upper{}, Call{Tool: "t", Outcome: Denied, Err: "denied"})
	assert.Equal(t, Denied, denied.Outcome, "an outcome given stays")
}
