"""Plugins end to end: real .so files loaded by the real server, called by python-socketio.

Also the operator's side: `plugins verify`, `inspect`, and `serve` refusing to start with a
broken plugin set.
"""
import json
import os
import pathlib
import queue
import subprocess
import tempfile

import pytest
import socketio

from conftest import BINARY, ROOT, plugin_directory, start_server

WAIT = 5


def write_config(**settings):
    handle = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
    json.dump(settings, handle)
    handle.close()
    return handle.name


@pytest.fixture(scope="module")
def server():
    config = write_config(
        plugins={"enabled": ["chat", "hello-c", "FixtureBehaviours"], "operationTimeout": 1500},
        namespaces={"/secure": {"identity": "b.identity"}},
        routes=[{"namespace": "/secure", "event": "whoami", "operation": "b.context"}],
    )
    running = start_server(config=config, plugins=plugin_directory(extra=["FixtureBehaviours"]))
    yield running
    running.stop()
    os.unlink(config)


def connect(server, namespace, transport="websocket", auth=None):
    client = socketio.Client(reconnection=False)
    client.connect(server.url, namespaces=[namespace], transports=[transport], auth=auth, wait_timeout=WAIT)
    return client


@pytest.mark.parametrize("transport", ["polling", "websocket"])
def test_chat_room_messages_reach_members_only(server, transport):
    alice, bob, carol = (connect(server, "/chat", transport) for _ in range(3))
    inboxes = {name: queue.Queue() for name in ("alice", "bob", "carol")}
    for name, client in zip(inboxes, (alice, bob, carol)):
        client.on("message.new", lambda message, name=name: inboxes[name].put(message), namespace="/chat")
    try:
        assert alice.call("room.join", {"room": "lobby"}, namespace="/chat", timeout=WAIT) == {"room": "lobby"}
        assert bob.call("room.join", {"room": "lobby"}, namespace="/chat", timeout=WAIT) == {"room": "lobby"}
        ack = alice.call("message.send", {"room": "lobby", "text": "hello ✓"}, namespace="/chat", timeout=WAIT)
        assert set(ack) == {"id", "at"}
        for name in ("alice", "bob"):
            message = inboxes[name].get(timeout=WAIT)
            assert message["id"] == ack["id"]
            assert message["text"] == "hello ✓"
            assert message["room"] == "lobby"
            assert message["from"] == alice.get_sid("/chat")
        # carol is not in the room: her next message is the one sent to a room she joins.
        carol.call("room.join", {"room": "side"}, namespace="/chat", timeout=WAIT)
        carol.call("message.send", {"room": "side", "text": "marker"}, namespace="/chat", timeout=WAIT)
        assert inboxes["carol"].get(timeout=WAIT)["text"] == "marker"
    finally:
        for client in (alice, bob, carol):
            client.disconnect()


def test_chat_validation_errors_name_the_fields(server):
    client = connect(server, "/chat")
    try:
        reply = client.call("message.send", {"room": "", "text": 5, "spam": True}, namespace="/chat", timeout=WAIT)
        error = reply["error"]
        assert error["kind"] == "validation"
        assert error["code"] == "invalid_payload"
        paths = {violation["path"] for violation in error["context"]["violations"]}
        assert paths == {"$.room", "$.text", "$.spam"}
        reply = client.call("room.join", {"room": "has space"}, namespace="/chat", timeout=WAIT)
        assert reply["error"]["kind"] == "validation"
        assert reply["error"]["context"]["violations"][0]["path"] == "$.room"
    finally:
        client.disconnect()


def test_chat_precondition_from_a_typed_operation(server):
    client = connect(server, "/chat")
    try:
        reply = client.call("message.send", {"room": "nowhere", "text": "hi"}, namespace="/chat", timeout=WAIT)
        assert reply == {"error": {"detail": "join room 'nowhere' before posting to it", "code": "not_in_room", "kind": "precondition"}}
    finally:
        client.disconnect()


def test_c_plugin_completes_from_another_thread(server):
    client = connect(server, "/c", "polling")
    try:
        assert client.call("greet", {"name": "Grace"}, namespace="/c", timeout=WAIT) == {"greeting": "Hello, Grace!"}
        assert client.call("later", namespace="/c", timeout=WAIT) == "later"
    finally:
        client.disconnect()


def test_operation_timeout_reaches_the_client_with_a_correlation_id(server):
    client = connect(server, "/b")
    try:
        reply = client.call("never", namespace="/b", timeout=WAIT)
        error = reply["error"]
        assert error["kind"] == "timeout"
        correlation = error["context"]["correlationId"]
        assert error["detail"] == f"The server could not complete the request (reference {correlation})."
        # The operator finds the real reason under the same id.
        log = server.log()
        line = next(line for line in log.splitlines() if correlation in line)
        assert "did not complete within 1500 ms" in line
        assert "operation=b.never" in line
    finally:
        client.disconnect()


def test_identity_resolver_accepts_and_refuses(server):
    client = connect(server, "/secure", auth={"token": "good"})
    try:
        context = client.call("whoami", namespace="/secure", timeout=WAIT)
        assert context["identity"] == {"id": "u1", "roles": ["admin"], "tenant": "t1"}
        assert context["handshake"]["auth"] == {"token": "good"}
    finally:
        client.disconnect()
    refused = socketio.Client(reconnection=False)
    errors = queue.Queue()
    refused.on("connect_error", lambda data: errors.put(data), namespace="/secure")
    with pytest.raises(socketio.exceptions.ConnectionError):
        refused.connect(server.url, namespaces=["/secure"], transports=["websocket"], auth={"token": "nope"}, wait_timeout=WAIT)
    assert errors.get(timeout=WAIT) == {"message": "unknown token", "data": {"code": "bad_token", "kind": "authentication"}}


# --- the operator's side -----------------------------------------------------------------


def run(*args, timeout=60):
    return subprocess.run([BINARY, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def broken_directory(*fixtures, notes=False):
    directory = plugin_directory(extra=fixtures)
    if notes:
        (directory / "notes.so").write_text("not a library\n")
    return directory


def test_plugins_verify_reports_each_plugin():
    directory = plugin_directory()
    result = run("plugins", "verify", str(directory))
    assert result.returncode == 0, result.stdout + result.stderr
    for name in ("chat", "conformance", "echo", "hello-c", "token-auth"):
        assert f"{directory}/{name}.so: {name} 1.0.0" in result.stdout
    assert "all 5 plugin(s) load together" in result.stdout


def test_plugins_verify_survives_a_trapping_plugin_and_names_every_failure():
    directory = broken_directory("FixtureTrap", "FixtureNoEntry", "FixtureABIMismatch", notes=True)
    result = run("plugins", "verify", str(directory))
    assert result.returncode == 1
    out = result.stdout
    assert f"FAIL  {directory}/FixtureTrap.so: crashed while loading (signal" in out
    assert f"FAIL  {directory}/FixtureNoEntry.so: missing entry symbol switchyard_plugin_entry" in out
    assert f"FAIL  {directory}/FixtureABIMismatch.so: plugin ABI version 999, this host supports 1" in out
    assert f"FAIL  {directory}/notes.so: not a shared library (no ELF header)" in out
    assert f"ok    {directory}/chat.so: chat 1.0.0" in out


def test_serve_refuses_to_start_with_a_broken_plugin():
    directory = broken_directory("FixtureDuplicateA", "FixtureDuplicateB")
    result = run("serve", "--plugins", str(directory), "--port", "0", timeout=60)
    assert result.returncode != 0
    assert "plugin preflight failed" in result.stderr
    assert "duplicate operation key 'dup.op'" in result.stderr
    assert "listening" not in result.stdout


def test_serve_without_preflight_still_refuses_an_invalid_set():
    directory = broken_directory("FixtureBadRoute")
    result = run("serve", "--plugins", str(directory), "--port", "0", "--no-preflight", timeout=60)
    assert result.returncode != 0
    assert "points at unknown operation 'missing.op'" in result.stderr
    assert "listening" not in result.stdout


def test_inspect_lists_operations_schemas_namespaces_and_routes():
    directory = plugin_directory()
    result = run("inspect", "--plugins", str(directory), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert {plugin["name"] for plugin in report["plugins"]} == {"chat", "conformance", "echo", "hello-c", "token-auth"}
    create = next(op for op in report["operations"] if op["key"] == "messages.create")
    assert create["plugin"] == "chat"
    assert create["payloadSchema"]["required"] == ["room", "text"]
    chat = next(ns for ns in report["namespaces"] if ns["namespace"] == "/chat")
    assert {"event": "message.send", "operation": "messages.create", "ack": True, "origin": "chat"} in chat["routes"]
    assert [event["name"] for event in report["serverEvents"]] == ["broadcast", "message.new"]
    text = run("inspect", "--plugins", str(directory)).stdout
    assert "message.send -> messages.create (ack)  [chat]" in text
