# codeindex — `make` alone lists the targets.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DB     ?= sqlite:///codeindex.sqlite
OUT    ?= export

.DEFAULT_GOAL := help
.PHONY: help venv run demo serve test test-fast lint bench bench-quick clean

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN{FS=":.*## "}{printf "  make %-12s %s\n",$$1,$$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev,demo,postgres,bench,distributed,metrics,github-app]'
	@touch $(STAMP)

venv: $(STAMP) ## create .venv and install codeindex with its dev tools

run: $(STAMP) ## crawl the configured accounts into ./codeindex.sqlite and export JSON to ./export
	@# exit 3 = partial (failed accounts or stale details, stored with their cause): still export; 1 = nothing
	@# crawled, 2 = bad config or database: stop
	$(BIN)/codeindex --db $(DB) crawl || test $$? -eq 3
	$(BIN)/codeindex --db $(DB) export --out $(OUT)

demo: $(STAMP) ## offline demo: simulated forge seeded with the real 2021 data, crawl, export (its own files)
	$(BIN)/codeindex demo

# `make serve` serves the real index when there is one, else the demo's (after `make demo`)
SERVE_DB  ?= $(if $(wildcard codeindex.sqlite),$(DB),sqlite:///codeindex-demo.sqlite)
SERVE_OUT ?= $(if $(wildcard codeindex.sqlite),$(OUT),export-demo)

serve: $(STAMP) ## serve the index and its export on http://127.0.0.1:8000/ (search page, /api/v1/, /data/)
	$(BIN)/codeindex --db $(SERVE_DB) serve --export $(SERVE_OUT)

test: $(STAMP) ## run the whole suite (SQLite; PostgreSQL too when CODEINDEX_TEST_POSTGRES is set)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-fast: $(STAMP) ## the suite without the tests marked slow, for quick local loops
	$(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

lint: $(STAMP) ## ruff on every Python folder, mypy --strict (set in pyproject.toml) on the code
	$(BIN)/ruff check crawler index simforge bench tests
	$(BIN)/mypy crawler index simforge bench

bench: $(STAMP) ## benchmark at x1 and x10 scale, and x10 with 1 and 3 workers if CODEINDEX_BENCH_POSTGRES is set
	$(BIN)/python -m bench --scales 1,10 $(if $(CODEINDEX_BENCH_POSTGRES),--distributed-scales 10)

bench-quick: $(STAMP) ## benchmark at x1 scale only
	$(BIN)/python -m bench --scales 1

clean: ## remove the venv, the default index and the export, and the demo's
	rm -rf $(VENV) codeindex.sqlite $(OUT) codeindex-demo.sqlite export-demo .pytest_cache
