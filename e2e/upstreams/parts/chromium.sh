# Debian's chromium for the eval report's headless test (e2e/eval): the
# packages are downloaded and unpacked into the cache, never installed,
# with every library they need that this machine does not already have
# (the test runs it with LD_LIBRARY_PATH over the unpacked libraries), so
# it needs no root and changes nothing on the machine.
# Pinned; Debian's mirror keeps only the newest security update, so when
# the pin is gone the candidate is taken and said. The stamp names the pin,
# so another pin unpacks again.
case " $want " in
*" chromium "*|*" all "*)
  cv=148.0.7778.167-1~deb12u1
  c=$cache/chromium
  if ! grep -q "^pin=$cv " "$c/.stamp" 2>/dev/null; then
    echo "unpacking Debian's chromium $cv and the libraries it needs (first run only; about a minute)" >&2
    rm -rf "$c.tmp" && mkdir -p "$c.tmp/debs" "$c.tmp/root"
    pkg="chromium=$cv"
    apt-cache show "$pkg" >/dev/null 2>&1 || apt-get update >/dev/null
    if ! apt-cache show "$pkg" >/dev/null 2>&1; then
      pkg=chromium
      echo "chromium $cv is no longer on the mirror: taking $(apt-cache policy chromium | sed -n 's/ *Candidate: //p')" >&2
    fi
    got=$(apt-cache show --no-all-versions "$pkg" | sed -n 's/^Version: //p' | head -1)
    # Its whole dependency tree (one apt-cache call), less what dpkg says
    # is installed here (one call: the cache fits this machine), less
    # virtual names no package version carries (one call).
    tree=$(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
      --no-replaces --no-enhances --no-pre-depends "$pkg" 2>/dev/null |
      sed -n 's/^\([a-z0-9][a-z0-9.+-]*\)$/\1/p' | grep -vx 'chromium\|chromium-common' | sort -u || true)
    # (dpkg-query and apt-cache fail on names they do not know: the rest
    # of their output is what counts.)
    # shellcheck disable=SC2086 # package names
    installed=$(dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' $tree 2>/dev/null | awk '$2 ~ /^ii/ {print $1}' | sort -u || true)
    missing=$(comm -23 <(echo "$tree") <(echo "$installed") || true)
    # shellcheck disable=SC2086 # package names
    fetch=$(apt-cache policy $missing 2>/dev/null | awk '/^[^ ]/ {p=$1; sub(/:$/, "", p)} /Candidate:/ && $2 != "(none)" {print p}' || true)
    # shellcheck disable=SC2086 # package names
    (cd "$c.tmp/debs" && apt-get download "chromium=$got" "chromium-common=$got" $fetch >/dev/null)
    for f in "$c.tmp"/debs/*.deb; do dpkg-deb -x "$f" "$c.tmp/root"; done
    rm -rf "$c.tmp/debs"
    echo "pin=$cv got=$got" >"$c.tmp/.stamp"
    rm -rf "$c" && mv "$c.tmp" "$c"
  fi
  ;;
esac
