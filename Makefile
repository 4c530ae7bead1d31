# The README's commands. Each sets up (or reuses) the environment first: tools/setup_env.sh.
PYTHON := .venv/bin/python
PYTEST_ARGS ?=

.PHONY: env test demo benchmarks capabilities clean-venv

env:
	@bash tools/setup_env.sh

test: env
	$(PYTHON) -m pytest $(PYTEST_ARGS)

demo: env
	$(PYTHON) tools/run_demo.py --work-dir work_dirs/demo

# The speed benchmarks (minutes). The capability benchmark trains every synthetic head x 3 seeds
# (hours on a CPU) and has its own target.
benchmarks: env
	@for b in tools/benchmarks/*.py; do \
	  case $$b in */synthetic_capabilities.py) continue;; esac; \
	  echo "== $$b"; $(PYTHON) $$b || exit 1; done

capabilities: env
	$(PYTHON) tools/benchmarks/synthetic_capabilities.py --work-dir work_dirs/synthetic_capabilities

clean-venv:
	rm -rf .venv
