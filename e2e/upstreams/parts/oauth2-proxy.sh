# oauth2-proxy from its Go module (wrapper module ../oauth2-proxy), for
# e2e/proxy: forward auth for nginx and Traefik with the harness's Gitea
# as the OpenID Connect provider.
case " $want " in
*" oauth2-proxy "*|*" all "*)
  build oauth2-proxy v7.15.6 oauth2-proxy github.com/oauth2-proxy/oauth2-proxy/v7 \
    -ldflags '-s -w -X github.com/oauth2-proxy/oauth2-proxy/v7/pkg/version.VERSION=v7.15.6'
  ;;
esac
