# Debian's chromium for the eval report's headless test (e2e/eval): the
# packages are downloaded and unpacked into the cache, never installed,
# with every library they need that this machine does not already have
# (the test runs it with LD_LIBRARY_PATH over the unpacked libraries).
# The stamp names the version, so another pin unpacks again.
case " $want " in
*" chromium "*|*" all "*)
  cv=148.0.7778.167-1~deb12u1
  c=$cache/chromium
  if [ "$(cat "$c/.stamp" 2>/dev/null)" != "$cv" ]; then
    echo "unpacking Debian's chromium $cv and the libraries it needs (first run only; about 2 minutes)" >&2
    rm -rf "$c.tmp" && mkdir -p "$c.tmp/debs" "$c.tmp/root"
    deps() {
      # chromium's whole dependency tree, less what is installed here:
      # dpkg's status is the machine's, so the cache fits this machine.
      apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
        --no-replaces --no-enhances --no-pre-depends "chromium=$cv" 2>/dev/null |
        sed -n 's/^\([a-z0-9][a-z0-9.+-]*\)$/\1/p' | sort -u |
        while read -r p; do
          dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null | grep -q '^ii' || echo "$p"
        done
    }
    list=$(deps)
    if ! echo "$list" | grep -qx chromium; then
      apt-get update >/dev/null
      list=$(deps)
    fi
    # A virtual package (one some real package provides) cannot be
    # downloaded by name: keep the names apt can fetch.
    # shellcheck disable=SC2086 # list is a list of package names
    (cd "$c.tmp/debs" && apt-get download "chromium=$cv" "chromium-common=$cv" \
      $(echo "$list" | grep -vx 'chromium\|chromium-common' | while read -r p; do
          apt-cache show --no-all-versions "$p" >/dev/null 2>&1 && echo "$p"
        done) >/dev/null)
    for f in "$c.tmp"/debs/*.deb; do dpkg-deb -x "$f" "$c.tmp/root"; done
    rm -rf "$c.tmp/debs"
    echo "$cv" >"$c.tmp/.stamp"
    rm -rf "$c" && mv "$c.tmp" "$c"
  fi
  ;;
esac
