# benchrig: `make help` lists the targets.
SHELL := /bin/bash
GO ?= go
BIN := bin/benchrig
PKGS := ./...

SHIM_ARCHS := amd64 arm64
SHIM_PKG := ./runner/docker/shim

.PHONY: help build shims image-bin image test unit vet fmt-check testenv testenv-down testenv-swarm lab lab-down fuzz bench bench-docker bench-grep bench-collector bench-es bench-serve data clean

help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

build: shims ## build bin/benchrig and the in-container timing shims
	$(GO) build -o $(BIN) ./cmd/benchrig

# The shim runs inside containers of any image: static, one per architecture
# the lab has, named as the docker executor looks them up in
# BENCHRIG_SHIM_DIR.
shims: ## build bin/benchrig-shim-linux-{amd64,arm64}
	@for arch in $(SHIM_ARCHS); do \
		echo "CGO_ENABLED=0 GOOS=linux GOARCH=$$arch $(GO) build -trimpath -ldflags='-s -w' -o bin/benchrig-shim-linux-$$arch $(SHIM_PKG)"; \
		CGO_ENABLED=0 GOOS=linux GOARCH=$$arch $(GO) build -trimpath -ldflags='-s -w' -o bin/benchrig-shim-linux-$$arch $(SHIM_PKG) || exit 1; \
	done

# The image's binaries: static (CGO off, so they run on any base image),
# built on the host because no golang image can be pulled here (Dockerfile).
IMAGE_BIN ?= bin/image
IMAGE ?= benchrig/benchrig:latest
BASE ?= debian:bookworm-slim

image-bin: ## build the image's static binaries into $(IMAGE_BIN)/ (benchrig and the shims)
	mkdir -p $(IMAGE_BIN)
	CGO_ENABLED=0 GOOS=linux $(GO) build -trimpath -ldflags='-s -w' -o $(IMAGE_BIN)/benchrig ./cmd/benchrig
	@for arch in $(SHIM_ARCHS); do \
		echo "CGO_ENABLED=0 GOOS=linux GOARCH=$$arch $(GO) build -trimpath -ldflags='-s -w' -o $(IMAGE_BIN)/benchrig-shim-linux-$$arch $(SHIM_PKG)"; \
		CGO_ENABLED=0 GOOS=linux GOARCH=$$arch $(GO) build -trimpath -ldflags='-s -w' -o $(IMAGE_BIN)/benchrig-shim-linux-$$arch $(SHIM_PKG) || exit 1; \
	done

image: image-bin ## build the benchrig image $(IMAGE) FROM $(BASE) (here: make image BASE=benchrig/debian:amd64)
	DOCKER_BUILDKIT=0 docker build --build-arg BASE=$(BASE) -t $(IMAGE) .

testenv: ## install and start what the tests need, the Docker lab included (idempotent)
	@bash scripts/testenv.sh up

testenv-down: ## stop what testenv started (the lab, by pid)
	@bash scripts/testenv.sh down

testenv-swarm: ## form the lab's 3-node Swarm cluster and its pool `swarm` (testenv does it too)
	@bash scripts/lab.sh swarm

lab: ## start the Docker test lab (3 dockerd nodes, one arm64 under qemu)
	@bash scripts/lab.sh up

lab-down: ## stop the Docker test lab (by pid) and remove its network
	@bash scripts/lab.sh down

fmt-check: ## fail when gofmt would change a file
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet: ## go vet
	$(GO) vet $(PKGS)

test: testenv build fmt-check vet ## build, vet and every test with -race, against the real services (the lab included)
	set -a; [ -f .testenv/env ] && . .testenv/env; set +a; \
	$(GO) test -race -count=1 -timeout 20m $(PKGS)

unit: ## tests only, no provisioning (integration tests skip)
	$(GO) test -race -count=1 $(PKGS)

fuzz: ## run the spec parser's and the matrix count's fuzz targets, each for FUZZTIME (default 60s)
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime $${FUZZTIME:-60s} ./spec/
	$(GO) test -run '^$$' -fuzz FuzzCountCases -fuzztime $${FUZZTIME:-60s} .

bench: build ## benchrig vs hyperfine on the same command, ratio of medians
	bash bench/overhead.sh

bench-docker: testenv build ## docker executor's cost per trial vs `docker run --rm`, and the shim's timing of `true`
	set -a; . .testenv/env; set +a; \
	BENCHRIG_BENCH=1 $(GO) test -count=1 -run TestBenchTrialCost -v ./runner/docker/
	bash bench/docker-overhead.sh

bench-grep: build ## grep-impl ratios through benchrig vs hyperfine directly (must agree within 5%)
	bash bench/grep-truth.sh

bench-collector: testenv build ## collector vs Docker stats polling (CPU, 1 and 10 Hz, 10 containers), its truth, and the grep median with it off and at 10 Hz
	set -a; . .testenv/env; set +a; \
	BENCHRIG_BENCH=1 $(GO) test -count=1 -v -run TestBenchCollector ./collect/
	bash bench/collector-ab.sh

bench-es: testenv ## sustained ingest into the local Elasticsearch through the shipper (documents/s, none lost)
	set -a; . .testenv/env; set +a; \
	$(GO) test -run '^$$' -bench BenchmarkIngest -benchtime 1x -count 3 ./elastic

bench-serve: build ## benchrig serve under 200 API clients and 100 live-event watchers for 60 s (errors, p50/p90/p99)
	bash bench/serve-load.sh

data: build ## the reference benchmarks' data: SMILES chunks, small files, SDF
	$(BIN) data smiles
	$(BIN) data smiles --out .bench/data/smiles-small --chunk 1.15MB --size 842MB
	$(BIN) data sdf

clean: ## remove build outputs
	rm -rf bin .bench
