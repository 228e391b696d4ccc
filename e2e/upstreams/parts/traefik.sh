# Traefik v3.6 from its Go module (wrapper module ../traefik), for
# e2e/proxy: its Kubernetes CRD provider reads the shipped IngressRoute
# and Middleware objects from the harness API server. v3.7's ACME DNS
# providers need modules the Go module proxy refuses (403), so v3.6.
case " $want " in
*" traefik "*|*" all "*)
  build traefik v3.6.12 traefik github.com/traefik/traefik/v3/cmd/traefik \
    -ldflags '-s -w -X github.com/traefik/traefik/v3/pkg/version.Version=3.6.12'
  ;;
esac
