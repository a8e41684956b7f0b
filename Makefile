# Two commands on a fresh machine: `make run` (status page + runner) and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PLUGINS := $(wildcard plugins/*/setup.cfg)
STAMP := $(VENV)/.installed

.PHONY: install test run check-demo demo bench clean

$(STAMP): setup.cfg pyproject.toml $(PLUGINS)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[web,test]' $(foreach p,$(PLUGINS),-e $(dir $(p)))
	touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

run: $(STAMP)
	$(VENV)/bin/statusweb-admin initdb development.ini
	$(VENV)/bin/statusweb-admin create-user development.ini admin --role admin --if-none
	$(VENV)/bin/pserve development.ini

check-demo: $(STAMP)
	$(PY) -m statuscore.demo & demo=$$!; trap "kill $$demo" EXIT; sleep 1; \
	$(VENV)/bin/statuscore check examples/local.toml

clean:
	rm -rf $(VENV) build src/*.egg-info
