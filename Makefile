# The two commands a fresh machine needs: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# .installed-core: the package and its dependencies, what `make demo` needs;
# .installed: that plus the test and bench extras, what `make test` needs.
CORE_STAMP := $(VENV)/.installed-core
STAMP := $(VENV)/.installed
# snarkjs 0.7.6 (+ circom2, circomlib) for the Groth16 cross-checks; tests skip them without npm.
NODE_PKG := tools/groth16_fixtures
NODE_STAMP := $(NODE_PKG)/node_modules/.installed

.PHONY: demo test install node clean

$(CORE_STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e .
	touch $(CORE_STAMP)

$(STAMP): $(CORE_STAMP)
	$(PY) -m pip install -q -e '.[test,bench]'
	touch $(STAMP)

install: $(STAMP)

$(NODE_STAMP): $(NODE_PKG)/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		npm ci --prefix $(NODE_PKG) --no-audit --no-fund --loglevel=error && touch $@; \
	else echo "npm not found: the snarkjs cross-check tests will be skipped"; fi

node: $(NODE_STAMP)

demo: $(CORE_STAMP)
	$(PY) -m supervm_jax.jobs.node

test: $(STAMP) node
	$(PY) -m pytest -q -n 2 --dist loadfile --max-worker-restart=0 --durations=30

clean:
	rm -rf $(VENV) build *.egg-info $(NODE_PKG)/node_modules
