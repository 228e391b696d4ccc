# Debian 12's nginx (1.22.1, the oldest nginx deploy/proxy/nginx.conf
# supports), unpacked and never installed: installing would start a
# service. e2e/proxy runs it with its own prefix, config and temp paths.
case " $want " in
*" nginx "*|*" all "*)
  ng=$cache/nginx-1.22.1
  if [ ! -x "$ng/root/usr/sbin/nginx" ]; then
    echo "unpacking Debian's nginx (first run only)" >&2
    rm -rf "$ng.tmp" && mkdir -p "$ng.tmp/debs" "$ng.tmp/root"
    (cd "$ng.tmp/debs" && { apt-get download nginx=1.22.1-9+deb12u7 >/dev/null 2>&1 || apt-get download 'nginx=1.22.1-*' >/dev/null 2>&1 ||
      { apt-get update >/dev/null && apt-get download 'nginx=1.22.1-*' >/dev/null; }; })
    for f in "$ng.tmp"/debs/*.deb; do dpkg-deb -x "$f" "$ng.tmp/root"; done
    "$ng.tmp/root/usr/sbin/nginx" -v 2>&1 | grep -q 'nginx/1.22.1' || { echo "unpacked nginx is not 1.22.1" >&2; exit 1; }
    rm -rf "$ng" && mv "$ng.tmp" "$ng"
  fi
  ;;
esac
