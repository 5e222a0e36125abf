# The two commands: `make deploy` (deploy to the local cloud) and `make test` (every test).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= python3
VENV ?= .venv
BIN := $(CURDIR)/$(VENV)/bin
COLLECTION_LINK := .cache/collections/ansible_collections/mlflowops/beanstalk
SANITY_ROOT := .cache/sanity/ansible_collections/mlflowops/beanstalk

export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export PATH := $(BIN):$(PATH)
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: setup deploy up test pytest lint format sanity molecule down clean lock

setup: $(VENV)/.installed $(COLLECTION_LINK)
	@scripts/install-system-packages.sh

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip 2>&1 | { grep -v 'is ignored' || true; }
	$(BIN)/pip install --quiet -r requirements.txt 2>&1 | { grep -v 'is ignored' || true; }
	@touch $@

# Makes this checkout importable as ansible_collections.mlflowops.beanstalk.
$(COLLECTION_LINK):
	mkdir -p $(dir $@)
	ln -sfn ../../../.. $@

# AWS_CA_BUNDLE: the local cloud's CA, for the lookups (its modules get it from the inventory).
deploy: up
	AWS_CA_BUNDLE=$${LOCALCLOUD_STATE_DIR:-$(CURDIR)/.state/localcloud}/tls/ca.pem ansible-playbook deploy.yml

# The quick checks first, then the two long suites side by side: each starts its own local
# clouds on their own ports and state folders, and their output is printed suite by suite.
test: setup
	$(MAKE) --no-print-directory lint sanity
	$(MAKE) --no-print-directory --jobs=2 --output-sync=target pytest molecule

pytest:
	pytest tests

# The server image's hash-locked requirements for one MLflow release:
# `make lock MLFLOW_VERSION=3.17.2` (scripts/lock-server-requirements.py says how).
LOCK_TOOLS := .cache/lock-tools
lock: setup
	@test -n "$(MLFLOW_VERSION)" || { echo "usage: make lock MLFLOW_VERSION=X.Y.Z" >&2; exit 2; }
	test -x $(LOCK_TOOLS)/bin/pip-compile || { $(PYTHON) -m venv $(LOCK_TOOLS) && $(LOCK_TOOLS)/bin/pip install --quiet pip-tools==7.5.1; }
	$(BIN)/python scripts/lock-server-requirements.py $(MLFLOW_VERSION) $(CURDIR)/$(LOCK_TOOLS)/bin/pip-compile

# The plugins' formatting (pyproject.toml) and the playbooks' and roles' lint.
lint:
	black --check --quiet plugins
	isort --check-only --quiet plugins
	ansible-lint

format:
	black --quiet plugins
	isort --quiet plugins

# ansible-test wants the collection at .../ansible_collections/<ns>/<name>: test a copy there,
# with its working files under .cache/home and pip from ensurepip (no internet here).
sanity:
	rm -rf .cache/sanity && mkdir -p $(SANITY_ROOT)
	# The modules import amazon.aws: it must sit beside the collection under test.
	ln -s $$($(BIN)/python -c 'import ansible, os; print(os.path.dirname(os.path.dirname(ansible.__file__)))')/ansible_collections/amazon \
	    .cache/sanity/ansible_collections/amazon
	git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf - | tar -xf - -C $(SANITY_ROOT)
	mkdir -p .cache/home/.ansible/test/cache
	cp scripts/get_pip_offline.py .cache/home/.ansible/test/cache/get_pip_24_2.py
	cd $(SANITY_ROOT) && git init -q && git add -A && \
	    HOME=$(CURDIR)/.cache/home ansible-test sanity --local --python 3.11 --color no

molecule:
	molecule test --all

# The local cloud (see localcloud/__init__.py): `make up` starts it, `make down` stops it and
# everything it started (instances, nginx, PostgreSQL) and removes its state.
up: setup
	python -m localcloud start

down:
	@for dir in .state/localcloud*; do \
	    if [ -d "$$dir" ] && [ -x $(BIN)/python ]; then LOCALCLOUD_STATE_DIR=$(CURDIR)/$$dir $(BIN)/python -m localcloud stop; fi; \
	done

clean: down
	rm -rf .cache .build .state
