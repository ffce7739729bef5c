# The two commands of the README, and a few more.
.PHONY: studio test test-fast bench setup screenshots

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
