"""Two Switchyard processes joined by a real redis-server, with python-socketio clients on
each: room delivery across nodes, and recovery after Redis is killed and restarted."""
import pathlib
import queue
import signal
import socket
import subprocess
import tempfile
import time
import uuid

import pytest
import socketio

from conftest import start_server

WAIT = 5
REDIS = "/usr/bin/redis-server"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Redis:
    def __init__(self):
        self.port = free_port()
        self.process = None

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}"

    def start(self):
        if not pathlib.Path(REDIS).exists():
            raise RuntimeError(f"{REDIS} is missing: install Debian's redis-server (make deps)")
        self.process = subprocess.Popen(
            [REDIS, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tempfile.gettempdir(),
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as connection:
                    connection.sendall(b"PING\r\n")
                    if connection.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def kill(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)


@pytest.fixture(scope="module")
def redis():
    server = Redis()
    server.start()
    yield server
    server.kill()


@pytest.fixture(scope="module")
def nodes(redis):
    started = [start_server(extra_args=("--redis", redis.url)) for _ in range(2)]
    yield started
    for node in started:
        node.stop()


class Client:
    def __init__(self, node, transport="websocket"):
        self.inbox = queue.Queue()
        self.sio = socketio.Client(reconnection=False)
        self.sio.on("room-message", lambda *args: self.inbox.put(args))
        self.sio.connect(node.url, transports=[transport], wait_timeout=WAIT)

    def join(self, room):
        assert self.sio.call("join", room, timeout=WAIT) == room

    def to_room(self, room, *args):
        self.sio.emit("to-room", (room, *args))

    def next(self, timeout=WAIT):
        return self.inbox.get(timeout=timeout)

    def close(self):
        self.sio.disconnect()


def test_room_broadcast_reaches_exactly_the_members_on_every_node(nodes):
    a1, a2, b1 = Client(nodes[0]), Client(nodes[0], "polling"), Client(nodes[1])
    try:
        room, other = f"r-{uuid.uuid4().hex}", f"o-{uuid.uuid4().hex}"
        a1.join(room)
        b1.join(room)
        a2.join(other)
        a1.to_room(room, "hello", {"n": 1})
        # a2 is not a member: the next thing it gets is the marker sent after, from the same node.
        a1.to_room(other, "marker")
        assert a1.next() == ("hello", {"n": 1})
        assert b1.next() == ("hello", {"n": 1})
        assert a2.next() == ("marker",)
        # And from the other node back.
        b1.to_room(room, "from b")
        assert a1.next() == ("from b",)
        assert b1.next() == ("from b",)
    finally:
        for client in (a1, a2, b1):
            client.close()


def test_cluster_recovers_after_redis_is_killed_and_restarted(nodes, redis):
    a, b = Client(nodes[0]), Client(nodes[1])
    try:
        room = f"r-{uuid.uuid4().hex}"
        a.join(room)
        b.join(room)
        a.to_room(room, "before")
        assert b.next() == ("before",)
        assert a.next() == ("before",)

        redis.kill()
        # Local delivery goes on without Redis.
        a.to_room(room, "during")
        assert a.next() == ("during",)

        redis.start()
        # Once the nodes have reconnected and resubscribed, cross-node delivery resumes.
        # What node A published while Redis was down is buffered (bounded, see
        # RedisConfiguration.maxBufferedCommands) and flushed on reconnect, so b may get
        # "during" first — at most once, and never after a message sent later.
        deadline = time.monotonic() + 20
        delivered = None
        late = []
        attempt = 0
        while time.monotonic() < deadline and delivered is None:
            attempt += 1
            token = f"after-{attempt}"
            a.to_room(room, token)
            assert a.next() == (token,)
            try:
                while True:
                    message = b.next(timeout=0.5)
                    if message == ("during",):
                        late.append(message)
                        continue
                    delivered = message
                    break
            except queue.Empty:
                continue
        assert delivered is not None, "no cross-node delivery within 20 s of Redis coming back"
        assert delivered[0].startswith("after-"), delivered
        assert len(late) <= 1, late
        # From here on, cross-node delivery is in order and nothing from the outage follows.
        a.to_room(room, "final")
        assert a.next() == ("final",)
        while (message := b.next(timeout=5)) != ("final",):
            assert message[0].startswith("after-"), message
        assert "Redis" in nodes[0].log() and ("outage" in nodes[0].log().lower() or "lost" in nodes[0].log().lower())
    finally:
        a.close()
        b.close()
