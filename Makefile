# The two commands of the README, and a few more.
.PHONY: studio test test-fast bench setup screenshots mutate mutate-results

PORT ?= 7860
PRESET ?=

setup:
	bash scripts/setup.sh

# Install into .venv and start the studio on http://127.0.0.1:$(PORT) (the animatic preset offline).
studio:
	bash scripts/setup.sh
	.venv/bin/python app.py --port $(PORT) $(if $(PRESET),--preset $(PRESET))

# Install everything the tests need and run the whole suite.
test:
	bash scripts/setup.sh --test
	.venv/bin/python -m pytest

test-fast:
	.venv/bin/python -m pytest -m "not browser and not slow" -x -q

bench:
	.venv/bin/python -m studio bench --preset $(or $(PRESET),tiny) --json

# Refresh the README's screenshots (the browser test on the animatic preset).
screenshots:
	STUDIO_SCREENSHOTS=docs/screenshots .venv/bin/python -m pytest tests/browser -q

# Mutation testing (mutmut) of the generate, refine, project, cluster and ui/owners modules, each against its
# own fast tests (scripts/mutate.sh lists them), in a throwaway snapshot of the tree, at most MUTATE_SECONDS
# per module; `make mutate-results` prints the scores and survivors (.mutate/MODULE.txt). One module alone:
# `make mutate-refine`; several side by side: `make -j3 mutate-generate mutate-refine mutate-project`.
MUTATE_MODULES ?= generate refine project cluster owners
MUTATE_SECONDS ?= 1800
MUTATE_PYTHON ?= $(CURDIR)/.venv/bin/python
mutate:
	for module in $(MUTATE_MODULES); do PYTHON=$(MUTATE_PYTHON) nice -n 10 bash scripts/mutate.sh $$module $(MUTATE_SECONDS); done

mutate-%:
	PYTHON=$(MUTATE_PYTHON) nice -n 10 bash scripts/mutate.sh $* $(MUTATE_SECONDS)

mutate-results:
	cat .mutate/*.txt
