package forge

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsmcp/opsmcp/shared/memory"
)

// TestRedteam7ReposRefusedPageIsNoShortList: a repository listing whose
// third page (hostile descriptions) the memory for answers refuses fails
// with the refusal: the first two pages are never returned as the whole
// list, nor kept as the server's list for later calls; the budget is
// whole again, and once memory allows the same listing is answered in
// full.
func TestRedteam7ReposRefusedPageIsNoShortList(t *testing.T) {
	var searches atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/v1/version":
			w.Write([]byte(`{"version":"1.26.0"}`))
		case "/api/v1/repos/search":
			searches.Add(1)
			page, _ := strconv.Atoi(r.URL.Query().Get("page"))
			n, desc := RepoPageSize, "d"
			switch page {
			case 3:
				desc = strings.Repeat("hostile description ", 5000)
			case 4:
				n = 1
			}
			var items []string
			for i := range n {
				id := page*1000 + i
				items = append(items, fmt.Sprintf(`{"id":%d,"full_name":"ops/r%d","name":"r%d","owner":{"login":"ops"},"description":%q}`, id, id, id, desc))
			}
			fmt.Fprintf(w, `{"ok":true,"data":[%s]}`, strings.Join(items, ","))
		default:
			t.Errorf("unexpected %s %s", r.Method, r.URL.Path)
		}
	}))
	defer srv.Close()
	f, err := New(t.Context(), Options{URL: srv.URL, Token: "server-token", MirrorDir: t.TempDir(), MirrorTTL: time.Hour})
	require.NoError(t, err)

	small := memory.NewBudget(2 << 20) // pages 1-2 fit at MemoryCost-like 8, page 3 (5 MB) does not
	h := small.Begin(8)
	got, err := f.Repos(memory.WithHold(t.Context(), h), "", false)
	require.Error(t, err, "never a short list")
	assert.Nil(t, got)
	require.True(t, errors.Is(h.Refusal(), memory.ErrTooLarge), "%v", h.Refusal())
	assert.Zero(t, small.Used())
	h.Release()
	asked := searches.Load()
	require.EqualValues(t, 3, asked)

	roomy := memory.NewBudget(1 << 30)
	h = roomy.Begin(8)
	got, err = f.Repos(memory.WithHold(t.Context(), h), "", false)
	require.NoError(t, err)
	h.Release()
	assert.Len(t, got, 3*RepoPageSize+1, "all four pages")
	assert.EqualValues(t, asked+4, searches.Load(), "the refused listing was not kept")
	assert.Zero(t, roomy.Used())
}
