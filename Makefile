# The whole test suite runs against real services: `make test` installs
# redis-server, PostgreSQL and MariaDB from Debian's packages when they are
# missing.
SHELL := /bin/bash
GO ?= go
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: test vet redis-server postgresql mariadb-server example-postgres example-sqlite

# The workspace that builds the example with the PostgreSQL store (the
# postgres build tag), whose module the root module does not require.
EXAMPLE_WORK := $(CURDIR)/pgstore/example.work

# The workspace that builds the example and the root module's model tests
# with the SQL store on SQLite (the sqlite build tag).
SQLITE_WORK := $(CURDIR)/sqlstore/example.work

test: vet redis-server postgresql mariadb-server
	$(GO) test -race -count=1 ./...
	$(GO) test -race -count=1 ./_example
	cd pgstore && $(GO) vet ./... && $(GO) test -race -count=1 ./...
	cd sqlstore && $(GO) vet ./... && $(GO) test -race -count=1 ./...
	GOWORK=$(SQLITE_WORK) $(GO) test -race -count=1 -tags sqlite -run 'ModelSQLite' .
	cd otelsessions && $(GO) vet ./... && $(GO) test -race -count=1 ./...
	cd benchmarks && $(GO) vet ./... && $(GO) test -count=1 ./...
	cd migrate && $(GO) vet ./... && $(GO) test -race -count=1 ./...
	cd websockettest && $(GO) vet ./... && $(GO) test -race -count=1 ./...

vet:
	@unformatted=$$(gofmt -l . ); if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./... ./_example
	$(GO) build -o /dev/null ./_example
	GOWORK=$(EXAMPLE_WORK) $(GO) vet -tags postgres ./_example
	GOWORK=$(SQLITE_WORK) $(GO) vet -tags sqlite . ./_example

# redis-server (and redis-cli, for the cluster tests) from Debian's packages;
# the Sentinel tests run redis-server --sentinel, so redis-sentinel is not needed.
redis-server:
	@command -v redis-server >/dev/null && command -v redis-cli >/dev/null || \
		{ $(SUDO) apt-get update -qq && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server; }

# PostgreSQL's initdb and postgres, for the throwaway servers of the pgstore
# tests (internal/pgtest finds them in PATH or in /usr/lib/postgresql/*/bin).
postgresql:
	@command -v initdb >/dev/null && command -v postgres >/dev/null || ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || \
		{ $(SUDO) apt-get update -qq && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; }

# mariadbd and mariadb-install-db, for the throwaway servers of the sqlstore
# tests (internal/mariadbtest finds them in PATH or in /usr/sbin); the
# tests never use a MariaDB the machine runs already.
mariadb-server:
	@command -v mariadbd >/dev/null || [ -x /usr/sbin/mariadbd ] || \
		{ $(SUDO) apt-get update -qq && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mariadb-server; }

# The example site with its sessions in the SQLite file at SQLITE_PATH
# (default sessions.db, created when missing).
example-sqlite:
	SQLITE_PATH=$${SQLITE_PATH:-sessions.db} GOWORK=$(SQLITE_WORK) $(GO) run -tags sqlite ./_example

# The example site with its sessions in PostgreSQL at DATABASE_URL.
example-postgres:
	GOWORK=$(EXAMPLE_WORK) $(GO) run -tags postgres ./_example

.PHONY: e2e chromium

# The example site in a real headless browser: Debian's chromium driven from
# the separate e2e/ module, so chromedp never enters the root module.
e2e: chromium
	cd e2e && $(GO) test -count=1 ./...

chromium:
	@command -v chromium >/dev/null || \
		{ $(SUDO) apt-get update -qq && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

.PHONY: bench

# Side by side with gin-contrib/sessions and scs; see benchmarks/README.md.
bench: redis-server postgresql mariadb-server
	cd benchmarks && ./run.sh

.PHONY: release-check

# Proves that the modules resolve once tagged: the zips of the root, pgstore,
# migrate and sqlstore at the release (the newest in CHANGELOG.md, or VERSION=v0.x.y)
# in a module proxy in a temporary folder, and fresh modules outside the
# repository that go get and build them. See CONTRIBUTING.md.
release-check:
	$(GO) run ./internal/releasecheck $(if $(VERSION),-version $(VERSION))
