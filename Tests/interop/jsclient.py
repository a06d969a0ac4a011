"""Harness for running the official JavaScript Socket.IO client (socket.io-client 4.8.1).

* `client_bundle()` finds the official UMD bundle: $SOCKETIO_CLIENT_JS, or the copy that the
  PyPI wheel nicegui==3.18.0 vendors (nicegui/static/socket.io.min.js), downloaded with the
  venv's pip and cached under .venv/ (git ignores it). The bundle is never committed.
* `Chromium` drives headless Chromium over the Chrome DevTools Protocol with websocket-client.
* `StaticServer` serves the test page, scenarios.js and the bundle from another origin than
  the Socket.IO server's, so the browser also exercises CORS.
* `run_node()` runs the same scenarios in Node (`--experimental-websocket`), over WebSocket
  natively and over HTTP long-polling through a small XMLHttpRequest shim (js/xhr_shim.js).

Nothing here skips: a missing browser, bundle or Node is an error (CI installs them).
"""
import base64
import functools
import http.server
import json
import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import zipfile

import websocket

ROOT = pathlib.Path(__file__).resolve().parents[2]
JS_DIR = pathlib.Path(__file__).resolve().parent / "js"

CLIENT_VERSION = "4.8.1"
BANNER = f"Socket.IO v{CLIENT_VERSION}"
WHEEL = "nicegui==3.18.0"
WHEEL_MEMBER = "nicegui/static/socket.io.min.js"
CACHE_DIR = ROOT / ".venv" / "socketio-client-js" / CLIENT_VERSION


class HarnessError(RuntimeError):
    """The interop harness itself could not be set up (missing browser, bundle, Node)."""


# --------------------------------------------------------------------------- the client bundle


def _check_banner(path):
    head = path.read_bytes()[:200].decode("utf-8", errors="replace")
    if BANNER not in head:
        raise HarnessError(f"{path} is not the Socket.IO v{CLIENT_VERSION} bundle: it starts with {head[:80]!r}")
    return path


def _pip_command():
    venv_pip = ROOT / ".venv" / "bin" / "pip"
    return [str(venv_pip)] if venv_pip.exists() else [sys.executable, "-m", "pip"]


@functools.lru_cache(maxsize=None)
def client_bundle():
    """Returns the path of the official socket.io-client 4.8.1 browser bundle."""
    configured = os.environ.get("SOCKETIO_CLIENT_JS")
    if configured:
        path = pathlib.Path(configured)
        if not path.is_file():
            raise HarnessError(f"SOCKETIO_CLIENT_JS={configured} is not a file")
        return _check_banner(path)

    cached = CACHE_DIR / "socket.io.min.js"
    if cached.is_file():
        return _check_banner(cached)

    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="nicegui-wheel-", dir=CACHE_DIR) as download_dir:
        command = [*_pip_command(), "download", WHEEL, "--no-deps", "--disable-pip-version-check",
                   "--quiet", "-d", download_dir]
        result = subprocess.run(command, capture_output=True, text=True, timeout=300)
        if result.returncode != 0:
            raise HarnessError(
                f"could not download {WHEEL} to get the Socket.IO client bundle "
                f"(set SOCKETIO_CLIENT_JS to a copy of socket.io.min.js v{CLIENT_VERSION}):\n"
                f"$ {' '.join(command)}\n{result.stdout}{result.stderr}"
            )
        wheels = sorted(pathlib.Path(download_dir).glob("nicegui-*.whl"))
        if not wheels:
            raise HarnessError(f"pip download {WHEEL} produced no wheel in {download_dir}")
        with zipfile.ZipFile(wheels[0]) as wheel:
            try:
                data = wheel.read(WHEEL_MEMBER)
            except KeyError:
                raise HarnessError(f"{wheels[0].name} has no {WHEEL_MEMBER}") from None
    partial = cached.with_suffix(".partial")
    partial.write_bytes(data)
    _check_banner(partial)
    partial.replace(cached)
    return cached


# --------------------------------------------------------------------------- static page server


class StaticServer:
    """Serves /page.html, /scenarios.js and /socket.io.min.js on 127.0.0.1:<free port>."""

    def __init__(self, bundle):
        files = {
            "/page.html": (JS_DIR / "page.html", "text/html; charset=utf-8"),
            "/scenarios.js": (JS_DIR / "scenarios.js", "text/javascript; charset=utf-8"),
            "/socket.io.min.js": (pathlib.Path(bundle), "text/javascript; charset=utf-8"),
        }

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server API
                entry = files.get(self.path.split("?", 1)[0])
                if entry is None:
                    self.send_error(404)
                    return
                body = entry[0].read_bytes()
                self.send_response(200)
                self.send_header("Content-Type", entry[1])
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.origin = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


# --------------------------------------------------------------------------- Chromium over CDP

DEVTOOLS = re.compile(r"DevTools listening on (ws://\S+)")


def chromium_binary():
    configured = os.environ.get("CHROMIUM_BIN")
    candidates = [configured] if configured else ["chromium", "chromium-browser", "google-chrome"]
    for name in candidates:
        found = shutil.which(name) if name else None
        if found:
            return found
    raise HarnessError(
        f"no Chromium found (tried {candidates}); install it with `apt-get install -y chromium` "
        "or set CHROMIUM_BIN"
    )


class CDPError(RuntimeError):
    pass


class Chromium:
    """One headless Chromium process and a DevTools connection to its browser target."""

    def __init__(self):
        self.profile = tempfile.mkdtemp(prefix="switchyard-chromium-")
        self.process = None
        self.ws = None
        self._next_id = 0
        self._events = []
        args = [
            chromium_binary(), "--headless=new", "--no-sandbox", "--remote-debugging-port=0",
            f"--user-data-dir={self.profile}", "--no-first-run", "--no-default-browser-check",
            "--disable-gpu", "--disable-dev-shm-usage", "--disable-extensions",
            "--disable-background-networking", "--disable-background-timer-throttling",
            "--disable-renderer-backgrounding", "--disable-backgrounding-occluded-windows",
            "about:blank",
        ]
        # Its own process group, so teardown can SIGKILL Chromium and all its helpers by id.
        self.process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE, start_new_session=True)
        self._stderr_lines = []
        self._devtools_url = None
        self._devtools_seen = threading.Event()
        threading.Thread(target=self._read_stderr, daemon=True).start()
        try:
            url = self._wait_for_devtools_url(timeout=30)
            self.ws = websocket.create_connection(url, timeout=60, suppress_origin=True)
        except BaseException:
            self.close()
            raise

    def _read_stderr(self):
        """Keeps Chromium's stderr drained; notes the DevTools URL when it is printed."""
        for raw in self.process.stderr:
            line = raw.decode("utf-8", errors="replace")
            if len(self._stderr_lines) < 2000:
                self._stderr_lines.append(line)
            match = DEVTOOLS.search(line)
            if match and self._devtools_url is None:
                self._devtools_url = match.group(1)
                self._devtools_seen.set()
        self._devtools_seen.set()  # stderr closed: Chromium is gone

    def _stderr(self):
        return "".join(self._stderr_lines)

    def _wait_for_devtools_url(self, timeout):
        if not self._devtools_seen.wait(timeout):
            raise HarnessError(f"Chromium printed no DevTools URL within {timeout} s:\n{self._stderr()[-3000:]}")
        if self._devtools_url is None:
            self.process.wait(timeout=10)
            raise HarnessError(f"Chromium exited with {self.process.returncode}:\n{self._stderr()[-3000:]}")
        return self._devtools_url

    # -- protocol

    def send(self, method, params=None, session=None, timeout=60):
        self._next_id += 1
        message_id = self._next_id
        message = {"id": message_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        self.ws.send(json.dumps(message))
        deadline = time.monotonic() + timeout
        while True:
            reply = self._receive(deadline, f"the reply to {method}")
            if reply.get("id") == message_id:
                if "error" in reply:
                    raise CDPError(f"{method} failed: {reply['error']}")
                return reply.get("result", {})

    def _receive(self, deadline, what):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise CDPError(f"timed out waiting for {what}")
        self.ws.settimeout(remaining)
        try:
            message = json.loads(self.ws.recv())
        except websocket.WebSocketTimeoutException:
            raise CDPError(f"timed out waiting for {what}") from None
        if "method" in message:
            self._events.append(message)
        return message

    def wait_event(self, method, session, timeout=30):
        deadline = time.monotonic() + timeout
        seen = 0
        while True:
            for event in self._events[seen:]:
                if event["method"] == method and event.get("sessionId") == session:
                    return event
            seen = len(self._events)
            self._receive(deadline, f"event {method}")

    def events(self, session):
        return [e for e in self._events if e.get("sessionId") == session]

    def forget_events(self, session):
        self._events = [e for e in self._events if e.get("sessionId") != session]

    # -- pages

    def open_page(self, url):
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        page = Page(self, target, session)
        for domain in ("Page", "Runtime", "Network", "Log"):
            self.send(f"{domain}.enable", session=session)
        self.send("Page.navigate", {"url": url}, session=session)
        self.wait_event("Page.loadEventFired", session, timeout=30)
        return page

    def close(self):
        if self.ws is not None:
            try:
                self.ws.close()
            except Exception:  # noqa: BLE001 - teardown must not cascade
                pass
        if self.process is not None and self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait(timeout=10)
        shutil.rmtree(self.profile, ignore_errors=True)


class Page:
    def __init__(self, browser, target, session):
        self.browser = browser
        self.target = target
        self.session = session

    def evaluate(self, expression, timeout=60):
        result = self.browser.send(
            "Runtime.evaluate",
            {"expression": expression, "awaitPromise": True, "returnByValue": True},
            session=self.session, timeout=timeout,
        )
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            description = details.get("exception", {}).get("description") or details.get("text")
            raise CDPError(f"page script threw: {description}")
        return result["result"].get("value")

    def traffic(self, limit=200):
        """A readable log of the page's console, CORS/network errors, HTTP and WebSocket traffic."""
        lines = []
        bodies = {}
        first = None
        for event in self.browser.events(self.session):
            method, params = event["method"], event.get("params", {})
            stamp = params.get("timestamp")
            prefix = ""
            if isinstance(stamp, (int, float)) and method.startswith("Network."):
                first = stamp if first is None else first
                prefix = f"+{(stamp - first) * 1000:.0f} ms "
            before = len(lines)
            if method == "Network.requestWillBeSent":
                request = params["request"]
                body = request.get("postData")
                line = f"HTTP {request['method']} {request['url']}"
                lines.append(line + (f" body={_clip(body)!r}" if body is not None else ""))
            elif method == "Network.responseReceived":
                response = params["response"]
                lines.append(f"  -> {response['status']} {response['url']}")
                if params.get("type") in ("XHR", "Fetch"):
                    bodies[params["requestId"]] = response["url"]
            elif method == "Network.loadingFailed":
                lines.append(f"  !! request failed: {params.get('errorText')} "
                             f"{params.get('blockedReason') or params.get('corsErrorStatus') or ''}")
            elif method == "Network.loadingFinished" and params["requestId"] in bodies:
                try:
                    body = self.browser.send("Network.getResponseBody", {"requestId": params["requestId"]},
                                             session=self.session, timeout=5)
                    text = body["body"]
                    if body.get("base64Encoded"):
                        text = base64.b64decode(text).decode("utf-8", errors="replace")
                    lines.append(f"  <- body {_clip(text)!r}")
                except CDPError:
                    pass
            elif method == "Network.webSocketCreated":
                lines.append(f"WS open {params['url']}")
            elif method == "Network.webSocketFrameSent":
                lines.append(f"WS -> {_frame(params['response'])}")
            elif method == "Network.webSocketFrameReceived":
                lines.append(f"WS <- {_frame(params['response'])}")
            elif method == "Network.webSocketFrameError":
                lines.append(f"WS !! {params.get('errorMessage')}")
            elif method == "Network.webSocketClosed":
                lines.append("WS closed")
            elif method == "Runtime.consoleAPICalled":
                text = " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", []))
                lines.append(f"console.{params.get('type')}: {_clip(text)}")
            elif method == "Runtime.exceptionThrown":
                lines.append(f"exception: {params['exceptionDetails'].get('text')}")
            elif method == "Log.entryAdded":
                entry = params["entry"]
                lines.append(f"log.{entry.get('level')}: {_clip(entry.get('text'))}")
            if prefix:
                lines[before:] = [prefix + line for line in lines[before:]]
        if len(lines) > limit:
            lines = lines[: limit // 2] + [f"... {len(lines) - limit} lines left out ..."] + lines[-limit // 2:]
        return "\n".join(lines)

    def close(self):
        try:
            self.browser.send("Target.closeTarget", {"targetId": self.target}, timeout=10)
        finally:
            self.browser.forget_events(self.session)


def _clip(value, limit=300):
    if value is None:
        return value
    return value if len(value) <= limit else value[:limit] + f"...(+{len(value) - limit})"


def _frame(response):
    opcode = response.get("opcode")
    payload = response.get("payloadData", "")
    if opcode == 2:
        try:
            data = base64.b64decode(payload)
        except ValueError:
            data = payload.encode()
        return f"binary {len(data)} bytes {_clip(data.hex(), 120)}"
    return f"text {_clip(payload)!r}"


# --------------------------------------------------------------------------- Node


def node_binary():
    found = shutil.which(os.environ.get("NODE_BIN", "node"))
    if not found:
        raise HarnessError("no Node.js found (need v20+ for --experimental-websocket); set NODE_BIN")
    return found


def run_node(request, timeout=45):
    """Runs js/node_runner.js with `request` (JSON on stdin); returns its parsed reply."""
    command = [node_binary(), "--experimental-websocket", "--no-warnings", str(JS_DIR / "node_runner.js")]
    try:
        result = subprocess.run(command, input=json.dumps(request), capture_output=True, text=True,
                                timeout=timeout, cwd=JS_DIR)
    except subprocess.TimeoutExpired as error:
        raise AssertionError(f"node runner did not finish within {timeout} s; stderr:\n{error.stderr}") from None
    marker = "SWITCHYARD-RESULT "
    for line in result.stdout.split("\n"):  # not splitlines(): results may hold U+2028
        if line.startswith(marker):
            return json.loads(line[len(marker):])
    raise AssertionError(
        f"node runner exited with {result.returncode} and no result\nstdout:\n{result.stdout[-3000:]}\n"
        f"stderr:\n{result.stderr[-3000:]}"
    )
