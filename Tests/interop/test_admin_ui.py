"""The socket.io Admin UI protocol (`@socket.io/admin-ui` 0.5) end to end: the real server,
python-socketio clients, and an admin client that connects and listens exactly as the
upstream UI does (ui/src/App.vue: listeners registered in the `connect` handler; commands
as in ui/src/components/*), event by event. docs/ADMIN-UI.md cites each message's source."""
import json
import pathlib
import queue
import re
import subprocess
import tempfile
import time
import uuid

import bcrypt
import pytest
import socketio

from conftest import BINARY, ROOT, start_server
from rawclient import Polling, RawWebSocket, decode_payload, websocket_url
from test_cluster import Redis

WAIT = 5
STATS_WAIT = 5  # server_stats come every 2 s
USER = "ops"
PASSWORD = "correct horse battery staple"
UI_EVENTS = ("session", "config", "server_stats", "all_sockets", "socket_connected", "socket_updated",
             "socket_disconnected", "room_joined", "room_left", "event_received", "event_sent")
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def config_file(ui):
    """The conformance example with `admin.ui` added."""
    document = json.loads((ROOT / "examples" / "conformance.json").read_text())
    document["admin"] = {"ui": ui}
    # The example's 300 ms ping interval is for the protocol suites; raw polling here needs time.
    document["engine"].update({"pingInterval": 25000, "pingTimeout": 20000})
    path = pathlib.Path(tempfile.mkdtemp(prefix="switchyard-admin-ui-")) / "config.json"
    path.write_text(json.dumps(document))
    return str(path)


def password_hash(prefix=b"2b", rounds=4):
    return bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=rounds, prefix=prefix)).decode()


class AdminUI:
    """An Admin UI session: connects to the admin namespace with `auth` and registers its
    listeners in the `connect` handler, as App.vue's tryConnect/registerEventListeners."""

    def __init__(self, server, auth, namespace="/admin", transport="websocket", errors=None, serializer="default"):
        self.inbox = queue.Queue()
        self.backlog = []
        self.order = []
        self.sio = socketio.Client(reconnection=False, serializer=serializer)
        self.connected_namespace = namespace
        if errors is not None:
            self.sio.on("connect_error", lambda data=None: errors.append(data), namespace=namespace)

        def on_connect():
            self.order.append("connect")
            for name in UI_EVENTS:
                self.sio.on(name, self._recorder(name), namespace=namespace)

        self.sio.on("connect", on_connect, namespace=namespace)
        self.sio.connect(server.url, namespaces=[namespace], auth=auth, transports=[transport], wait_timeout=WAIT)

    def _recorder(self, name):
        def record(*args):
            self.order.append(name)
            self.inbox.put((name, args))
        return record

    def next(self, name, timeout=WAIT, where=lambda args: True):
        """The first `name` event not taken yet whose arguments satisfy `where`; the others
        stay for later calls (order is checked through `self.order` where it matters)."""
        deadline = time.monotonic() + timeout
        while True:
            for index, (event, args) in enumerate(self.backlog):
                if event == name and where(args):
                    del self.backlog[index]
                    return args
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no {name} event within {timeout} s; seen: {self.order[-30:]}")
            try:
                self.backlog.append(self.inbox.get(timeout=remaining))
            except queue.Empty:
                pass

    def command(self, *args):
        self.sio.emit(args[0], args[1:], namespace=self.connected_namespace)

    def close(self):
        self.sio.disconnect()


class Client:
    """An application client on `/` (the conformance plugin's routes)."""

    def __init__(self, server, transport="websocket", transports=None, namespaces=None):
        self.inbox = queue.Queue()
        self.disconnects = queue.Queue()
        self.sio = socketio.Client(reconnection=False)
        self.sio.on("room-message", lambda *args: self.inbox.put(("room-message", args)))
        self.sio.on("message-back", lambda *args: self.inbox.put(("message-back", args)))
        self.sio.on("announce", lambda *args: self.inbox.put(("announce", args)))
        self.sio.on("disconnect", lambda reason=None: self.disconnects.put(reason))
        self.sio.connect(server.url, transports=transports or [transport], namespaces=namespaces, wait_timeout=WAIT)

    @property
    def sid(self):
        return self.sio.get_sid("/")

    def join(self, room):
        assert self.sio.call("join", room, timeout=WAIT) == room

    def next(self, timeout=WAIT):
        return self.inbox.get(timeout=timeout)

    def close(self):
        self.sio.disconnect()


@pytest.fixture(scope="module")
def server():
    running = start_server(config=config_file({"auth": {"username": USER, "passwordHash": password_hash()}}))
    yield running
    running.stop()


def login(server, **kwargs):
    return AdminUI(server, {"username": USER, "password": PASSWORD}, **kwargs)


# --- authentication -------------------------------------------------------------------

@pytest.mark.parametrize("auth", [
    {"username": USER, "password": "wrong"},
    {"username": "root", "password": PASSWORD},
    {"password": PASSWORD},
    {},
    {"sessionId": "0123456789abcdef"},
    {"username": USER, "password": 12345},
])
def test_wrong_or_missing_credentials_are_refused(server, auth):
    errors = []
    with pytest.raises(socketio.exceptions.ConnectionError):
        AdminUI(server, auth, errors=errors)
    # CONNECT_ERROR {"message": "invalid credentials"}: the message the UI reacts to.
    assert errors == [{"message": "invalid credentials"}]


def test_login_gets_session_after_connect_then_config_then_all_sockets(server):
    ui = login(server)
    try:
        (session,) = ui.next("session")
        assert re.fullmatch(r"[0-9a-f]{16}", session)
        (config,) = ui.next("config")
        assert config == {"supportedFeatures": ["EMIT", "JOIN", "LEAVE", "DISCONNECT", "MJOIN", "MLEAVE",
                                                "MDISCONNECT", "AGGREGATED_EVENTS", "ALL_EVENTS"]}
        ui.next("all_sockets")
        # The listener registered in the connect handler got the session: it came after CONNECT.
        # (The UI's own socket_connected may come in between, as upstream's does.)
        order = [name for name in ui.order if name in ("connect", "session", "config", "all_sockets")]
        assert order == ["connect", "session", "config", "all_sockets"], ui.order
    finally:
        ui.close()

    # The UI reconnects with the session id alone (App.vue created()): accepted, no new session.
    again = AdminUI(server, {"sessionId": session})
    try:
        again.next("config")
        assert "session" not in again.order
    finally:
        again.close()


@pytest.mark.parametrize("transport", ["polling", "websocket"])
def test_the_msgpack_parser_the_ui_offers_works_too(server, transport):
    # App.vue: `parser: parser === "msgpack" ? msgpackParser : null` (socket.io-msgpack-parser).
    client = Client(server)
    ui = login(server, transport=transport, serializer="msgpack")
    try:
        assert re.fullmatch(r"[0-9a-f]{16}", ui.next("session")[0])
        assert "ALL_EVENTS" in ui.next("config")[0]["supportedFeatures"]
        assert any(s["id"] == client.sid for s in ui.next("all_sockets")[0])
        assert ui.next("server_stats", timeout=STATS_WAIT)[0]["clientsCount"] >= 2
        ui.command("emit", "/", client.sid, "announce", {"via": "msgpack"})
        assert client.next() == ("announce", ({"via": "msgpack"},))
    finally:
        ui.close()
        client.close()


def test_a_2a_hash_as_bcryptjs_writes_it_is_accepted():
    running = start_server(config=config_file({"auth": {"username": USER, "passwordHash": password_hash(b"2a", 10)}}))
    try:
        ui = login(running)
        ui.next("config")
        ui.close()
        with pytest.raises(socketio.exceptions.ConnectionError):
            AdminUI(running, {"username": USER, "password": PASSWORD + " "})
    finally:
        running.stop()


def test_a_malformed_hash_stops_the_server_at_start_with_the_key():
    path = config_file({"auth": {"username": USER, "passwordHash": "plain-text-password"}})
    result = subprocess.run([BINARY, "serve", "--config", path, "--port", "0", "--no-preflight"],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode != 0
    assert "admin.ui.auth.passwordHash: not a bcrypt hash" in result.stderr + result.stdout


# --- what the UI is sent --------------------------------------------------------------

def test_all_sockets_serializes_each_socket_as_upstream(server):
    client = Client(server)
    room = f"r-{uuid.uuid4().hex[:8]}"
    client.join(room)
    ui = login(server)
    try:
        (sockets,) = ui.next("all_sockets")
        mine = [s for s in sockets if s["id"] == client.sid]
        assert len(mine) == 1, sockets
        socket = mine[0]
        assert socket["nsp"] == "/"
        assert socket["transport"] == "websocket"
        assert socket["clientId"] == client.sio.eio.sid[:12]
        assert sorted(socket["rooms"]) == sorted([client.sid, room])
        assert socket["data"] == {}
        handshake = socket["handshake"]
        assert set(handshake) == {"address", "headers", "query", "issued", "secure", "time", "url", "xdomain"}
        assert handshake["address"] == "127.0.0.1"
        assert isinstance(handshake["issued"], int) and abs(handshake["issued"] / 1000 - time.time()) < 60
        assert re.fullmatch(r"\w{3} \w{3} \d\d \d{4} \d\d:\d\d:\d\d GMT\+0000 \(Coordinated Universal Time\)", handshake["time"])
        assert handshake["query"]["EIO"] == "4"
        assert handshake["url"].startswith("/socket.io/?")
        assert handshake["secure"] is False
        assert handshake["xdomain"] is ("origin" in handshake["headers"])
        assert "host" in handshake["headers"]
        # The admin socket itself is listed too (upstream lists every namespace).
        assert any(s["nsp"] == "/admin" for s in sockets)
    finally:
        ui.close()
        client.close()


def test_server_stats_every_two_seconds_with_upstreams_fields(server):
    polling = Client(server, transport="polling")
    ui = login(server)
    try:
        first = ui.next("server_stats", timeout=STATS_WAIT)[0]
        second = ui.next("server_stats", timeout=STATS_WAIT)[0]
        for stats in (first, second):
            assert set(stats) == {"serverId", "hostname", "pid", "uptime", "clientsCount", "pollingClientsCount",
                                  "aggregatedEvents", "namespaces"}
            assert stats["clientsCount"] >= 2
            assert stats["pollingClientsCount"] >= 1
            names = {n["name"]: n["socketsCount"] for n in stats["namespaces"]}
            assert names["/"] >= 1 and names["/admin"] >= 1
        assert second["uptime"] > first["uptime"]
        assert 1.5 < second["uptime"] - first["uptime"] < 4
        # Counters arrive as {timestamp, type, subType?, count}, each counted once.
        seen = {}
        polling.sio.emit("message", "x")
        assert polling.next()[0] == "message-back"
        deadline = time.monotonic() + STATS_WAIT * 2
        while time.monotonic() < deadline and not {"packetsIn", "bytesIn", "packetsOut", "bytesOut"} <= set(seen):
            for event in ui.next("server_stats", timeout=STATS_WAIT)[0]["aggregatedEvents"]:
                assert event["timestamp"] % 1000 == 0 and event["count"] > 0
                assert set(event) <= {"timestamp", "type", "subType", "count"}
                seen[event["type"]] = seen.get(event["type"], 0) + event["count"]
        assert {"packetsIn", "bytesIn", "packetsOut", "bytesOut"} <= set(seen), seen
    finally:
        ui.close()
        polling.close()


def test_socket_lifecycle_rooms_and_events_reach_the_ui(server):
    ui = login(server)
    ui.next("all_sockets")
    client = Client(server)
    sid = client.sid
    try:
        # As upstream: the socket's own room first (socket.io joins it before "connection").
        assert ui.next("room_joined", where=lambda a: a[2] == sid)[:3] == ("/", sid, sid)
        socket, when = ui.next("socket_connected", where=lambda a: a[0]["id"] == sid)
        assert socket["nsp"] == "/" and socket["transport"] == "websocket" and ISO.match(when)

        room = f"r-{uuid.uuid4().hex[:8]}"
        client.join(room)
        nsp, joined, who, when = ui.next("room_joined", where=lambda a: a[1] == room)
        assert (nsp, who) == ("/", sid) and ISO.match(when)
        nsp, who, args, when = ui.next("event_received", where=lambda a: a[1] == sid and a[2][0] == "join")
        assert args == ["join", room]

        client.sio.emit("message", {"n": 1})
        assert ui.next("event_received", where=lambda a: a[2][0] == "message")[2] == ["message", {"n": 1}]
        # The conformance plugin's `auth` emit at connect, then the answer to `message`.
        assert ui.next("event_sent", where=lambda a: a[1] == sid)[:3] == ("/", sid, ["auth", {}])
        assert ui.next("event_sent", where=lambda a: a[1] == sid)[:3] == ("/", sid, ["message-back", {"n": 1}])

        client.close()
        nsp, who, reason, when = ui.next("socket_disconnected", where=lambda a: a[1] == sid)
        # python-socketio sends DISCONNECT and closes; the server may see either first.
        assert nsp == "/" and reason in ("client namespace disconnect", "transport close") and ISO.match(when)
        left = {ui.next("room_left", where=lambda a: a[2] == sid)[1] for _ in range(2)}
        assert left == {sid, room}
    finally:
        ui.close()
        client.close()


def test_an_upgrade_is_reported_as_socket_updated(server):
    ui = login(server)
    ui.next("all_sockets")
    polling = Polling(server.url, "/socket.io/")
    # Not polling.handshake(): that one insists on the protocol suites' ping interval.
    opened = decode_payload(polling.request("GET", polling.params()).text)[0]
    sid = json.loads(opened[1:])["sid"]
    polling.post_ok(sid, "40")
    connect = next(packet for packet in polling.get_packets(sid) if packet.startswith("40"))
    socket_id = json.loads(connect[2:])["sid"]
    try:
        socket, _ = ui.next("socket_connected", where=lambda a: a[0]["id"] == socket_id)
        assert socket["transport"] == "polling"
        ws = RawWebSocket(websocket_url(server.ws_url, "/socket.io/", EIO="4", transport="websocket", sid=sid))
        ws.send("2probe")
        assert ws.recv() == "3probe"
        ws.send("5")
        update = ui.next("socket_updated", where=lambda a: a[0]["id"] == socket_id)
        assert update == ({"id": socket_id, "nsp": "/", "transport": "websocket"},)
        ws.close()
    finally:
        ui.close()


# --- commands -------------------------------------------------------------------------

def test_join_emit_leave_and_disconnect_commands(server):
    ui = login(server)
    ui.next("all_sockets")
    a, b = Client(server, namespaces=["/", "/custom"]), Client(server, namespaces=["/", "/custom"])
    a_sid, b_sid, b_custom = a.sid, b.sid, b.sio.get_sid("/custom")
    try:
        room = f"vip-{uuid.uuid4().hex[:8]}"
        # join(nsp, room, filter=a socket id): only that socket (SocketRooms.vue).
        ui.command("join", "/", room, a.sid)
        assert ui.next("room_joined", where=lambda args: args[1] == room)[2] == a.sid
        # emit(nsp, filter, ev, ...args) to the room: only a gets it.
        ui.command("emit", "/", room, "announce", {"text": "hi"}, 2)
        assert a.next() == ("announce", ({"text": "hi"}, 2))
        with pytest.raises(queue.Empty):
            b.inbox.get(timeout=0.5)
        # emit to the whole namespace (filter null): both.
        ui.command("emit", "/", None, "announce", "all")
        assert a.next() == ("announce", ("all",))
        assert b.next() == ("announce", ("all",))
        # leave(nsp, room) with no filter: every socket leaves (RoomDetails.vue "clear").
        ui.command("leave", "/", room)
        assert ui.next("room_left", where=lambda args: args[1] == room)[2] == a.sid
        # _disconnect(nsp, false, id): the socket only (the client sees the server disconnect).
        ui.command("_disconnect", "/", False, a_sid)
        assert a.disconnects.get(timeout=WAIT) in ("io server disconnect", "server disconnect", None)
        assert ui.next("socket_disconnected", where=lambda args: args[1] == a_sid)[2] == "server namespace disconnect"
        # ... and only that socket: a's socket on /custom is still served.
        assert a.sio.call("message-with-ack", "still here", namespace="/custom", timeout=WAIT) == "still here"
        # _disconnect(nsp, true, id): the whole connection, so b's socket on /custom goes too
        # (with socket.io's reason: Client._disconnect disconnects each socket, then closes).
        ui.command("_disconnect", "/", True, b_sid)
        b.disconnects.get(timeout=WAIT)
        for gone in (b_sid, b_custom):
            assert ui.next("socket_disconnected", where=lambda args: args[1] == gone)[2] == "server namespace disconnect"
    finally:
        ui.close()
        a.close()
        b.close()


def test_a_malformed_command_is_answered_with_an_error_and_changes_nothing(server):
    ui = login(server)
    client = Client(server)
    try:
        answer = ui.sio.call("join", ("/", 42, client.sid), namespace="/admin", timeout=WAIT)
        assert answer == {"error": "join: the second argument must be a room name"}
        answer = ui.sio.call("drop-tables", ("/",), namespace="/admin", timeout=WAIT)
        assert answer == {"error": "unknown command 'drop-tables'"}
        assert client.sio.connected
    finally:
        ui.close()
        client.close()


def test_emit_of_a_server_event_is_checked_against_its_declared_schema():
    # The chat plugin declares message.new's payload; the UI's emit is refused like the CLI's
    # broadcast when it does not match, and nothing reaches the namespace.
    document = json.loads(pathlib.Path(config_file({"auth": {"username": USER, "passwordHash": password_hash()}})).read_text())
    document["plugins"] = {"enabled": ["chat", "conformance"]}
    path = pathlib.Path(tempfile.mkdtemp(prefix="switchyard-admin-ui-")) / "config.json"
    path.write_text(json.dumps(document))
    running = start_server(config=str(path))
    try:
        ui = login(running)
        answer = ui.sio.call("emit", ("/chat", None, "message.new", {"text": "x"}), namespace="/admin", timeout=WAIT)
        assert answer["error"].startswith("emit: the payload does not match the schema of 'message.new'"), answer
        # An event nobody declared has no schema to break.
        client = Client(running)
        ui.command("emit", "/", None, "announce", {"text": "free-form"})
        assert client.next() == ("announce", ({"text": "free-form"},))
        ui.close()
        client.close()
    finally:
        running.stop()


def test_commands_are_audited_with_who_sent_them():
    data = tempfile.mkdtemp(prefix="switchyard-data-")
    running = start_server(config=config_file({"auth": {"username": USER, "passwordHash": password_hash()}}),
                           extra_args=("--data", data))
    try:
        ui = login(running)
        client = Client(running)
        sid = client.sid
        ui.command("join", "/", "audited", sid)
        ui.next("room_joined", where=lambda args: args[1] == "audited")
        ui.command("_disconnect", "/", False, sid)
        ui.next("socket_disconnected", where=lambda args: args[1] == sid)
        ui.close()
        client.close()
        deadline = time.monotonic() + WAIT
        while True:
            output = subprocess.run([BINARY, "audit", "--data", data, "--format", "json", "--since", "10m"],
                                    capture_output=True, text=True, check=True).stdout
            rows = [json.loads(line) for line in output.splitlines() if line.strip()]
            kinds = {row["kind"]: row for row in rows}
            if {"admin_join", "kick"} <= set(kinds) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert kinds["admin_join"]["room"] == "audited"
        assert kinds["admin_join"]["actor"] == f"admin-ui:{USER}@127.0.0.1"
        assert kinds["kick"]["socket_id"] == sid
    finally:
        running.stop()


# --- modes and options ----------------------------------------------------------------

def test_production_mode_sends_only_config_and_stats():
    running = start_server(config=config_file({"auth": False, "mode": "production", "readonly": True,
                                                "namespace": "/watch", "serverId": "node-a"}))
    try:
        ui = AdminUI(running, {}, namespace="/watch")
        client = Client(running)
        try:
            assert ui.next("config")[0] == {"supportedFeatures": ["AGGREGATED_EVENTS"]}
            stats = ui.next("server_stats", timeout=STATS_WAIT)[0]
            assert stats["serverId"] == "node-a"
            ui.next("server_stats", timeout=STATS_WAIT)
            assert not {"session", "all_sockets", "socket_connected", "room_joined"} & set(ui.order), ui.order
            # Read-only: commands are refused.
            assert ui.sio.call("_disconnect", ("/", True, client.sid), namespace="/watch", timeout=WAIT) == {
                "error": "the Admin UI is read-only on this server"}
            assert client.sio.connected
        finally:
            ui.close()
            client.close()
    finally:
        running.stop()


# --- a cluster ------------------------------------------------------------------------

def test_every_node_of_a_redis_cluster_reports_to_one_ui():
    redis = Redis()
    redis.start()
    config = config_file({"auth": {"username": USER, "passwordHash": password_hash()}})
    nodes = [start_server(config=config, extra_args=("--redis", redis.url)) for _ in range(2)]
    try:
        far = Client(nodes[1])
        far_sid = far.sid
        room = f"r-{uuid.uuid4().hex[:8]}"
        far.join(room)
        ui = login(nodes[0])
        try:
            # all_sockets gathers every node's sockets.
            (sockets,) = ui.next("all_sockets")
            assert any(s["id"] == far.sid and room in s["rooms"] for s in sockets), sockets
            # Each node's server_stats reach the UI connected to node A.
            servers = set()
            deadline = time.monotonic() + STATS_WAIT * 2
            while len(servers) < 2 and time.monotonic() < deadline:
                servers.add(ui.next("server_stats", timeout=STATS_WAIT)[0]["serverId"])
            assert len(servers) == 2, servers
            # Node B's socket events reach it too.
            far.sio.emit("message", "from b")
            assert ui.next("event_received", where=lambda a: a[1] == far_sid)[2] == ["message", "from b"]
            assert far.next() == ("message-back", ("from b",))
            # A command sent to node A acts on node B's socket.
            ui.command("emit", "/", room, "announce", "to b")
            assert far.next() == ("announce", ("to b",))
            ui.command("_disconnect", "/", False, far_sid)
            far.disconnects.get(timeout=WAIT)
            assert ui.next("socket_disconnected", where=lambda a: a[1] == far_sid)[2] == "server namespace disconnect"
            # The session made on node A lets the UI back in through node B (a load balancer).
            session = ui.next("session")[0]
            again = AdminUI(nodes[1], {"sessionId": session})
            again.next("config")
            assert "session" not in again.order
            again.close()
        finally:
            ui.close()
            far.close()
    finally:
        for node in nodes:
            node.stop()
        redis.kill()
