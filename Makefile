# The two front-door commands: `make demo` runs the whole pipeline on the
# bundled seed articles, `make test` runs the test suite. Both create the
# environment they need first; every install step lives here or in scripts/.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test venv labelstudio browser bench bench-speed bench-scaling clean

$(BIN)/qst: pyproject.toml
	bash scripts/bootstrap.sh

venv: $(BIN)/qst

demo: venv
	$(BIN)/qst run --out out/demo

test: venv
	bash scripts/labelstudio.sh install
	bash scripts/install-browser.sh
	$(BIN)/python -m pytest

bench: venv
	$(BIN)/python scripts/bench_extract.py

bench-speed: venv
	$(BIN)/python scripts/bench_speed.py

bench-scaling: venv
	$(BIN)/python scripts/bench_scaling.py

clean:
	rm -rf out reports .pytest_cache
