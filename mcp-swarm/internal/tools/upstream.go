package tools

import (
	"context"
	"errors"
	"net"
	"strings"
	"time"

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
	ue := tool.Upstream(Upstream, addr, err)
	var e *tool.UpstreamError
	if errors.As(ue, &e) && client.IsErrConnectionFailed(err) && (e.Cause == tool.CauseUnreachable || e.Cause == tool.CauseOther) {
		// The Docker client reports "Cannot connect" without its cause:
		// one dial finds out whether the engine refused or did not answer.
		if cause := dialCause(addr); cause != "" {
			c := *e
			c.Cause = cause
			return &c
		}
	}
	return ue
}

// dialCause dials a tcp:// or unix:// engine address once and classifies
// the failure; "" when it connects or the address is of another kind.
func dialCause(addr string) string {
	network, a, ok := strings.Cut(addr, "://")
	if !ok || (network != "tcp" && network != "unix") {
		return ""
	}
	c, err := net.DialTimeout(network, a, time.Second)
	if err != nil {
		return tool.Cause(err)
	}
	c.Close()
	return ""
}

// UpstreamErr is upstreamErr for a readiness check.
func UpstreamErr(cl *client.Client, err error) error { return upstreamErr(cl, err) }

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
