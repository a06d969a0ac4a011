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
import concurrent.futures
import json
import queue
import signal
import sqlite3
import subprocess
import threading
import uuid

import pytest
import socketio

import jsclient
import rawclient
from conftest import BINARY, ROOT, start_server
from test_official_js_client import ENVIRONMENTS, MODES, Runner

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
        # The CLI runs on a thread while this client keeps answering pings (300 ms here):
        # otherwise a slow CLI start would end the session by ping timeout, not by the kick.
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            kick = pool.submit(
                subprocess.run,
                [BINARY, "kick", "--sid", connect["sid"], "--reason", "spam", "--data", str(server.data)],
                cwd=ROOT, capture_output=True, text=True, timeout=60,
            )
            received = ws.wait_closed(60)
            kicked = kick.result()
        assert kicked.returncode == 0, kicked.stderr
        assert [m for m in received if m != "2"][-1] == "41", received
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


# --------------------------------------------------------------------------- across a restart


def _rows(data, where):
    connection = sqlite3.connect(f"file:{data}/switchyard.sqlite?mode=ro", uri=True)
    try:
        connection.row_factory = sqlite3.Row
        return [dict(row) for row in connection.execute(f"SELECT * FROM audit WHERE {where} ORDER BY id")]
    finally:
        connection.close()


@pytest.mark.parametrize("env", ["node-websocket", "node-polling"])
def test_official_client_recovers_across_a_sigterm_restart(env, tmp_path):
    """SIGTERM persists the sessions (closed with 'server shutting down') to SQLite; a server
    started on the same data directory and port restores them: the client comes back with
    its id, its room, and what was emitted to the room and to it after the restart."""
    room, control = f"room-{uuid.uuid4().hex[:8]}", f"control-{uuid.uuid4().hex[:8]}"
    first = start_server(config="examples/recovery.json", extra_args=("--data", str(tmp_path)))
    port = first.url.rsplit(":", 1)[1]
    watcher = socketio.Client(reconnection=False)
    ready = queue.Queue()
    watcher.on("room-message", lambda *args: ready.put(args))
    watcher.connect(first.url, transports=["websocket"], wait_timeout=WAIT)
    assert watcher.call("join", room, timeout=WAIT) == room

    where, mode_name = ENVIRONMENTS[env]
    mode = MODES[mode_name]
    request = {
        "bundle": str(jsclient.client_bundle()), "scenario": "recoveryAcrossRestart", "url": first.url, "mode": mode,
        "params": {"room": room, "control": control}, "xhr": mode["transports"] != ["websocket"],
    }
    second = None
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        scenario = pool.submit(jsclient.run_node, request, 90)
        try:
            args = ready.get(timeout=30)
            assert args[0] == "a-ready"
            a_id = args[1]
            watcher.disconnect()

            first.process.send_signal(signal.SIGTERM)
            assert first.process.wait(timeout=30) == 0, first.log()[-3000:]
            assert "connection state saved" in first.log()

            second = start_server(config="examples/recovery.json", extra_args=("--data", str(tmp_path), "--port", port))
            assert second.url == first.url
            assert "connection state restored" in second.log()
            emitter = socketio.Client(reconnection=False)
            emitted = threading.Event()

            def on_room_message(*args):
                if args[0] != "ping":
                    return
                if not emitted.is_set():
                    emitter.emit("to-room", (room, "missed-1"))
                    emitter.emit("to-room", (a_id, "missed-2", {"n": 2}))
                    emitted.set()
                emitter.emit("to-room", (control, "go"))

            emitter.on("room-message", on_room_message)
            emitter.connect(second.url, transports=["websocket"], wait_timeout=WAIT)
            assert emitter.call("join", control, timeout=WAIT) == control
            reply = scenario.result(timeout=90)
            emitter.disconnect()
            # A graceful stop writes every queued audit row.
            second.process.send_signal(signal.SIGTERM)
            assert second.process.wait(timeout=30) == 0, second.log()[-3000:]
        finally:
            first.stop()
            if second is not None:
                second.stop()
    assert reply.get("ok"), f"{reply.get('error')}\n" + "\n".join(reply.get("trace", []))
    result = reply["result"]
    assert result["disconnect"] == "transport close"
    assert result["recovered"] is True
    assert result["sameId"] is True
    assert [split_offset(args)[0] for args in result["messages"]] == [["missed-1"], ["missed-2", {"n": 2}], ["live"]]
    assert result["leftover"] == []
    recovered = _rows(tmp_path, f"kind = 'connect' AND socket_id = '{a_id}' AND reason = 'recovered'")
    assert len(recovered) == 1, recovered
    detail = json.loads(recovered[0]["detail"])
    assert detail["recovered"] is True and detail["replayed"] == 2 and detail["gapMs"] > 0
    disconnects = _rows(tmp_path, f"kind = 'disconnect' AND socket_id = '{a_id}'")
    # The first server's shutdown, then the end of the scenario (its disconnect(), or over
    # polling the runner exiting before that request leaves: a transport error).
    assert len(disconnects) == 2 and disconnects[0]["reason"] == "server shutting down", disconnects


# --------------------------------------------------------------------------- across nodes


@pytest.fixture(scope="module")
def cluster():
    from test_cluster import Redis

    redis = Redis()
    redis.start()
    nodes = [start_server(config="examples/recovery.json", extra_args=("--redis", redis.url)) for _ in range(2)]
    yield redis, nodes
    for node in nodes:
        node.stop()
    redis.kill()


@pytest.mark.parametrize("last_broadcast", [False, True], ids=["last-offset-a-plain-emit", "last-offset-a-broadcast"])
@pytest.mark.parametrize("env", ["node-websocket", "node-polling"])
def test_official_client_recovers_on_another_node(cluster, env, last_broadcast):
    """Two server processes and a real redis-server: the client drops on node 1 and comes
    back through node 2, which takes the session out of Redis and replays from its own log
    (every node records every broadcast under its publisher's offset)."""
    redis, (first, second) = cluster
    where, mode_name = ENVIRONMENTS[env]
    mode = MODES[mode_name]
    reply = jsclient.run_node({
        "bundle": str(jsclient.client_bundle()), "scenario": "recoveryAcrossNodes", "url": first.url, "mode": mode,
        "params": {"otherUrl": second.url, "lastBroadcast": last_broadcast}, "xhr": mode["transports"] != ["websocket"],
    })
    assert reply.get("ok"), f"{reply.get('error')}\n" + "\n".join(reply.get("trace", []))
    result = reply["result"]
    assert result["disconnect"] == "forced close"
    assert result["sync"] == "sync"
    assert result["engineOnOtherNode"] == second.url.removeprefix("http://")
    assert result["recovered"] is True
    assert result["sameId"] is True
    assert [split_offset(args)[0] for args in result["messages"]] == [["missed-1"], ["missed-2"], ["live"], ["marker"]]
    assert result["leftover"] == []
    # Node 1 took no part in the restore: node 2 did, from Redis.
    assert "socket recovered" in second.log()
