# Switchyard — the two commands a fresh machine needs:
#   make run    build (release) and serve the conformance app on 127.0.0.1:3000
#   make test   build and run every test: Swift unit/handler tests, then interop tests
#               with real python-socketio clients against the real server binary

SWIFT   ?= swift
PYTHON  ?= python3
VENV    := .venv
PY      := $(VENV)/bin/python
CONFIG  ?= examples/conformance.json
PORT    ?= 3000

.PHONY: all build release run test test-swift test-interop venv format clean

all: build

build:
	$(SWIFT) build

release:
	$(SWIFT) build -c release --product switchyard

run: release
	.build/release/switchyard serve --config $(CONFIG) --port $(PORT)

test: test-swift test-interop

test-swift:
	$(SWIFT) test

test-interop: venv
	$(SWIFT) build --product switchyard
	SWITCHYARD_BIN="$$($(SWIFT) build --show-bin-path)/switchyard" $(PY) -m pytest Tests/interop -q

venv: $(VENV)/.installed

$(VENV)/.installed: Tests/interop/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r Tests/interop/requirements.txt
	touch $@

format:
	$(SWIFT) format --in-place --recursive Sources Tests Package.swift

clean:
	rm -rf .build $(VENV)
