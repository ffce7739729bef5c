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

# Mutation testing (mutmut) over the memory, blending, project and archive modules; `make mutate-results` lists
# the survivors. MUTATE_PATHS narrows it (one module takes minutes on two cores).
MUTATE_PATHS ?= studio/generate/cam.py,studio/generate/apm.py,studio/refine/blending.py,studio/project/model.py,studio/project/json_input.py,studio/export/archive.py
mutate:
	.venv/bin/python -m mutmut run --paths-to-mutate $(MUTATE_PATHS) --tests-dir tests/unit \
		--runner ".venv/bin/python -m pytest -x -q -p no:cacheprovider tests/unit/test_cam.py tests/unit/test_apm.py tests/unit/test_blending.py tests/unit/test_project.py tests/unit/test_fuzz_project.py tests/unit/test_archive.py"

mutate-results:
	.venv/bin/python -m mutmut results
