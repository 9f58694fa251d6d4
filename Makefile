# Uncover: the two commands a newcomer needs are `make run` and `make test`.
# `make test` installs what the tests need (Chromium from Debian, playwright-core and
# axe-core from npm) when it is missing, then runs lints, Rust tests, the scenario check and the
# browser test. `.ci/run` calls `make test`.

CARGO ?= cargo
BROWSER_DIR := tests/browser
export UNCOVER_BIN := $(CURDIR)/target/debug/uncover

.PHONY: run test lint rust-tests scenarios browser browser-deps bench fmt

## Start the server with its embedded defaults and print the URLs to open.
run:
	$(CARGO) run --release -p uncover -- serve

## Everything CI checks.
test: lint rust-tests scenarios browser

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

rust-tests:
	$(CARGO) build -p uncover
	$(CARGO) test --workspace

scenarios:
	$(CARGO) run -q -p uncover -- check scenarios

browser: browser-deps
	$(CARGO) build -p uncover
	cd $(BROWSER_DIR) && node --test

## Debian's Chromium (never a downloaded browser), npm's playwright-core, and axe-core
## (injected into the pages by the accessibility checks).
browser-deps:
	@command -v chromium >/dev/null 2>&1 || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; }
	@test -d $(BROWSER_DIR)/node_modules/playwright-core -a -d $(BROWSER_DIR)/node_modules/axe-core || { cd $(BROWSER_DIR) && npm ci --no-audit --no-fund; }

## Load and latency against bare relays (docs/benchmarks.md); BENCH_FULL=1 for 60 s runs.
bench:
	bash tests/bench/run.sh

fmt:
	$(CARGO) fmt --all
