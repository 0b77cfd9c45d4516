# The front door. Every target works on a fresh clone: the virtualenvs are created on first use.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export PYTHONPATH := $(CURDIR)/layers/common:$(CURDIR)
# No test, demo or benchmark may reach real AWS: fake credentials, a region, and no shared config.
export AWS_ACCESS_KEY_ID ?= testing
export AWS_SECRET_ACCESS_KEY ?= testing
export AWS_SESSION_TOKEN ?= testing
export AWS_DEFAULT_REGION ?= us-east-1
export AWS_CONFIG_FILE := /dev/null
export AWS_SHARED_CREDENTIALS_FILE := /dev/null

.PHONY: help venv test test-slow demo bench bench-entities lint build deploy invoke clean

help:
	@echo "make demo        run the model lifecycle end to end on the offline stack (no AWS account)"
	@echo "make test        unit, integration and contract tests (offline)"
	@echo "make test-slow   longer offline end-to-end suites"
	@echo "make bench       TRAIN=path.csv TEST=path.csv [MODE=multi-label] [KIND=entities]"
	@echo "make lint        ruff, mypy, cfn-lint (template + ASL), sam validate --lint"
	@echo "make build       sam build (needs python3.13 on PATH)"
	@echo "make deploy      sam deploy --guided (real AWS account)"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[local,dev]'
	touch $(STAMP)

venv: $(STAMP)

test: $(STAMP)
	$(PY) -m pytest -m "not slow" -q

test-slow: $(STAMP)
	$(PY) -m pytest -m slow -q

demo: $(STAMP)
	$(PY) -m local.cli demo $(if $(DATA),--data $(DATA),)

bench: $(STAMP)
	$(PY) -m local.bench $(if $(KIND),--kind $(KIND),) --train $(TRAIN) --test $(TEST) $(if $(MODE),--mode $(MODE),)

clean:
	rm -rf $(VENV) $(VENV)-sam .aws-sam .pytest_cache .mypy_cache .ruff_cache build
