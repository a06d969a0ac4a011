"""Connection state recovery (socket.io >= 4.6) end to end, against `switchyard serve
--config examples/recovery.json` (the conformance plugin with recovery on):

* the official JavaScript client (socket.io-client 4.8.1, the harness of
  test_official_js_client.py) drops its transport with `socket.io.engine.close()`, misses
  events to its room and to its own id, reconnects, and is recovered: same id, the missed
  events once and in order, still in its room; after a server-side disconnect or its own
  `disconnect()` it gets a new id;
* a kick from the operator CLI is not undone by reconnecting with the pid (raw protocol);
* python-socketio, which has no recovery, keeps working: it ignores the pid and gets the
  offset as an extra last argument, as Node's socket.io sends it.
"""
import json
import queue
import subprocess

import pytest
import socketio

import rawclient
from conftest import BINARY, ROOT, start_server
from test_official_js_client import ENVIRONMENTS, Runner

WAIT = 5


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data = tmp_path_factory.mktemp("recovery-data")
    running = start_server(config="examples/recovery.json", extra_args=("--data", str(data)))
    running.data = data
    yield running
    running.stop()


@pytest.fixture(scope="module")
def js(server):
    runner = Runner(server)
    yield runner
    runner.close()


def environments():
    return pytest.mark.parametrize("env", list(ENVIRONMENTS), ids=list(ENVIRONMENTS))


def split_offset(args):
    """An event's arguments as the client hands them over: the payload, then the offset."""
    assert args and isinstance(args[-1], str), f"no offset as the last argument: {args!r}"
    return args[:-1], args[-1]


@environments()
def test_official_client_recovers_its_socket_rooms_and_missed_events(js, env):
    result = js.run(env, "recovery")
    assert result["firstRecovered"] is False
    # engine.io-client names a close it was asked for "forced close"; the server sees the
    # transport close ("transport close"), a recoverable reason.
    assert result["disconnect"] == "forced close"
    assert result["sync"] == "sync"
    assert result["recovered"] is True
    assert result["sameId"] is True
    payloads = [split_offset(args) for args in result["messages"]]
    assert [payload for payload, _ in payloads] == [["missed-1"], ["missed-2", {"n": 2}], ["missed-3"], ["live"], ["marker"]]
    offsets = [offset for _, offset in payloads]
    assert len(set(offsets)) == len(offsets), f"offsets repeat: {offsets}"
    assert result["leftover"] == []
    assert result["disconnectsAfter"] == []
    # The connect hook runs again for the recovered socket (skipMiddlewares is false), and its
    # auth event carries the pid and the offset the client sent back.
    auth, _ = split_offset(result["secondAuth"])
    assert set(auth[0]) == {"pid", "offset"}
    first_auth, first_offset = split_offset(result["firstAuth"])
    assert first_auth == [{}]
    assert auth[0]["offset"] == first_offset


@pytest.mark.parametrize("env", ["node-websocket", "node-polling", "chromium-upgrade"])
def test_official_client_is_not_recovered_after_a_server_disconnect_or_its_own(js, env):
    result = js.run(env, "recoveryRefused")
    for how, reason in (("server-disconnect", "io server disconnect"), ("client-disconnect", "io client disconnect")):
        outcome = result[how]
        assert outcome["reason"] == reason
        assert outcome["recovered"] is False, how
        assert outcome["sameId"] is False, how
        payload, _ = split_offset(outcome["firstRoomMessage"])
        assert payload == ["marker"], f"{how}: the old socket's event reached the new one"


def test_a_kicked_client_is_not_recovered(server):
    ws, _ = rawclient.RawWebSocket.open_session(server.ws_url, "/socket.io/", EIO=4, transport="websocket")
    try:
        ws.send("40")
        connect = json.loads(ws.recv(WAIT, skip_pings=True)[2:])
        assert set(connect) == {"sid", "pid"}
        auth_event = json.loads(ws.recv(WAIT, skip_pings=True)[2:])
        assert auth_event[0] == "auth" and isinstance(auth_event[-1], str)
        kicked = subprocess.run(
            [BINARY, "kick", "--sid", connect["sid"], "--reason", "spam", "--data", str(server.data)],
            cwd=ROOT, capture_output=True, text=True, timeout=60,
        )
        assert kicked.returncode == 0, kicked.stderr
        received = ws.wait_closed(WAIT)
        assert [m for m in received if m != "2"][-1] == "41"
    finally:
        ws.close()
    again, _ = rawclient.RawWebSocket.open_session(server.ws_url, "/socket.io/", EIO=4, transport="websocket")
    try:
        again.send("40" + json.dumps({"pid": connect["pid"], "offset": auth_event[-1]}))
        reply = json.loads(again.recv(WAIT, skip_pings=True)[2:])
        assert reply["sid"] != connect["sid"]
        assert reply["pid"] != connect["pid"]
    finally:
        again.close()


@pytest.mark.parametrize("transport", ["websocket", "polling"])
def test_python_socketio_keeps_working_with_recovery_on(server, transport):
    client = socketio.Client(reconnection=False)
    inbox = queue.Queue()
    client.on("auth", lambda *args: inbox.put(("auth", args)))
    client.on("message-back", lambda *args: inbox.put(("message-back", args)))
    client.on("room-message", lambda *args: inbox.put(("room-message", args)))
    client.connect(server.url, transports=[transport], wait_timeout=WAIT)
    try:
        kind, args = inbox.get(timeout=WAIT)
        assert kind == "auth"
        assert args[0] == {} and isinstance(args[1], str), "the offset arrives as an extra last argument"
        client.emit("message", ("hello", 1))
        kind, args = inbox.get(timeout=WAIT)
        assert kind == "message-back" and list(args[:-1]) == ["hello", 1] and isinstance(args[-1], str)
        # Acks carry no offset.
        assert client.call("message-with-ack", ("a", 2), timeout=WAIT) == ("a", 2)
        assert client.call("join", "py-room", timeout=WAIT) == "py-room"
        client.emit("to-room", ("py-room", "x"))
        kind, args = inbox.get(timeout=WAIT)
        assert kind == "room-message" and list(args[:-1]) == ["x"]
    finally:
        client.disconnect()
