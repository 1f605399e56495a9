# Two commands do everything on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
IKBT := $(VENV)/bin/ikbt
STAMP := $(VENV)/.installed
DEMO_DB := $(CURDIR)/var/demo.sqlite3
DEMO_EID := http://127.0.0.1:9400
# New patients register with e-identification: in the demo, `ikbt demo_eid`'s stand-in.
DEMO_ENV := DEBUG=true IKBT_DATA_DIR=$(CURDIR)/var DATABASE_URL=sqlite:///$(DEMO_DB) \
	OIDC_RP_CLIENT_ID=open-ikbt-demo OIDC_RP_CLIENT_SECRET=demo \
	OIDC_OP_AUTHORIZATION_ENDPOINT=$(DEMO_EID)/oauth2/authorize \
	OIDC_OP_TOKEN_ENDPOINT=$(DEMO_EID)/oauth2/token OIDC_OP_USER_ENDPOINT=$(DEMO_EID)/userinfo \
	OIDC_OP_JWKS_ENDPOINT=$(DEMO_EID)/jwks OIDC_VERIFY_KID=false

.PHONY: demo test lint format messages bench faults clean

$(STAMP): pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -e ".[test,bench]"
	touch $(STAMP)

# The demo database is reset on every run (var/demo.sqlite3 is removed and rebuilt), so each
# demo starts from the same known state. The task worker and the stand-in e-identification
# run beside the web server.
demo: $(STAMP)
	mkdir -p var
	rm -f $(DEMO_DB) $(DEMO_DB)-wal $(DEMO_DB)-shm
	$(DEMO_ENV) $(IKBT) migrate --noinput
	$(DEMO_ENV) $(IKBT) demo
	$(DEMO_ENV) sh -c '$(IKBT) worker & worker=$$!; $(IKBT) demo_eid & eid=$$!; \
		trap "kill $$worker $$eid 2>/dev/null" EXIT INT TERM; \
		$(IKBT) runserver 127.0.0.1:8000'

test: $(STAMP)
	$(VENV)/bin/pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/bandit -r src -q -x '*/tests/*,*/migrations/*'  # findings marked "nosec" say why

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Refresh the Swedish catalogue after changing strings; the compiled .mo is committed.
messages: $(STAMP)
	cd src/ikbt && DEBUG=true ../../$(IKBT) makemessages --locale sv --no-obsolete --no-location
	cd src/ikbt && DEBUG=true ../../$(IKBT) compilemessages --locale sv

# Every benchmark on the PostgreSQL at 127.0.0.1:5432 (about 45 minutes); the figures and the
# machine go into docs/performance.md.
bench: $(STAMP)
	DATABASE_URL=postgres://postgres@127.0.0.1:5432/test $(VENV)/bin/python bench/query_counts.py
	$(VENV)/bin/python bench/load.py
	$(VENV)/bin/python bench/scale.py

# PostgreSQL restarted under a write load (this machine's PostgreSQL restarts); into
# docs/reliability.md.
faults: $(STAMP)
	$(VENV)/bin/python bench/faults.py

clean:
	rm -rf $(VENV) var
