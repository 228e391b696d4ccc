package forge

import (
	"fmt"
	"net/http"
	"strings"
	"sync"

	gitclient "github.com/go-git/go-git/v5/plumbing/transport/client"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"

	"github.com/opsmcp/opsmcp/shared/readonly"
	"github.com/opsmcp/opsmcp/shared/tool"
)

// installGit routes go-git's HTTP(S) through gitTransport, once for the
// process: go-git takes its transport from a global table, not per call.
var installGit sync.Once

func installGitTransport() {
	installGit.Do(func() {
		c := githttp.NewClientWithOptions(&http.Client{Transport: gitTransport{next: tool.UpstreamTransport(Upstream, "", http.DefaultTransport)}},
			&githttp.ClientOptions{RedirectPolicy: githttp.NoFollowRedirects})
		gitclient.InstallProtocol("http", c)
		gitclient.InstallProtocol("https", c)
	})
}

// gitTransport lets a git fetch through and nothing else: the shared
// read-only check, with the one POST a fetch makes (git-upload-pack, the
// "want/have" negotiation, which reads) declared a read; anything about
// receive-pack (a push) is refused even as a GET.
type gitTransport struct{ next http.RoundTripper }

func (g gitTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	refuse := func(err error) (*http.Response, error) {
		if r.Body != nil {
			r.Body.Close()
		}
		return nil, err
	}
	if strings.Contains(strings.ToLower(r.URL.Path+"?"+r.URL.RawQuery), "receive-pack") {
		return refuse(fmt.Errorf("%w: %s %s: git receive-pack is a push", readonly.ErrRefused, r.Method, r.URL.Path))
	}
	var reads []string
	if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/git-upload-pack") {
		reads = []string{r.URL.Path}
	}
	if err := readonly.Check(r, reads...); err != nil {
		return refuse(err)
	}
	return g.next.RoundTrip(r)
}
