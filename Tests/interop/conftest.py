"""Fixtures for interop tests: a real `switchyard serve` process on a free port.

The server binary comes from $SWITCHYARD_BIN (the Makefile sets it) or the debug build.
Each server is stopped with SIGKILL (a child of an async runner may have SIGTERM blocked),
and its stderr is kept in a file that failing tests print.
"""
import os
import pathlib
import re
import signal
import subprocess
import tempfile
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BINARY = os.environ.get("SWITCHYARD_BIN", str(ROOT / ".build" / "debug" / "switchyard"))
LISTENING = re.compile(r"switchyard listening on (http://\S+)")


class RunningServer:
    def __init__(self, process, url, log_path):
        self.process = process
        self.url = url
        self.log_path = log_path

    @property
    def ws_url(self):
        return self.url.replace("http://", "ws://")

    def log(self):
        return pathlib.Path(self.log_path).read_text(errors="replace")

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)


# SwiftPM product -> plugin file name, as `make plugins` installs them.
EXAMPLE_PLUGINS = {
    "ConformancePlugin": "conformance",
    "EchoPlugin": "echo",
    "ChatPlugin": "chat",
    "HelloCPlugin": "hello-c",
    "TokenAuthPlugin": "token-auth",
}


def plugin_directory(extra=()):
    """A fresh directory holding the example plugins built next to the server binary.

    `extra` names fixture products (e.g. "FixtureBehaviours") to add as <name>.so.
    """
    binary_dir = pathlib.Path(BINARY).resolve().parent
    directory = pathlib.Path(tempfile.mkdtemp(prefix="switchyard-plugins-"))
    for product, name in list(EXAMPLE_PLUGINS.items()) + [(p, p) for p in extra]:
        library = binary_dir / f"lib{product}.so"
        if not library.exists():
            raise RuntimeError(f"{library} is missing: build everything first (`swift build`)")
        os.symlink(library, directory / f"{name}.so")
    return directory


def start_server(config="examples/conformance.json", extra_args=(), env=None, plugins=None):
    """Starts the server and waits for its 'listening' line."""
    log = tempfile.NamedTemporaryFile(prefix="switchyard-", suffix=".log", delete=False)
    plugins = plugins or plugin_directory()
    if "--data" not in extra_args:
        # Each server gets its own database and admin.json unless the test shares one on purpose.
        extra_args = ("--data", tempfile.mkdtemp(prefix="switchyard-data-"), *extra_args)
    args = [BINARY, "serve", "--config", str(ROOT / config), "--plugins", str(plugins), "--port", "0",
            "--log-level", "debug", *extra_args]
    process = subprocess.Popen(
        args, cwd=ROOT, stdout=subprocess.PIPE, stderr=log, text=True, env={**os.environ, **(env or {})}
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            if process.poll() is not None:
                raise RuntimeError(f"server exited with {process.returncode}: {pathlib.Path(log.name).read_text()}")
            continue
        match = LISTENING.search(line)
        if match:
            return RunningServer(process, match.group(1), log.name)
    process.kill()
    raise RuntimeError("server did not report listening within 30 s")


@pytest.fixture(scope="module")
def server():
    running = start_server()
    yield running
    running.stop()


@pytest.fixture(params=[1, 2], ids=["one-event-loop", "two-event-loops"])
def server_on_loops(request):
    """The conformance server with one event loop (as examples/conformance.json has it) and
    with two, where the requests of one session arrive on different loops."""
    running = start_server(extra_args=("--threads", str(request.param)))
    yield running
    running.stop()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On failure, attach the tail of the server log to the report."""
    outcome = yield
    report = outcome.get_result()
    if report.failed and "server" in item.funcargs:
        tail = item.funcargs["server"].log()[-4000:]
        report.sections.append(("server log (tail)", tail))
