# zonechaos: make targets. `make help` lists them.
SHELL := /bin/bash
CARGO ?= cargo
# The source design, defects included (lint is expected to report them).
TOPOLOGY ?= suites/fixtures/source-design/zone-aware-topology.yaml
# CRD schemas: the cache of `make crds` (auto), none, or a directory.
CRDS ?= auto
FORMAT ?= text

.PHONY: help build test test-e2e lint crds bench fmt clippy ci chaos-zone-a chaos-zone-b chaos-zone-c chaos-zone-c-drain whatif-zone-c conformance cluster-up cluster-down render

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

chaos-zone-c: ## Spot loss of zone c: failover, error budget, recovery (reports in reports/)
	./scripts/chaos.sh suites/zone-c-spot-loss.yaml

chaos-zone-a: ## Spot loss of zone a
	./scripts/chaos.sh suites/zone-a-spot-loss.yaml

chaos-zone-b: ## Spot loss of zone b
	./scripts/chaos.sh suites/zone-b-spot-loss.yaml

chaos-zone-c-drain: ## graceful drain of zone c, blocked by its PDB
	./scripts/chaos.sh suites/zone-c-drain.yaml

conformance: ## every suite on kind (Docker + kind needed), one combined report in reports/conformance/
	$(CARGO) run --quiet --release -- conformance suites --backend $${ZONECHAOS_BACKEND:-kind} --report-dir reports/conformance $(CONFORMANCE_FLAGS)

cluster-up: ## create (or reuse) the harness's kind cluster with Istio, Argo Rollouts and Prometheus
	$(CARGO) run --quiet --release -- cluster up --reuse

cluster-down: ## delete the harness's kind cluster
	$(CARGO) run --quiet --release -- cluster down

render: ## write deployable manifests of the failover topology into rendered/
	$(CARGO) run --quiet --release -- render suites/topologies/zone-failover.yaml --out rendered

whatif-zone-c: ## instant prediction of losing zone c on both reference topologies
	$(CARGO) run --quiet --release -- whatif suites/topologies/zone-failover.yaml --lose us-east-1c
	$(CARGO) run --quiet --release -- whatif suites/topologies/zone-pinned.yaml --lose us-east-1c

build: ## build the zonechaos binary (release)
	$(CARGO) build --release

lint: ## lint the reference topology; findings are the point, so exit 1 is not a make failure
	@$(CARGO) run --quiet --release -- lint $(TOPOLOGY) --crds $(CRDS) --format $(FORMAT); \
	status=$$?; \
	if [ $$status -eq 1 ]; then echo "(zonechaos lint exited 1: the topology has error-level findings, as the source design does)"; fi; \
	[ $$status -le 1 ]

crds: ## download the pinned Istio and Argo Rollouts CRDs `make lint` checks against (ZONECHAOS_CRDS_MIRROR=BASE for a mirror)
	$(CARGO) run --quiet --release -- crds fetch

test: ## run every test (cargo nextest run); installs Envoy and Prometheus first if missing
	./scripts/install-deps.sh
	$(CARGO) nextest run

test-e2e: ## the real end-to-end tests on kind (Docker, kind, kubectl, istioctl needed; minutes)
	ZONECHAOS_E2E=1 $(CARGO) nextest run --profile e2e --run-ignored all -E 'binary(kube_e2e)'

bench: ## run the benchmarks (figures in BENCHMARKS.md)
	$(CARGO) bench --bench lint_bundle
	$(CARGO) bench --bench whatif

fmt: ## format the code
	$(CARGO) fmt --all

clippy: ## lint the Rust code
	$(CARGO) clippy --all-targets -- -D warnings

ci: ## what .ci/run does
	./.ci/run
