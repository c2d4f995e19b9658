# Optimization for Deep Learning, hands-on.
# On a fresh clone the only two commands anyone needs are `make demo` and `make test`;
# both create the virtual environment first.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# Tools called by name (nbgrader runs `alembic`, nbval starts `python`) come from the venv.
export PATH := $(CURDIR)/$(BIN):$(PATH)
# Silences a debugger warning that ipykernel prints to stderr on start-up.
export PYDEVD_DISABLE_FILE_VALIDATION := 1

.PHONY: setup test test-unit test-notebooks test-e2e test-matrix test-security test-browser \
	chromium bubblewrap \
	apt-install \
	demo lab lint release lock clean help

help:
	@echo "make demo    release, grade and report a simulated class (the main job)"
	@echo "make test    every test: unit, property, notebooks (nbval), autograder end to end,"
	@echo "            BLAS environment matrix, red team, browser"
	@echo "make lab     JupyterLab on the course, with widgets and nbgrader's extension"
	@echo "make lint    ruff, and a check that committed notebooks carry no outputs"
	@echo "make setup   create .venv with the pinned dependencies (the others run it first)"
	@echo "make soak    1,000 submissions on a local Dask cluster, a worker killed, the"
	@echo "            coordinator interrupted and resumed (not part of make test)"

# Idempotent: reinstalls only when pyproject.toml or constraints.txt changed.
setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	@touch $@

test: setup lint test-unit test-notebooks test-e2e test-matrix test-security test-browser
	@echo "make test: all suites passed"

test-unit: setup bubblewrap
	MPLBACKEND=Agg $(BIN)/python -m pytest tests --ignore=tests/browser --ignore=tests/security \
		-m "not slow" -n 2 -q

# The source notebooks run here in one kernel, hidden tests included, which use course_lib's
# reference implementations: COURSE_LIB_COMPLETE=1 keeps the names an assignment withholds
# (while grading, the student's kernel does not have them; the tests run apart).
# Two notebooks at a time (a notebook's cells stay together, in order, in one kernel).
test-notebooks: setup
	COURSE_STATIC_WIDGETS=1 COURSE_LIB_COMPLETE=1 $(BIN)/python -m pytest --nbval-lax \
		--nbval-current-env -q -n 2 --dist loadfile notebooks source

MATRIX := tests/autograder/e2e/test_environment_matrix.py

# The slow tests of the course's notebooks and library each run one kernel: two at a time.
# The grader's own run a pool of workers (or a cluster) each: one at a time. Both print
# their slowest tests.
KERNEL_TESTS := tests/notebooks tests/course_lib tests/test_tooling.py

test-e2e: setup bubblewrap postgresql
	$(BIN)/python -m pytest $(KERNEL_TESTS) -m slow -q -n 2 --durations=5
	$(BIN)/python -m pytest tests --ignore=tests/browser --ignore=tests/security \
		--ignore=$(MATRIX) $(addprefix --ignore=,$(KERNEL_TESTS)) -m slow -q --durations=10

# Every assignment's solution and honest simulated students graded with the BLAS variables
# unset, with another OPENBLAS_CORETYPE this machine supports, and with other thread
# counts: full marks for the solutions, the same scores in every leg. The machine's own
# variables change only inside a leg.
test-matrix: setup bubblewrap
	$(BIN)/python -m pytest $(MATRIX) -q -p no:cacheprovider

# The red-team suite: hostile submissions graded in one sandboxed `course grade` run.
test-security: setup bubblewrap
	$(BIN)/python -m pytest tests/security -q -p no:cacheprovider

# JupyterLab in Debian's Chromium, driven by Playwright (tests/browser). The tests fail when
# chromium is missing unless COURSE_SKIP_BROWSER=1 says to skip them on purpose.
test-browser: setup chromium
	$(BIN)/python -m pytest tests/browser -q -p no:cacheprovider

# Debian packages the tests need, installed when missing and running as root with apt-get
# (as on CI); elsewhere the tests say what to install. chromium: the browser tests
# (Playwright's own browser download is not used). bubblewrap: the grading sandbox.
chromium:
	@$(MAKE) --no-print-directory apt-install PROGRAM=chromium PACKAGE=chromium
bubblewrap:
	@$(MAKE) --no-print-directory apt-install PROGRAM=bwrap PACKAGE=bubblewrap
# postgresql: the PostgreSQL gradebook tests start a throw-away server of their own
# (tests/autograder/postgres_server.py); they fail when it is missing unless
# COURSE_SKIP_POSTGRES=1 says to skip them on purpose.
.PHONY: postgresql
postgresql:
	@$(MAKE) --no-print-directory apt-install PROGRAM=pg_ctlcluster PACKAGE=postgresql
apt-install:
	@if ! command -v $(PROGRAM) >/dev/null 2>&1 && [ "$$(id -u)" = 0 ] \
	    && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing Debian's $(PACKAGE)"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(PACKAGE)) \
	    >/dev/null || echo "could not install $(PACKAGE)"; \
	fi

demo: setup bubblewrap
	$(BIN)/course demo

# Not part of `make test`: a simulated class (default 1000, SOAK_ARGS="--students N") graded
# on a local Dask cluster, one worker killed and replaced, the coordinator interrupted and
# resumed; prints submissions per minute and retries, and checks the gradebook against a
# clean run on the local pool.
.PHONY: soak
SOAK_ARGS ?=
soak: setup bubblewrap
	$(BIN)/python benchmarks/soak.py $(SOAK_ARGS)

lab: setup
	$(BIN)/jupyter labextension list
	$(BIN)/jupyter lab --ServerApp.root_dir=. $(if $(filter 0,$(shell id -u)),--allow-root)

release: setup
	$(BIN)/course release --all

lint: setup
	$(BIN)/ruff check course_lib autograder tests benchmarks tools
	$(BIN)/python tools/check_notebooks.py

# Re-resolve the pins after editing dependencies in pyproject.toml.
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet -e '.[dev]'
	( echo "# Exact pins for Python 3.11 (what CI and 'make setup' install)."; \
	  echo "# Regenerate with 'make lock' after changing dependencies in pyproject.toml."; \
	  .lock-venv/bin/pip freeze --exclude-editable ) > constraints.txt
	rm -rf .lock-venv
	@echo "constraints.txt updated: update environment.yml to the same versions (tests/test_pins.py checks)"

clean:
	rm -rf $(VENV) release submitted autograded feedback gradebook.db out .pytest_cache
