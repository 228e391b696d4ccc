#!/usr/bin/env bash
# Builds containers/kubernetes-mcp-server (KMS), the peer `make
# bench-peers` runs beside mcp-kubernetes, from its Go module at the
# version e2e/peers/kms/go.mod pins, into the e2e cache (once: later runs
# return at once), and the harness's own upstreams (kube-apiserver, etcd).
# Not part of `make test`. Prints the binary's path on stdout.
#
# v0.0.66 is the newest KMS whose whole module graph the Go module proxy
# serves (v0.0.67 needs github.com/tektoncd/pipeline v1.16.0, refused).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
version=v0.0.66
cache=${OPSMCP_E2E_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/opsmcp-e2e}
out=$cache/bin/kubernetes-mcp-server-$version
bash "$here/../upstreams/build.sh" kubernetes >/dev/null
if [ ! -x "$out" ]; then
  echo "building kubernetes-mcp-server $version (first run only; minutes)" >&2
  mkdir -p "$cache/bin"
  (cd "$here/kms" && GOWORK=off GOFLAGS=-mod=mod go build -trimpath -ldflags '-s -w' -o "$out.tmp" github.com/containers/kubernetes-mcp-server/cmd/kubernetes-mcp-server)
  mv "$out.tmp" "$out"
fi
echo "$out"
