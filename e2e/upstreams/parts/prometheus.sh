# shellcheck shell=bash
# Prometheus and promtool for e2e/ops (the alert rules' promtool tests and
# the dashboard's queries against a real scrape): Debian bookworm's
# prometheus 2.42.0 package, unpacked with dpkg-deb, never installed
# (installing it would start a system service). 2.42 reads every rule
# field deploy/monitoring uses (keep_firing_for came in 2.42) and has
# `promtool test rules`; a 19 MB download instead of a ~15-minute build of
# two 50 MB binaries from the Go module proxy. The stamp names the pin, so
# changing it unpacks again.
case " $want " in
*" prometheus "*|*" all "*)
  pv=2.42.0+ds-5+b6
  p=$cache/prometheus
  if [ "$(cat "$p/.stamp" 2>/dev/null)" != "$pv" ] || [ ! -x "$p/root/usr/bin/promtool" ]; then
    echo "unpacking Debian's prometheus $pv (first run only)" >&2
    rm -rf "$p.tmp" && mkdir -p "$p.tmp/debs" "$p.tmp/root"
    (cd "$p.tmp/debs" && { apt-get download "prometheus=$pv" >/dev/null 2>&1 ||
      { apt-get update >/dev/null && apt-get download "prometheus=$pv" >/dev/null; }; })
    dpkg-deb -x "$p.tmp"/debs/prometheus_*.deb "$p.tmp/root"
    "$p.tmp/root/usr/bin/promtool" --version >/dev/null
    echo "$pv" >"$p.tmp/.stamp"
    rm -rf "$p" && mv "$p.tmp" "$p"
  fi
  ;;
esac
