package transport

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestOriginCheck(t *testing.T) {
	h := checkOrigin([]string{"https://webui.internal"}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	cases := []struct {
		origin string
		code   int
	}{{"", 200}, {"https://webui.internal", 200}, {"https://evil.example", 403}, {"http://127.0.0.1:8081", 200}}
	for _, c := range cases {
		req := httptest.NewRequest("POST", "http://127.0.0.1:8081/mcp", nil)
		if c.origin != "" {
			req.Header.Set("Origin", c.origin)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		assert.Equal(t, c.code, rec.Code, c.origin)
	}
}

func TestIsLoopback(t *testing.T) {
	for addr, want := range map[string]bool{"127.0.0.1:1": true, "[::1]:1": true, "localhost:1": true, "0.0.0.0:1": false, ":8081": false, "10.0.0.5:1": false} {
		assert.Equal(t, want, IsLoopback(addr), addr)
	}
}
