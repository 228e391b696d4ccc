# opsmcp: read-only MCP servers for a DevOps team's infrastructure.
#   make run    build and start the servers that have an upstream, over HTTP on loopback
#   make test   unit tests and end-to-end tests against real upstream servers
SHELL := /bin/bash
BIN   := $(CURDIR)/bin
GO    ?= go
PKGS  := ./shared/... ./mcp-kubernetes/... ./mcp-logs/... ./mcp-gitea/... ./mcp-swarm/... ./mcp-docs/... ./orchestrator/...
E2E   := ./e2e/...

.PHONY: all build test unit e2e upstreams vet fmt run bench fuzz fuzz-short clean images

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

# Builds etcd, kube-apiserver, kube-controller-manager, Loki, logcli, Gitea
# and Ollama from the Go module proxy and unpacks Debian's Docker engine the
# first time (about 26 minutes on 2 cores), then reuses the cache. The
# Swarm e2e runs dockerd and needs root.
upstreams:
	bash e2e/upstreams/build.sh kubernetes loki gitea docker ollama node

e2e: upstreams
	$(GO) test -count=1 -timeout 30m $(E2E)

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

# Starts each server that has an upstream to read, over HTTP on loopback with
# the embedded defaults, says which upstream each other one lacks, and stops
# them all on Ctrl-C.
KUBECONFIG_FILE := $(or $(KUBECONFIG),$(HOME)/.kube/config)
LOKI            := $(or $(LOKI_URL),http://127.0.0.1:3100)
LOG_ROOT        ?= /var/log
run: build
	@pids=""; trap 'kill $$pids 2>/dev/null; wait' INT TERM EXIT; \
	if [ -r "$(KUBECONFIG_FILE)" ]; then \
	  echo "mcp-kubernetes: http://127.0.0.1:8081/mcp (legacy SSE: /sse), kubeconfig $(KUBECONFIG_FILE)"; \
	  $(BIN)/mcp-kubernetes --transport http --kubeconfig "$(KUBECONFIG_FILE)" & pids="$$pids $$!"; \
	else \
	  echo "mcp-kubernetes: not started: no kubeconfig (set KUBECONFIG or create ~/.kube/config)"; \
	fi; \
	if [ -n "$(GITEA_URL)" ]; then \
	  echo "mcp-gitea: http://127.0.0.1:8082/mcp (legacy SSE: /sse), Gitea $(GITEA_URL)"; \
	  $(BIN)/mcp-gitea --transport http --gitea-url "$(GITEA_URL)" & pids="$$pids $$!"; \
	else \
	  echo "mcp-gitea: not started: set GITEA_URL (and GITEA_TOKEN) to a Gitea"; \
	fi; \
	if [ -n "$$DOCKER_HOST" ] || [ -S /var/run/docker.sock ]; then \
	  echo "mcp-swarm: http://127.0.0.1:8083/mcp (legacy SSE: /sse), engine $${DOCKER_HOST:-unix:///var/run/docker.sock}"; \
	  $(BIN)/mcp-swarm --transport http & pids="$$pids $$!"; \
	else \
	  echo "mcp-swarm: not started: no Docker engine (set DOCKER_HOST)"; \
	fi; \
	echo "mcp-logs: http://127.0.0.1:8084/mcp (legacy SSE: /sse), Loki $(LOKI), files under $(LOG_ROOT)"; \
	$(BIN)/mcp-logs --transport http --loki-url "$(LOKI)" --files-root "$(LOG_ROOT)" & pids="$$pids $$!"; \
	if [ -n "$$OLLAMA_URL" ] && [ -n "$$OPSMCP_ORCHESTRATOR_CONFIG" ]; then \
	  echo "mcp-orchestrator: http://127.0.0.1:8080 (/api/chat, /v1/chat/completions), Ollama $$OLLAMA_URL"; \
	  $(BIN)/mcp-orchestrator serve & pids="$$pids $$!"; \
	else \
	  echo "mcp-orchestrator: not started: set OLLAMA_URL and OPSMCP_ORCHESTRATOR_CONFIG (its servers file)"; \
	fi; \
	if [ -n "$$OPSMCP_DOCS_CONFIG" ]; then \
	  echo "mcp-docs: http://127.0.0.1:8085/mcp, sources from $$OPSMCP_DOCS_CONFIG"; \
	  $(BIN)/mcp-docs serve --transport http --config "$$OPSMCP_DOCS_CONFIG" & pids="$$pids $$!"; \
	else \
	  echo "mcp-docs: not started: set OPSMCP_DOCS_CONFIG (its sources file)"; \
	fi; \
	if [ -z "$$pids" ]; then echo "nothing to run"; exit 0; fi; \
	echo "Ctrl-C to stop"; wait

clean:
	rm -rf $(BIN)
