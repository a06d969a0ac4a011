"""Interop tests with the official JavaScript Socket.IO client (socket.io-client 4.8.1).

The same scenarios (js/scenarios.js) run
* in headless Chromium, from a page on another origin than the server (so CORS is exercised),
  with transports polling only, WebSocket only, and the default polling -> WebSocket upgrade;
* in Node (`--experimental-websocket`) over WebSocket, and over polling and the upgrade through
  a small self-written XMLHttpRequest shim on Node's `http` module (js/xhr_shim.js).

The client bundle is fetched at test time (see jsclient.py) and never committed. A missing
browser, bundle or Node fails the tests: nothing here skips.

Every scenario returns JSON that is asserted here exactly. Binary values travel as
{"$binary": hex, "type": "ArrayBuffer"} (received) or {"$binary": hex, "as": ...} (to send).
"""
import json

import pytest

import jsclient

# mode: transports passed to io() (None: the client's default, which upgrades), the transport
# expected once connected, and whether to wait for the upgrade.
MODES = {
    "polling": {"transports": ["polling"], "final": "polling", "upgrade": False},
    "websocket": {"transports": ["websocket"], "final": "websocket", "upgrade": False},
    "upgrade": {"transports": None, "final": "websocket", "upgrade": True},
}

ENVIRONMENTS = {
    "chromium-polling": ("chromium", "polling"),
    "chromium-websocket": ("chromium", "websocket"),
    "chromium-upgrade": ("chromium", "upgrade"),
    "node-websocket": ("node", "websocket"),
    "node-polling": ("node", "polling"),
    "node-upgrade": ("node", "upgrade"),
}


def environments():
    return pytest.mark.parametrize("env", list(ENVIRONMENTS), ids=list(ENVIRONMENTS))


# --------------------------------------------------------------------------- values


class U8(bytes):
    """Sent as a Uint8Array (plain bytes are sent as an ArrayBuffer)."""


class U8Sub(bytes):
    """Sent as a Uint8Array view into the middle of a larger buffer."""


def outgoing(value):
    if isinstance(value, U8Sub):
        return {"$binary": value.hex(), "as": "Uint8Array-subarray"}
    if isinstance(value, U8):
        return {"$binary": value.hex(), "as": "Uint8Array"}
    if isinstance(value, (bytes, bytearray)):
        return {"$binary": bytes(value).hex(), "as": "ArrayBuffer"}
    if isinstance(value, (list, tuple)):
        return [outgoing(v) for v in value]
    if isinstance(value, dict):
        return {k: outgoing(v) for k, v in value.items()}
    return value


def received(value):
    """What the browser client hands to a handler: every binary value as an ArrayBuffer."""
    if isinstance(value, (bytes, bytearray)):
        return {"$binary": bytes(value).hex(), "type": "ArrayBuffer"}
    if isinstance(value, (list, tuple)):
        return [received(v) for v in value]
    if isinstance(value, dict):
        return {k: received(v) for k, v in value.items()}
    return value


# --------------------------------------------------------------------------- harness


class Runner:
    """Runs scenarios in Chromium (one browser per module, a fresh page per scenario) or Node."""

    def __init__(self, server):
        self.server = server
        self.browser = None
        self.static = None

    def _bundle(self):
        try:
            return jsclient.client_bundle()
        except jsclient.HarnessError as error:
            pytest.fail(f"cannot get the official Socket.IO client bundle: {error}")

    def _chromium(self):
        if self.browser is None:
            bundle = self._bundle()
            try:
                if self.static is None:
                    self.static = jsclient.StaticServer(bundle)
                self.browser = jsclient.Chromium()
            except jsclient.HarnessError as error:
                pytest.fail(f"cannot start headless Chromium: {error}")
        return self.browser

    def run(self, env, scenario, params=None):
        where, mode_name = ENVIRONMENTS[env]
        mode = MODES[mode_name]
        if where == "chromium":
            reply, traffic = self._run_in_chromium(scenario, mode, params)
        else:
            reply, traffic = self._run_in_node(scenario, mode, params)
        if not reply.get("ok"):
            pytest.fail(
                f"scenario {scenario} in {env} failed: {reply.get('error')}\n"
                f"--- client-side traffic ---\n{traffic}"
            )
        return reply["result"]

    def _run_in_chromium(self, scenario, mode, params):
        browser = self._chromium()
        # The page's origin differs from the server's, so polling requests are cross-origin (CORS).
        assert not self.server.url.startswith(self.static.origin)
        page = browser.open_page(f"{self.static.origin}/page.html")
        try:
            arguments = json.dumps([scenario, self.server.url, mode, params or {}])
            expression = (
                "(function (args) { return SwitchyardScenarios.run(args[0], window.io, args[1], args[2], args[3]); })"
                f"(JSON.parse({json.dumps(arguments)}))"
            )
            try:
                reply = page.evaluate(expression, timeout=45)
            except jsclient.CDPError as error:
                reply = {"ok": False, "error": str(error)}
            traffic = page.traffic() if not reply.get("ok") else ""
            return reply, traffic
        finally:
            page.close()

    def _run_in_node(self, scenario, mode, params):
        request = {
            "bundle": str(self._bundle()),
            "scenario": scenario,
            "url": self.server.url,
            "mode": mode,
            "params": params or {},
            "xhr": mode["transports"] != ["websocket"],
        }
        try:
            reply = jsclient.run_node(request)
        except jsclient.HarnessError as error:
            pytest.fail(f"cannot run Node: {error}")
        return reply, "\n".join(reply.get("trace", []))

    def close(self):
        if self.browser is not None:
            self.browser.close()
        if self.static is not None:
            self.static.stop()


@pytest.fixture(scope="module")
def js(server):
    runner = Runner(server)
    yield runner
    runner.close()


# --------------------------------------------------------------------------- the bundle


def test_bundle_is_the_official_socket_io_client_4_8_1(js):
    bundle = js._bundle()
    head = bundle.read_text(encoding="utf-8")[:200]
    assert "Socket.IO v4.8.1" in head
    info = js.run("node-websocket", "info")
    assert info == {"io": "function", "Manager": "function", "Socket": "function", "connectIsIo": True}


# --------------------------------------------------------------------------- 1. connect


@environments()
def test_connect_with_auth(js, env):
    mode = MODES[ENVIRONMENTS[env][1]]
    result = js.run(env, "connect")
    assert result == {
        "initialTransport": "websocket" if mode["transports"] == ["websocket"] else "polling",
        "upgradedTo": "websocket" if mode["upgrade"] else None,
        "transport": mode["final"],
        "auth": [{"token": "abc"}],
        "connected": True,
        "hasId": True,
        "engineHasId": True,
    }


# --------------------------------------------------------------------------- 2. message -> message-back

MESSAGE_CASES = [
    ("string", ["hello"]),
    ("several-strings", ["a", "b", "c"]),
    ("no-args", []),
    ("numbers", [0, 1, -1, 42, 3.5, -0.25, 1e-7, 9007199254740991, -9007199254740991, 1.5e300]),
    ("bool-null", [True, False, None]),
    ("nested", [
        {"a": [1, {"b": None, "c": [True, False, "x"]}], "d": {"e": {"f": {"g": []}}}, "empty": {}},
        [[1, 2], [], [{}], "s"],
    ]),
    ("unicode", ["héllo wörld", "😀🎉👍🏽", "中文字符", {"ключ": "значение", "emoji🔑": "✓"}]),
    ("escapes", ['quote " backslash \\ slash / newline \n tab \t', "\u0001\u001f\u007f", "\u2028\u2029"]),
    ("empty-string", [""]),
    ("arraybuffer", [bytes(range(256))]),
    ("uint8array", [U8(b"\x00\x01\x02\xff")]),
    ("uint8array-subarray", [U8Sub(b"\xde\xad\xbe\xef")]),
    ("empty-binary", [b""]),
    ("binary-mixed", [
        "before", b"\x00\xff" * 10, {"nested": U8(b"\xde\xad\xbe\xef"), "list": [b"\x01", 2, "three"]}, 42, b"last",
    ]),
    ("large-text", ["0123456789abcdef" * 8192]),
    ("large-binary", [bytes(range(256)) * 400]),
]


@environments()
def test_message_round_trip(js, env):
    mode = MODES[ENVIRONMENTS[env][1]]
    result = js.run(env, "message", {"cases": [outgoing(args) for _, args in MESSAGE_CASES]})
    assert result["transport"] == mode["final"]
    got = result["got"]
    assert len(got) == len(MESSAGE_CASES)
    for (name, args), echoed in zip(MESSAGE_CASES, got):
        assert echoed == received(args), f"message-back for case {name!r}"


LARGE_CASES = [
    ["0123456789abcdef" * 16384],  # 256 KiB of text
    [bytes(range(256)) * 800],  # 200 KiB binary (as python-socketio's large-binary case)
    ["with text", U8(bytes(range(255, -1, -1)) * 800), {"n": 1}],
]
LARGE_ACK = bytes(range(256)) * 800


@environments()
def test_large_payloads_keep_the_connection(js, env):
    """Large messages (well below maxPayload 1e6) one after another: each is echoed byte-exact
    and the heartbeat (pingInterval 300 ms + pingTimeout 200 ms) keeps the connection up."""
    mode = MODES[ENVIRONMENTS[env][1]]
    result = js.run(env, "largePayloads", {"cases": outgoing(LARGE_CASES), "ack": outgoing(LARGE_ACK)})
    assert result["transport"] == mode["final"]
    assert result["disconnects"] == []
    assert result["connected"] is True
    for i, (args, echoed) in enumerate(zip(LARGE_CASES, result["got"])):
        assert echoed == received(args), f"message-back of large payload #{i}"
    assert len(result["got"]) == len(LARGE_CASES)
    assert result["acked"] == received(LARGE_ACK)


# --------------------------------------------------------------------------- 3. client -> server acks

ACK_SINGLE = [
    "only",
    42,
    None,
    {"nested": {"list": [1, "two", None, True]}, "unicode": "😀 中文"},
    bytes([0, 1, 254, 255]),
    U8Sub(b"\xca\xfe"),
    {"bin": U8(b"\x03"), "list": [b"\x04", 4]},
]

ACK_MULTI = [
    [],
    ["a", 1, {"b": [2, 3]}, None, True],
    [b"one", "two", {"three": b"\x03", "four": [4, U8(b"\x04")]}],
]


@environments()
def test_emit_with_ack_returns_same_args(js, env):
    mode = MODES[ENVIRONMENTS[env][1]]
    result = js.run(env, "ack", {"single": outgoing(ACK_SINGLE), "multi": outgoing(ACK_MULTI)})
    assert result["transport"] == mode["final"]
    # socket.emitWithAck resolves with the ack's first argument.
    assert result["single"] == received(ACK_SINGLE)
    # A classic ack callback gets all the ack's arguments.
    assert result["multi"] == received(ACK_MULTI)
    assert result["concurrent"] == list(range(10))


# --------------------------------------------------------------------------- 4. server -> client acks

SERVER_ACK_CASES = [
    {"args": ["hello", {"k": [1, 2]}, 3], "reply": ["reply", {"echo": "hello"}, 99]},
    {"args": [b"\x00\x10\xff", "text", {"bin": U8(b"\xca\xfe")}], "reply": ["bin", U8Sub(b"\x01\x02\x03"), {"b": b"\xff"}]},
    {"args": ["empty reply"], "reply": []},
]


@environments()
def test_server_emit_with_ack(js, env):
    mode = MODES[ENVIRONMENTS[env][1]]
    result = js.run(env, "serverAck", {"cases": outgoing(SERVER_ACK_CASES)})
    assert result["transport"] == mode["final"]
    expected = [
        [
            {"args": received(case["args"]), "withAck": True},
            {"args": received(case["reply"]), "withAck": False},
        ]
        for case in SERVER_ACK_CASES
    ]
    assert result["got"] == expected


# --------------------------------------------------------------------------- 5. namespaces


@environments()
def test_custom_and_unknown_namespaces(js, env):
    mode = MODES[ENVIRONMENTS[env][1]]
    result = js.run(env, "namespaces")
    refused = {"message": "Invalid namespace", "data": {"$undefined": True}, "connected": False, "active": False}
    assert result == {
        "rootAuth": [{"ns": "root"}],
        "sameManager": True,
        "customNsp": "/custom",
        "customAuth": [{"ns": "custom"}],
        "customBack": ["on custom", received(b"\x07\x00\xff")],
        "customAck": {"where": "custom"},
        "rootAck": "root",
        "rootBackLeaked": [],
        "unknown": {"sameManager": True, **refused},
        "unknownAlone": refused,
        "rootAfter": "still",
        "customAfter": 1,
        "connectedAfter": [True, True],
        "transport": mode["final"],
    }


# --------------------------------------------------------------------------- 6. rooms


@environments()
def test_rooms_with_two_sockets(js, env):
    result = js.run(env, "rooms")
    assert result["separateConnections"] is True
    assert result["joins"] == result["expectedJoins"]
    from_a = ["from-a", 1, {"bin": received(b"\x01\x02\x03")}]
    assert result["fromA"] == [from_a, from_a], "to-room from A reaches A and B"
    assert result["fromB"] == [["from-b"], ["from-b"]], "to-room from B reaches A and B"
    assert result["leave"] == result["expectedLeave"]
    assert result["afterLeaveAtA"] == ["after-leave"]
    assert result["nextAtB"] == ["marker"], "B got a room message after leaving the room"
    assert result["leftoverAtA"] == []
    assert result["leftoverAtB"] == []


# --------------------------------------------------------------------------- 7. disconnects


@environments()
def test_disconnect_reasons(js, env):
    result = js.run(env, "disconnect")
    assert result == {
        "server": {"reason": "io server disconnect", "details": {"$undefined": True}, "connected": False, "active": False},
        "client": {"reason": "io client disconnect", "connected": False, "active": False},
        "multiplexed": {
            "sameManager": True,
            "customReason": "io server disconnect",
            "rootAck": "alive",
            "rootConnected": True,
            "rootDisconnects": [],
        },
    }


# --------------------------------------------------------------------------- 8. heartbeats


@environments()
def test_stays_connected_across_heartbeats(js, env):
    mode = MODES[ENVIRONMENTS[env][1]]
    result = js.run(env, "heartbeat")
    assert result["pings"] >= 3
    assert result["elapsed"] >= 1000
    # pingInterval is 300 ms: the server must not ping much more often than that.
    assert result["minInterval"] >= 200, f"pings came too fast: {result}"
    assert {k: result[k] for k in ("disconnects", "closes", "connected", "sameSocket", "sameEngine", "transport", "ack")} == {
        "disconnects": [],
        "closes": [],
        "connected": True,
        "sameSocket": True,
        "sameEngine": True,
        "transport": mode["final"],
        "ack": "after heartbeats",
    }
