"""Middleware chains end to end: real clients, real plugins (chat, token-auth, a fixture guard).

The three size layers (WebSocket frame, Engine.IO maxPayload, per-event limit), a flooded
route, JWTs valid / expired / without the role, a plugin guard, and chain order.
"""
import base64
import hashlib
import hmac
import json
import os
import queue
import tempfile
import time

import pytest
import requests
import socketio
import websocket

from conftest import plugin_directory, start_server

WAIT = 5
SECRET = "interop-secret"
MAX_PAYLOAD = 100_000


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt(sub, roles=(), expires_in=3600, secret=SECRET):
    header = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    claims = b64url(json.dumps({"sub": sub, "roles": list(roles), "exp": int(time.time()) + expires_in}).encode())
    signature = hmac.new(secret.encode(), f"{header}.{claims}".encode(), hashlib.sha256).digest()
    return f"{header}.{claims}.{b64url(signature)}"


@pytest.fixture(scope="module")
def server():
    config = {
        "engine": {"maxPayload": MAX_PAYLOAD, "pingInterval": 2000, "pingTimeout": 2000},
        "plugins": {
            "enabled": ["chat", "token-auth", "FixtureBehaviours"],
            "settings": {"token-auth": {"secret": SECRET}},
        },
        "namespaces": {
            "/chat": {
                "identity": "token",
                "events": [
                    {"use": "size-limit", "maxBytes": 2048},
                    {"use": "rate-limit", "rate": 10, "burst": 5},
                    {"use": "guard", "name": "require-identity"},
                    {"use": "validate"},
                ],
            },
            "/b": {"events": [{"use": "guard", "name": "b.no-thirteen"}, {"use": "validate"}]},
        },
        "routes": [
            {"namespace": "/chat", "event": "room.join",
             "events": [{"use": "guard", "name": "require-role", "role": "member"}, {"use": "validate"}]},
        ],
    }
    handle = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
    json.dump(config, handle)
    handle.close()
    running = start_server(config=handle.name, plugins=plugin_directory(extra=["FixtureBehaviours"]))
    yield running
    running.stop()
    os.unlink(handle.name)


def connect(server, namespace, token=None, transport="websocket"):
    client = socketio.Client(reconnection=False)
    client.connect(server.url, namespaces=[namespace], transports=[transport],
                   auth={"token": token} if token else None, wait_timeout=WAIT)
    return client


def test_valid_jwt_connects_with_its_identity(server):
    client = connect(server, "/chat", jwt("ada", roles=["member"]))
    try:
        client.call("room.join", {"room": "lobby"}, namespace="/chat", timeout=WAIT)
        inbox = queue.Queue()
        client.on("message.new", inbox.put, namespace="/chat")
        client.call("message.send", {"room": "lobby", "text": "hi"}, namespace="/chat", timeout=WAIT)
        assert inbox.get(timeout=WAIT)["from"] == "ada"
    finally:
        client.disconnect()


@pytest.mark.parametrize("token, code", [
    (jwt("ada", expires_in=-120), "token_expired"),
    (jwt("ada", secret="forged"), "token_invalid"),
    ("not-a-token", "token_unknown"),
    (None, "token_missing"),
])
def test_bad_tokens_are_refused_with_a_code(server, token, code):
    client = socketio.Client(reconnection=False)
    errors = queue.Queue()
    client.on("connect_error", errors.put, namespace="/chat")
    with pytest.raises(socketio.exceptions.ConnectionError):
        client.connect(server.url, namespaces=["/chat"], transports=["websocket"],
                       auth={"token": token} if token else None, wait_timeout=WAIT)
    error = errors.get(timeout=WAIT)
    assert error["data"] == {"code": code, "kind": "authentication"}


def test_missing_role_is_refused_on_the_route_that_requires_it(server):
    client = connect(server, "/chat", jwt("bob", roles=["guest"]))
    try:
        reply = client.call("room.join", {"room": "lobby"}, namespace="/chat", timeout=WAIT)
        assert reply["error"]["kind"] == "authorization"
        assert reply["error"]["code"] == "role_required"
        assert reply["error"]["context"] == {"role": "member"}
    finally:
        client.disconnect()


def test_per_event_size_limit_answers_with_the_limit(server):
    client = connect(server, "/chat", jwt("ada", roles=["member"]))
    try:
        reply = client.call("message.send", {"room": "lobby", "text": "x" * 3000}, namespace="/chat", timeout=WAIT)
        error = reply["error"]
        assert error["kind"] == "payload_too_large"
        assert error["context"]["limit"] == 2048
        assert error["context"]["size"] > 3000
        assert client.connected
    finally:
        client.disconnect()


def test_flooding_a_route_accepts_the_bucket_and_refuses_the_rest(server):
    client = connect(server, "/chat", jwt("flood", roles=["member"]))
    outcomes = []
    try:
        client.call("room.join", {"room": "flood"}, namespace="/chat", timeout=WAIT)
        time.sleep(0.6)  # let the bucket refill after the join (the one deliberate real-time wait)
        start = time.monotonic()
        for index in range(40):
            outcomes.append(client.call("message.send", {"room": "flood", "text": f"m{index}"}, namespace="/chat", timeout=WAIT))
        elapsed = time.monotonic() - start
    finally:
        client.disconnect()
    accepted = [reply for reply in outcomes if "error" not in reply]
    refused = [reply for reply in outcomes if "error" in reply]
    assert len(accepted) + len(refused) == 40
    assert all(reply["error"]["kind"] == "rate_limited" for reply in refused)
    assert all(reply["error"]["context"]["retryAfterMs"] > 0 for reply in refused)
    # A bucket of 5 refilling at 10/s: at least the burst, at most burst + rate × elapsed.
    assert 5 <= len(accepted) <= 5 + int(10 * elapsed) + 1, (len(accepted), elapsed)
    assert len(refused) >= 40 - (5 + int(10 * elapsed) + 1)


def test_plugin_guard_runs_before_validation(server):
    client = connect(server, "/b")
    try:
        reply = client.call("validated", {"n": 13}, namespace="/b", timeout=WAIT)
        assert reply["error"]["code"] == "unlucky"
        reply = client.call("validated", {"n": 12}, namespace="/b", timeout=WAIT)
        assert reply["error"]["kind"] == "validation"
        assert client.call("validated", {"n": 12, "tags": []}, namespace="/b", timeout=WAIT) == "valid"
    finally:
        client.disconnect()


def test_websocket_message_over_max_payload_closes_with_1009(server):
    ws = websocket.create_connection(server.ws_url + "/socket.io/?EIO=4&transport=websocket", timeout=WAIT)
    try:
        assert ws.recv().startswith("0{")
        ws.send("40/b,")
        assert ws.recv().startswith("40/b,")
        ws.send('42/b,["validated","' + "z" * (MAX_PAYLOAD + 10) + '"]')
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            opcode, data = ws.recv_data(control_frame=True)
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                break
            assert opcode == websocket.ABNF.OPCODE_TEXT  # events sent before the oversized frame (the connect hook's)
        assert opcode == websocket.ABNF.OPCODE_CLOSE
        assert int.from_bytes(data[:2], "big") == 1009
    finally:
        ws.close()


def test_polling_body_over_max_payload_is_refused_with_413_and_ends_the_session(server):
    handshake = requests.get(f"{server.url}/socket.io/?EIO=4&transport=polling", timeout=WAIT)
    sid = json.loads(handshake.text[1:])["sid"]
    url = f"{server.url}/socket.io/?EIO=4&transport=polling&sid={sid}"
    response = requests.post(url, data="4" + "z" * (MAX_PAYLOAD + 10), timeout=WAIT)
    assert response.status_code == 413
    assert response.json() == {"code": 3, "message": "Payload too large"}
    assert requests.get(url, timeout=WAIT).status_code == 400


def test_a_message_just_under_max_payload_passes_the_transport_layers(server):
    client = connect(server, "/b")
    try:
        reply = client.call("validated", {"n": 1, "tags": ["y" * (MAX_PAYLOAD - 200)]}, namespace="/b", timeout=WAIT)
        assert reply == "valid"
    finally:
        client.disconnect()
