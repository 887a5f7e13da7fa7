# trialdash: the two commands a fresh Debian machine with Python 3.11 needs.
#   make run    install everything, load the bundled demo trial, start the app
#   make test   install everything (Chromium included), run the whole test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
DEMO_WAREHOUSE := warehouse/demo.duckdb
DEMO_EXPORTS   := $(sort $(wildcard demo/exports/*))
PORT ?= 8501

.PHONY: run test install fonts chromium demo bench clean

run: install demo
	TRIALDASH_WAREHOUSE=$(DEMO_WAREHOUSE) TRIALDASH_USERS=demo/users.toml TRIALDASH_DEMO=1 $(BIN)/streamlit run app.py \
	  --server.address 127.0.0.1 --server.port $(PORT) --server.headless true \
	  --browser.gatherUsageStats false

# Test files run in parallel worker processes (pytest-xdist), one file per worker at a time
# (--dist loadfile: a module's browser server and warehouse copies stay in one process), as many
# workers as CPUs, at most 4 (each worker builds its own session demo warehouse). Files are handed
# out in collection order, the longest first (tests/conftest.py LONG_FILES_FIRST), not xdist's
# order by number of tests, which left one long file running alone at the end.
test: install chromium
	$(BIN)/python -m pytest -n auto --maxprocesses 4 --dist loadfile --no-loadscope-reorder

install: $(VENV)/.installed fonts

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/pip check
	touch $@

# The committee packet (python -m report) typesets Japanese verbatim terms with Noto Sans CJK JP
# (report/fonts.py): Debian's fonts-noto-cjk, installed once.
CJK_FONT := /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc
fonts:
	@[ -f $(CJK_FONT) ] || { $(SUDO) apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-noto-cjk; }

# Debian's Chromium for the browser tests (Playwright never downloads a browser here), and a CJK
# font so the screenshots show the Japanese verbatim terms rather than empty boxes.
chromium:
	@{ command -v chromium >/dev/null 2>&1 && [ -f /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc ]; } || { \
	  $(SUDO) apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk; }

# The demo warehouse is separate from the real one (warehouse/trial.duckdb): demo data never
# mixes with a site's real exports.
demo: install
	$(BIN)/python -m etl load $(DEMO_EXPORTS) --warehouse $(DEMO_WAREHOUSE)

bench: install
	$(BIN)/python -m bench

clean:
	chmod -R u+w warehouse/*.archive warehouse/*.packets 2>/dev/null || true  # read-only by design
	rm -rf $(VENV) warehouse/*.duckdb warehouse/*.runs warehouse/*.archive warehouse/*.packets
