package tools

import (
	"context"
	"errors"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"

	"github.com/opsmcp/opsmcp/shared/tool"
)

// Upstream is how errors and /readyz name a Docker engine.
const Upstream = "Docker engine"

// engineFailure reports whether err is the engine's own failure (not
// reached, cut, timed out, a 5xx): never the caller's argument, and never
// a sign that an object exists or not.
func engineFailure(err error) bool {
	return err != nil && !errors.Is(err, tool.ErrArgs) && !errors.Is(err, tool.ErrDenied) &&
		(client.IsErrConnectionFailed(err) || tool.IsTransport(err) || tool.IsUpstream(err) ||
			cerrdefs.IsUnavailable(err) || cerrdefs.IsInternal(err) || errors.Is(err, context.DeadlineExceeded))
}

// upstreamErr names the engine cl in err.
func upstreamErr(cl *client.Client, err error) error {
	addr := ""
	if cl != nil {
		addr = cl.DaemonHost()
	}
	return tool.Upstream(Upstream, addr, err)
}

// upstreamErrors makes every engine failure a tool's handler returns the
// engine's, named with its address.
func (s *Server) upstreamErrors(tools []tool.Tool) []tool.Tool {
	for i := range tools {
		h := tools[i].Handler
		tools[i].Handler = func(ctx context.Context, c *tool.Call) (*tool.Result, error) {
			res, err := h(ctx, c)
			if engineFailure(err) && !tool.IsUpstream(err) {
				var cl *client.Client
				if s.Hosts != nil {
					cl, _ = s.Hosts.Get("")
				}
				return nil, upstreamErr(cl, err)
			}
			return res, err
		}
	}
	return tools
}
