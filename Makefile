# Two commands set up everything on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
NODE_TOOLS := tests/node/node_modules/.installed

.PHONY: run test test-quick ingest serve lint bench bench-full chromium tesseract clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# The stamps reinstall when pyproject.toml or the C kernels change; torch is pinned to the CPU build 2.13.0.
# pip compiles the packages' bytecode on one core; compileall does the same on all of them. Like pip it goes on
# past the few files that are not Python 3.11 (torch ships one written for 3.12).
COMPILE := $(BIN)/python -m compileall -q -j 0 $(VENV)/lib >/dev/null || true
$(VENV)/.installed: pyproject.toml setup.py embed/e5/_kernels.c | $(BIN)/python
	$(BIN)/python -m pip install -q --no-compile -e .
	$(COMPILE)
	touch $@

# llama-cpp-python (the test extras' language-model server) compiles llama.cpp, by default for this very CPU
# (GGML_NATIVE): on a Xeon that advertises AMX it then dies at its first completion. We build it for any
# x86-64 CPU with AVX2 and keep the wheel in a folder named after these flags, so that neither pip's cache
# (keyed by the source archive, not the flags) nor an earlier native build can be installed instead.
LLAMA := llama-cpp-python==0.3.36
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON \
	-DGGML_AVX512=OFF -DGGML_AVX_VNNI=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF
LLAMA_WHEELS := $(HOME)/.cache/lvo/wheels/$(shell echo '$(LLAMA) $(LLAMA_CMAKE_ARGS)' | cksum | cut -d' ' -f1)

$(VENV)/.installed-test: pyproject.toml setup.py embed/e5/_kernels.c Makefile | $(BIN)/python
	ls $(LLAMA_WHEELS)/llama_cpp_python-*.whl >/dev/null 2>&1 || CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" \
		$(BIN)/python -m pip wheel -q --no-cache-dir --no-deps -w $(LLAMA_WHEELS) '$(LLAMA)'
	$(BIN)/python -m pip install -q --no-compile --force-reinstall --no-deps $(LLAMA_WHEELS)/llama_cpp_python-*.whl
	$(BIN)/python -m pip install -q --no-compile -e '.[test]'
	$(COMPILE)
	touch $@ $(VENV)/.installed

run: $(VENV)/.installed tesseract
	$(BIN)/lvo ingest
	$(BIN)/lvo serve

# Two workers (pytest-xdist): one holds the sample index and the language model server (tests/conftest.py).
test: $(VENV)/.installed-test chromium tesseract $(NODE_TOOLS)
	$(BIN)/python -m pytest -n 2 --dist loadgroup

# Everything but the tests marked slow (browser, servers, many processes, kills).
test-quick: $(VENV)/.installed-test tesseract
	$(BIN)/python -m pytest -m "not slow"

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .

# Browser tests drive Debian's Chromium (never a browser downloaded by playwright).
chromium:
	@test -x /usr/bin/chromium || { \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
		else echo "Bitte Chromium installieren: sudo apt-get install chromium" >&2; exit 1; fi; }

# The tests' npm packages (tests/node/): axe-core checks the chat's accessibility in the browser, oidc-provider is
# the OpenID Provider of the single sign-on tests. npm installs the locked versions from its registry.
$(NODE_TOOLS): tests/node/package.json tests/node/package-lock.json
	@command -v npm >/dev/null || { \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null; \
		else echo "Bitte npm installieren: sudo apt-get install npm" >&2; exit 1; fi; }
	npm ci --prefix tests/node --no-audit --no-fund --silent
	touch $@

# Scanned PDF pages are read by Debian's Tesseract with German language data (docs/ocr.md). Without it
# `lvo ingest` still indexes everything else, so only the tests insist on it.
TESSERACT_REQUIRED ?= 0
test test-quick bench: TESSERACT_REQUIRED = 1
tesseract:
	@{ command -v tesseract >/dev/null && tesseract --list-langs 2>/dev/null | grep -qx deu; } || { \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tesseract-ocr tesseract-ocr-deu >/dev/null; \
		else echo "Bitte Tesseract mit deutschen Sprachdaten installieren: sudo apt-get install tesseract-ocr tesseract-ocr-deu" >&2; exit $(TESSERACT_REQUIRED); fi; }

clean:
	rm -rf $(VENV) .lvo .lvo.rebuild .pytest_cache

# Benchmarks (docs/benchmarks.md): one table each, details in bench/results.json.
bench: $(VENV)/.installed-test tesseract
	$(BIN)/python bench/run.py --profile quick

bench-full: $(VENV)/.installed-test
	$(BIN)/python bench/run.py --profile full

.PHONY: fuzz
# Fuzz every loader and gold-set reader (fuzz/run.py): FUZZ_SECONDS in total, shared by the targets.
FUZZ_SECONDS ?= 60
fuzz: $(VENV)/.installed-test
	$(BIN)/python fuzz/run.py --seconds $(FUZZ_SECONDS)
