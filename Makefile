# The README's commands. Each sets up (or reuses) the environment first: tools/setup_env.sh.
PYTHON := .venv/bin/python
PYTEST_ARGS ?=

.PHONY: env test demo benchmarks clean-venv-link

env:
	@bash tools/setup_env.sh

test: env
	$(PYTHON) -m pytest $(PYTEST_ARGS)

demo: env
	$(PYTHON) tools/run_demo.py --work-dir work_dirs/demo

benchmarks: env
	@for b in tools/benchmarks/*.py; do echo "== $$b"; $(PYTHON) $$b || exit 1; done

clean-venv-link:
	rm -f .venv
