"""The operator's side end to end: the audit log under SIGTERM, room membership across a
restart, the admin endpoint and its token, kick / broadcast / purge-room from the CLI, and a
full disk while the server keeps serving. (A database turning read-only at run time cannot
be produced here: Linux refuses to remount a filesystem read-only while SQLite holds its
files open for writing. The store's own tests cover read-only storage and its recovery.)"""
import base64
import concurrent.futures
import hashlib
import hmac
import json
import os
import pathlib
import queue
import signal
import sqlite3
import subprocess
import tempfile
import threading
import time

import pytest
import requests
import socketio

from conftest import BINARY, ROOT, plugin_directory, start_server

WAIT = 5
SECRET = "ops-secret"


def jwt(sub, roles=("member",)):
    def b64(data):
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
    header = b64(json.dumps({"alg": "HS256"}).encode())
    claims = b64(json.dumps({"sub": sub, "roles": list(roles), "exp": int(time.time()) + 3600}).encode())
    signature = hmac.new(SECRET.encode(), f"{header}.{claims}".encode(), hashlib.sha256).digest()
    return f"{header}.{claims}.{b64(signature)}"


def chat_config():
    handle = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
    json.dump({
        "plugins": {"enabled": ["chat", "token-auth", "conformance"], "settings": {"token-auth": {"secret": SECRET}}},
        "namespaces": {"/chat": {"identity": "token"}},
        "audit": {"level": "all"},
    }, handle)
    handle.close()
    return handle.name


def serve(data, config=None, extra=()):
    return start_server(config=config or chat_config(), extra_args=("--data", str(data), *extra))


def rows(data, where="1=1", args=()):
    connection = sqlite3.connect(f"file:{data}/switchyard.sqlite?mode=ro", uri=True)
    try:
        connection.row_factory = sqlite3.Row
        return [dict(row) for row in connection.execute(f"SELECT * FROM audit WHERE {where} ORDER BY id", args)]
    finally:
        connection.close()


def terminate(server):
    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(timeout=20) == 0, server.log()[-2000:]


def chat_client(server, identity, transport="websocket"):
    client = socketio.Client(reconnection=False)
    client.connect(server.url, namespaces=["/chat"], transports=[transport], auth={"token": jwt(identity)}, wait_timeout=WAIT)
    return client


def run_cli(*args, data):
    return subprocess.run([BINARY, *args, "--data", str(data)], cwd=ROOT, capture_output=True, text=True, timeout=60)


def test_sigterm_under_load_loses_no_audit_row(tmp_path):
    server = start_server(extra_args=("--data", str(tmp_path), "--audit-level", "all"))
    clients = []
    acked = []
    lock = threading.Lock()
    stop = threading.Event()

    def hammer(index):
        client = socketio.Client(reconnection=False)
        client.connect(server.url, transports=["websocket" if index % 2 else "polling"], wait_timeout=WAIT)
        clients.append(client)
        sent = 0
        while not stop.is_set():
            try:
                reply = client.call("message-with-ack", f"c{index}-{sent}", timeout=2)
            except Exception:
                return
            with lock:
                acked.append(reply)
            sent += 1

    with concurrent.futures.ThreadPoolExecutor(max_workers=6) as pool:
        futures = [pool.submit(hammer, index) for index in range(6)]
        deadline = time.monotonic() + 10
        while len(acked) < 300 and time.monotonic() < deadline:
            time.sleep(0.01)
        terminate(server)  # under load: calls are in flight
        stop.set()
        for future in futures:
            future.result(timeout=30)
    for client in clients:
        try:
            client.disconnect()
        except Exception:
            pass
    assert len(acked) >= 300
    events = rows(tmp_path, "kind = 'event' AND event = 'message-with-ack' AND outcome = 'ok'")
    # Every acknowledged event has its row (more may exist: processed, answer not received).
    assert len(events) >= len(acked), (len(events), len(acked))
    shutdowns = rows(tmp_path, "kind = 'disconnect' AND reason = 'server shutting down'")
    connects = rows(tmp_path, "kind = 'connect'")
    disconnects = rows(tmp_path, "kind = 'disconnect'")
    assert len(connects) == 6
    assert len(disconnects) == 6, "every connected socket has its disconnect row"
    assert len(shutdowns) >= 1


def test_room_membership_survives_a_restart(tmp_path):
    server = serve(tmp_path)
    try:
        ada = chat_client(server, "ada")
        assert ada.call("room.join", {"room": "lobby"}, namespace="/chat", timeout=WAIT) == {"room": "lobby"}
        ada.disconnect()
    finally:
        terminate(server)
    remembered = sqlite3.connect(str(tmp_path / "switchyard.sqlite")).execute("SELECT namespace, room, identity FROM rooms").fetchall()
    assert remembered == [("/chat", "lobby", "ada")]

    server = serve(tmp_path)
    try:
        ada = chat_client(server, "ada", "polling")
        inbox = queue.Queue()
        ada.on("message.new", inbox.put, namespace="/chat")
        # No join: the membership came back with the identity.
        ack = ada.call("message.send", {"room": "lobby", "text": "back"}, namespace="/chat", timeout=WAIT)
        assert "error" not in ack, ack
        assert inbox.get(timeout=WAIT)["text"] == "back"
        assert ada.call("room.leave", {"room": "lobby"}, namespace="/chat", timeout=WAIT) == {"room": "lobby"}
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            if not sqlite3.connect(str(tmp_path / "switchyard.sqlite")).execute("SELECT * FROM rooms").fetchall():
                break
            time.sleep(0.05)
        assert sqlite3.connect(str(tmp_path / "switchyard.sqlite")).execute("SELECT * FROM rooms").fetchall() == []
        ada.disconnect()
    finally:
        terminate(server)


def test_admin_endpoint_refuses_a_missing_or_wrong_token(tmp_path):
    server = serve(tmp_path)
    try:
        admin = json.loads((tmp_path / "admin.json").read_text())
        assert oct(os.stat(tmp_path / "admin.json").st_mode & 0o777) == "0o600"
        live = admin["url"] + "/admin/live"
        assert requests.get(live, timeout=WAIT).status_code == 401
        assert requests.get(live, headers={"Authorization": "Bearer nope"}, timeout=WAIT).status_code == 401
        # The right token with its last character changed (to one it is not).
        wrong = admin["token"][:-1] + ("1" if admin["token"].endswith("0") else "0")
        assert requests.post(admin["url"] + "/admin/kick", json={"sid": "x"}, headers={"Authorization": "Bearer " + wrong}, timeout=WAIT).status_code == 401
        answer = requests.get(live, headers={"Authorization": "Bearer " + admin["token"]}, timeout=WAIT)
        assert answer.status_code == 200
        assert {ns["namespace"] for ns in answer.json()["nodes"][0]["namespaces"]} >= {"/chat", "/"}
    finally:
        terminate(server)


def test_kick_broadcast_and_purge_from_the_cli_are_audited_with_the_actor(tmp_path):
    server = serve(tmp_path)
    try:
        bob = chat_client(server, "bob")
        carol = chat_client(server, "carol")
        events = queue.Queue()
        bob.on("error", lambda data: events.put(("error", data)), namespace="/chat")
        bob.on("disconnect", lambda *args: events.put(("disconnect", args)), namespace="/chat")
        carol_inbox = queue.Queue()
        carol.on("message.new", carol_inbox.put, namespace="/chat")
        carol.call("room.join", {"room": "news"}, namespace="/chat", timeout=WAIT)
        bob.call("room.join", {"room": "news"}, namespace="/chat", timeout=WAIT)

        # broadcast: validated against message.new's schema.
        bad = run_cli("broadcast", "--namespace", "/chat", "--room", "news", "--event", "message.new", "--payload", '{"text": "x"}', data=tmp_path)
        assert bad.returncode != 0 and "does not match the schema of 'message.new'" in bad.stderr
        good_payload = json.dumps({"id": "op-1", "room": "news", "text": "hello all", "from": "operator", "at": "2026-11-22T10:00:00Z"})
        good = run_cli("broadcast", "--namespace", "/chat", "--room", "news", "--event", "message.new", "--payload", good_payload, data=tmp_path)
        assert good.returncode == 0, good.stderr
        assert carol_inbox.get(timeout=WAIT)["text"] == "hello all"

        # kick by identity: bob gets the reason, then is disconnected.
        kicked = run_cli("kick", "--identity", "bob", "--reason", "flooding the lobby", data=tmp_path)
        assert kicked.returncode == 0, kicked.stderr
        assert "kicked 1 socket(s)" in kicked.stdout
        kind, data = events.get(timeout=WAIT)
        assert kind == "error" and data["error"]["code"] == "kicked" and data["error"]["detail"] == "flooding the lobby"
        assert events.get(timeout=WAIT)[0] == "disconnect"

        # purge-room: carol leaves, both persisted memberships go.
        purged = run_cli("purge-room", "--namespace", "/chat", "--room", "news", data=tmp_path)
        assert purged.returncode == 0, purged.stderr
        assert "1 socket(s) left, 2 membership(s) deleted" in purged.stdout
        reply = carol.call("message.send", {"room": "news", "text": "anyone?"}, namespace="/chat", timeout=WAIT)
        assert reply["error"]["code"] == "not_in_room"
        carol.disconnect()

        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline and len(rows(tmp_path, "kind IN ('kick','purge','admin_broadcast')")) < 3:
            time.sleep(0.05)
        actions = {row["kind"]: row for row in rows(tmp_path, "kind IN ('kick','purge','admin_broadcast')")}
        assert set(actions) == {"kick", "purge", "admin_broadcast"}
        for row in actions.values():
            assert row["actor"] and "@" in row["actor"]
        assert actions["kick"]["reason"] == "flooding the lobby"
        assert actions["purge"]["room"] == "news"
        assert actions["admin_broadcast"]["event"] == "message.new"
    finally:
        terminate(server)


def mount_tmpfs(path, size):
    path.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, f"this test mounts a small tmpfs (needs root): {result.stderr}"


def test_a_full_disk_is_reported_and_the_server_keeps_serving(tmp_path):
    data = tmp_path / "tiny"
    mount_tmpfs(data, "256k")
    server = start_server(extra_args=("--data", str(data), "--audit-level", "all"))
    try:
        client = socketio.Client(reconnection=False)
        client.connect(server.url, transports=["websocket"], wait_timeout=WAIT)
        payload = "p" * 200
        deadline = time.monotonic() + 30
        while "database or disk is full" not in server.log() and time.monotonic() < deadline:
            for index in range(100):
                assert client.call("message-with-ack", payload, timeout=WAIT) == payload
        log = server.log()
        assert "database or disk is full" in log, "the disk never filled"
        assert "switchyard.sqlite" in log
        # Still serving, and saying what is wrong.
        for index in range(50):
            assert client.call("message-with-ack", index, timeout=WAIT) == index
        health = requests.get(server.url + "/health", timeout=WAIT)
        assert health.status_code == 503
        assert health.json()["status"] == "degraded"
        assert "audit log" in health.json()["problems"][0]
        metrics = requests.get(server.url + "/metrics", timeout=WAIT).text
        assert "switchyard_audit_storage_ok 0" in metrics
        assert "switchyard_sessions 1" in metrics
        # Room again: the writer recovers and says so.
        subprocess.run(["mount", "-o", "remount,size=64m", str(data)], check=True)
        deadline = time.monotonic() + 20
        while "again after" not in server.log().split("database or disk is full")[-1] and time.monotonic() < deadline:
            client.call("message-with-ack", "again", timeout=WAIT)
            time.sleep(0.2)
        assert "audit log: writing to" in server.log().split("database or disk is full")[-1]
        assert requests.get(server.url + "/health", timeout=WAIT).json()["status"] == "ok"
        client.disconnect()
    finally:
        server.stop()
        subprocess.run(["umount", "-l", str(data)])


def test_the_server_refuses_a_database_from_a_newer_switchyard(tmp_path):
    server = start_server(extra_args=("--data", str(tmp_path)))
    terminate(server)
    connection = sqlite3.connect(str(tmp_path / "switchyard.sqlite"))
    connection.execute("INSERT INTO grdb_migrations (identifier) VALUES ('9999-from-the-future')")
    connection.commit()
    connection.close()
    result = subprocess.run(
        [BINARY, "serve", "--config", str(ROOT / "examples/conformance.json"), "--plugins", str(plugin_directory()), "--port", "0", "--data", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode != 0
    assert "newer Switchyard" in result.stderr
    assert "9999-from-the-future" in result.stderr
