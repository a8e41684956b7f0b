# Two commands on a fresh machine: `make run` (status page + runner) and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PLUGINS := $(wildcard plugins/*/setup.cfg)
STAMP := $(VENV)/.installed

.PHONY: install test lint run check-demo bench clean constraints

$(STAMP): setup.cfg pyproject.toml constraints.txt $(PLUGINS)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[web,test]' $(foreach p,$(PLUGINS),-e $(dir $(p)))
	touch $(STAMP)

install: $(STAMP)

AXE := tests/js/node_modules/axe-core/axe.min.js

# axe-core for the accessibility audit and oidc-provider for the sign-in tests, from the npm
# registry (pinned by package-lock.json).
$(AXE): tests/js/package.json tests/js/package-lock.json
	npm ci --prefix tests/js --no-audit --no-fund --silent
	touch $(AXE)

# Two workers (pytest-xdist), a file to each at a time (and the 30 slowest tests named at the
# end, to see where CI time goes): every test process has its own
# PostgreSQL database and ephemeral ports, so they never collide.
PYTEST_WORKERS ?= 2
test: lint $(AXE)
	$(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadfile --durations=30 $(PYTEST_ARGS)

# Types (strict for the library and the plugins a third party copies); ruff (pyflakes,
# isort, bugbear, pyupgrade; and its formatter); the import contracts in pyproject.toml
# (import-linter); and
# complexity: no function graded D or worse.
lint: $(STAMP)
	$(VENV)/bin/mypy --strict src/statuscore $(wildcard plugins/*/src)
	$(VENV)/bin/mypy src/statusweb
	$(VENV)/bin/ruff check --quiet .
	$(VENV)/bin/ruff format --check --quiet .
	@out=$$($(VENV)/bin/lint-imports --no-cache 2>&1) || { echo "$$out"; exit 1; }; echo "$$out" | grep '^Contracts:'
	@worse=$$($(VENV)/bin/radon cc -n D -s src plugins/*/src); \
	    if [ -n "$$worse" ]; then echo "too complex (radon grade D or worse):"; echo "$$worse"; exit 1; fi

# Port 6543, or the next free one when it is taken (it says which).
run: $(STAMP)
	$(VENV)/bin/statusweb-admin bootstrap development.ini
	@port=$$($(PY) -c "import socket; print(next(p for p in range(6543, 6600) if socket.socket().connect_ex(('127.0.0.1', p)) != 0))"); \
	    if [ "$$port" != 6543 ]; then echo "port 6543 is taken: using $$port"; fi; \
	    echo "status page: http://127.0.0.1:$$port/  admin: http://127.0.0.1:$$port/admin"; \
	    PORT=$$port STATUS_PAGE_URL=http://127.0.0.1:$$port exec $(VENV)/bin/pserve development.ini

# After changing dependencies in setup.cfg: pin what resolves now, for every machine.
constraints: $(STAMP)
	{ head -2 constraints.txt; $(PY) -m pip freeze --exclude-editable | grep -v '^statuscore'; } > constraints.new
	mv constraints.new constraints.txt

check-demo: $(STAMP)
	$(PY) -m statuscore.demo & demo=$$!; trap "kill $$demo" EXIT; sleep 1; \
	$(VENV)/bin/statuscore check examples/local.toml

# Benchmarks (not tests): a few minutes to a quarter of an hour; only 127.0.0.1.
# As root, installs the baselines they compare against when missing (nginx, wrk,
# prometheus-blackbox-exporter); each benchmark says what it skipped without them.
bench: $(STAMP)
	-@if [ "$$(id -u)" = 0 ]; then missing=""; \
	    for tool in nginx wrk prometheus-blackbox-exporter; do command -v $$tool > /dev/null || missing="$$missing $$tool"; done; \
	    if [ -n "$$missing" ]; then echo "installing$$missing for the baselines..."; apt-get update -qq && \
	        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing > /dev/null; fi; fi
	cd bench && ../$(PY) engine.py
	cd bench && ../$(PY) scheduler.py
	cd bench && ../$(PY) detect.py
	cd bench && ../$(PY) store.py
	cd bench && ../$(PY) history.py
	cd bench && ../$(PY) admin_history.py --no-plans
	cd bench && ../$(PY) page.py
	cd bench && ../$(PY) restart.py
	cd bench && ../$(PY) live.py
	cd bench && ../$(PY) cluster.py

clean:
	rm -rf $(VENV) build src/*.egg-info
