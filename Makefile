# zonechaos: make targets. `make help` lists them.
SHELL := /bin/bash
CARGO ?= cargo
SHARED ?= ../shared
# The reference topology until suites/topologies/ exists: the source design,
# defects included (lint is expected to report them).
TOPOLOGY ?= $(SHARED)/fixtures/seeds/zone-aware-topology.yaml
CRDS ?= $(SHARED)/crds
CRDS_FLAG := $(if $(wildcard $(CRDS)),--crds $(CRDS),)
FORMAT ?= text

.PHONY: help build test lint bench fmt clippy ci

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

build: ## build the zonechaos binary (release)
	$(CARGO) build --release

lint: ## lint the reference topology; findings are the point, so exit 1 is not a make failure
	@$(CARGO) run --quiet --release -- lint $(TOPOLOGY) $(CRDS_FLAG) --format $(FORMAT); \
	status=$$?; \
	if [ $$status -eq 1 ]; then echo "(zonechaos lint exited 1: the topology has error-level findings, as the source design does)"; fi; \
	[ $$status -le 1 ]

test: ## run every test (cargo nextest run)
	$(CARGO) nextest run

bench: ## run the benchmarks (figures in BENCHMARKS.md)
	$(CARGO) bench --bench lint_bundle

fmt: ## format the code
	$(CARGO) fmt --all

clippy: ## lint the Rust code
	$(CARGO) clippy --all-targets -- -D warnings

ci: ## what .ci/run does
	./.ci/run
