# The whole test suite runs against real services: `make test` installs
# redis-server from Debian's packages when it is missing.
SHELL := /bin/bash
GO ?= go
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: test vet redis-server

test: vet redis-server
	$(GO) test -race -count=1 ./...
	$(GO) test -race -count=1 ./_example
	cd benchmarks && $(GO) vet ./... && $(GO) test -count=1 ./...
	cd migrate && $(GO) vet ./... && $(GO) test -race -count=1 ./...
	cd websockettest && $(GO) vet ./... && $(GO) test -race -count=1 ./...

vet:
	@unformatted=$$(gofmt -l . ); if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./... ./_example
	$(GO) build -o /dev/null ./_example

# redis-server (and redis-cli, for the cluster tests) from Debian's packages;
# the Sentinel tests run redis-server --sentinel, so redis-sentinel is not needed.
redis-server:
	@command -v redis-server >/dev/null && command -v redis-cli >/dev/null || \
		{ $(SUDO) apt-get update -qq && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server; }

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
bench: redis-server
	cd benchmarks && ./run.sh
