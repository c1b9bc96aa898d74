# The interface between the parts. A newcomer needs two targets: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install spark-jars demo test test-fast lint bench lock sample load report clean screenshots docs

# Bytecode is compiled at install time: where PYTHONDONTWRITEBYTECODE is set, Python would otherwise compile every
# module it imports on every start (Great Expectations alone: 7-10 s instead of 3 s per `mio load`); mio's own
# modules are compiled by every target that installs (only the changed ones: a few ms).
# Installs exactly the versions in requirements.lock (the ones the tests last passed with), then mio itself.
$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip uv
	$(BIN)/uv pip install --python $(BIN)/python --quiet --compile-bytecode -r requirements.lock
	$(BIN)/uv pip install --python $(BIN)/python --quiet --compile-bytecode --no-deps -e . --config-settings editable_mode=compat
	touch $(STAMP)

# The Spark engine's jars (Delta Lake, Hadoop's S3A connector): fetched once from Maven Central into the virtualenv,
# so that every Spark session after it works offline (etl/spark/jars.py). Needs Java; the demo does not need them.
JARS := $(VENV)/share/mio/spark-jars/.fetched
$(JARS): $(STAMP) etl/spark/jars.py
	$(BIN)/python -m etl.spark.jars fetch
	touch $(JARS)

spark-jars: $(JARS)  ## fetch the Spark engine's jars (Delta Lake, S3A) from Maven Central, once

install: $(STAMP)  ## create the virtualenv and install mio with its test tools
	@$(BIN)/python -m compileall -q etl dashboard bench >/dev/null  # mio's own modules too, as they change

demo: install  ## generate the sample, load it, serve the dashboard on http://127.0.0.1:8501
	$(BIN)/mio demo

screenshots: install  ## the README's pictures of the demo's main pages, taken in headless Chromium
	$(BIN)/mio demo --no-serve
	$(BIN)/python -m bench.screenshots

# The whole suite in two processes (pytest-xdist; each test file stays in one, so a file's shared fixtures are built
# once, and a process starts Spark's JVM once for all its files), with the slowest tests listed at the end so that
# creeping time shows. Four processes were tried (2026-12-07): 49.6 min, the CPU-bound tests starved by three JVMs and
# Chromium on two cores (the demo-sized disclosure check: 174 s alone, 1,129 s there).
PYTEST_WORKERS ?= 2

test: install spark-jars  ## the whole suite, browser and Spark tests included (what CI runs)
	$(BIN)/pytest -q -n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder --durations=25

test-fast: install  ## the inner loop of a change: no browser, no Spark, no servers, nothing slow
	$(BIN)/pytest -q -n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder -m "not browser and not spark and not slow" --durations=10

lock: install  ## refresh requirements.lock to the newest versions pyproject.toml allows; then run make test
	$(BIN)/uv pip compile pyproject.toml --extra test --extra spark --extra lake --python-version 3.11 --upgrade -o requirements.lock

docs: install  ## rewrite docs/cli.md and docs/settings.md from the commands' help and etl/settings.py
	$(BIN)/python -m etl.reference docs

lint: install  ## ruff over the tree, mypy over the package's code (etl/, dashboard/)
	$(BIN)/ruff check .
	$(BIN)/mypy

bench: install  ## measure load, reports and pages at 100k and 1M applications; tables to data/bench/benchmarks.md
	$(BIN)/python -m bench --sizes 100000,1000000

sample: install
	$(BIN)/mio generate --out data/sample

load: install
	$(BIN)/mio load --source data/sample

clean:
	rm -rf $(VENV) data/sample data/warehouse.duckdb* .pytest_cache
