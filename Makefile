# Switchyard — the two commands a fresh machine needs:
#   make run    build (release), install the example plugins into plugins/, serve on 127.0.0.1:3000
#   make test   build and run every test: Swift unit/handler tests, then interop tests
#               with real clients against the real server binary and real plugins
#   make fuzz   build the libFuzzer targets and run each for FUZZ_SECONDS (docs/FUZZING.md)

SWIFT   ?= swift
PYTHON  ?= python3
VENV    := .venv
PY      := $(VENV)/bin/python
PORT    ?= 3000
FUZZ_SECONDS ?= 60
# Release builds (the server and the plugins; the same flags, so they share one build) turn
# off the run-time exclusivity checks: they cost 9% of echo throughput (BENCHMARKS.md, issue
# 15). Debug builds, which every test runs on, keep them, so a violation still traps there.
RELEASE_FLAGS ?= -c release -Xswiftc -enforce-exclusivity=unchecked

# Example plugins: SwiftPM product name -> file name in plugins/.
PLUGINS := ConformancePlugin:conformance EchoPlugin:echo ChatPlugin:chat HelloCPlugin:hello-c TokenAuthPlugin:token-auth

# Debian packages the build and the tests need (checked, installed when missing; root or sudo).
DEBIAN_PACKAGES := libsqlite3-dev libhiredis-dev libcrypt-dev redis-server chromium python3-venv

.PHONY: all deps build release plugins run test test-swift test-interop venv format clean fuzz

deps:
	@missing=""; for package in $(DEBIAN_PACKAGES); do \
	  dpkg -s $$package >/dev/null 2>&1 || missing="$$missing $$package"; \
	done; \
	if [ "$$missing" = " python3-venv" ] && $(PYTHON) -c 'import venv, ensurepip' 2>/dev/null; then missing=""; fi; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

all: build

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build $(RELEASE_FLAGS) --product switchyard

# Builds the example plugins (release) and copies them into plugins/.
plugins:
	@mkdir -p plugins
	@for entry in $(PLUGINS); do \
	  product=$${entry%%:*}; name=$${entry##*:}; \
	  $(SWIFT) build $(RELEASE_FLAGS) --product $$product >/dev/null || exit 1; \
	  cp "$$($(SWIFT) build $(RELEASE_FLAGS) --show-bin-path)/lib$$product.so" plugins/$$name.so; \
	  echo "plugins/$$name.so"; \
	done

run: release plugins
	.build/release/switchyard serve --port $(PORT)

test: test-swift test-interop

# `swift build` first: it builds the plugin and fixture libraries the tests load.
test-swift: deps
	$(SWIFT) build
	$(SWIFT) test

test-interop: venv
	$(SWIFT) build --product switchyard
	SWITCHYARD_BIN="$$($(SWIFT) build --show-bin-path)/switchyard" $(PY) -m pytest Tests/interop -q

# libFuzzer and AddressSanitizer come with the Swift toolchain; nothing more to install.
fuzz: deps
	scripts/fuzz build
	FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz run

venv: $(VENV)/.installed

$(VENV)/.installed: Tests/interop/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r Tests/interop/requirements.txt
	touch $@

format:
	$(SWIFT) format --in-place --recursive Sources Tests Package.swift

clean:
	rm -rf .build .build-fuzz $(VENV)
