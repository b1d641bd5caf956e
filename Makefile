# The two commands: `make run` (dashboard on the Nansha sample data) and `make test`.
# Both create the virtual environment on first use.
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: run test lint bench browser oidc

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	rm -f $(VENV)/.installed-* && touch $(STAMP)

run: $(STAMP)
	$(PY) -m microbranch serve --address 127.0.0.1 --port 8501  # this machine only: see docs/operations.md

browser:
	@# chromium prints the PDF report and runs the browser tests; fonts-noto-cjk embeds Chinese in the PDF;
	@# poppler-utils (pdftotext, pdffonts, pdftoppm) reads the PDF back in the tests; nginx and openssl try
	@# deploy/nginx.conf with a self-signed certificate on loopback.
	@command -v chromium >/dev/null && command -v pdftotext >/dev/null && fc-list | grep -qi "Noto Sans CJK" && \
		test -x /usr/sbin/nginx && command -v openssl >/dev/null || \
		{ apt-get update -qq && apt-get install -y -qq chromium fonts-noto-cjk poppler-utils nginx openssl >/dev/null; }

oidc: tests/e2e/oidc/node_modules/.installed

# The OpenID Connect provider the identity-provider browser test signs in at (npm `oidc-provider`, pinned in
# tests/e2e/oidc/package-lock.json), run with this machine's Node.js.
tests/e2e/oidc/node_modules/.installed: tests/e2e/oidc/package.json tests/e2e/oidc/package-lock.json
	@command -v npm >/dev/null || { apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null; }
	npm ci --prefix tests/e2e/oidc --no-audit --no-fund --loglevel=error
	touch $@

test: $(STAMP) browser oidc
	$(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/sqlfluff lint queries/ microbranch/*.sql microbranch/storage/sql/*.sql

bench: $(STAMP) browser
	$(PY) benchmarks/bench_pages.py
	$(PY) benchmarks/bench_browser.py
	$(PY) benchmarks/bench_load.py
	$(PY) benchmarks/bench_coverage.py
	$(PY) benchmarks/bench_import.py
