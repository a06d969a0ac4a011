"""A raw Engine.IO v4 / Socket.IO v5 client for protocol tests.

Nothing here speaks the protocol for the test: it only moves bytes (HTTP long-polling with
`requests`, WebSocket with `websocket-client`) and waits for things with deadlines, so that
every packet the tests send or expect is spelled out in the test itself.

Timing rules used by the tests:
- waiting for an expected message or close always has a deadline (an assertion fails when it
  passes), and returns as soon as the event happens;
- the only unconditional wait is `protocol_wait`, for real-time behaviour the protocol itself
  defines (ping timeout), and it is bounded by the configured intervals.
"""
import base64
import http.client
import json
import threading
import time
import urllib.parse

import requests
import websocket

# Values of examples/conformance.json.
PING_INTERVAL = 0.300
PING_TIMEOUT = 0.200
MAX_PAYLOAD = 1_000_000
CONNECT_TIMEOUT = 1.000

# Slack added to every deadline for scheduling noise (loopback, loaded CI machine).
SLACK = 1.0
# Deadline for a reply that the server should send right away.
REPLY_DEADLINE = 2.0
# Deadline for a close the server should perform right away (less than the time after
# which a ping timeout would close the session anyway, when pings are answered).
CLOSE_DEADLINE = 1.0

RECORD_SEPARATOR = "\x1e"

ERROR_MESSAGES = {
    0: "Transport unknown",
    1: "Session ID unknown",
    2: "Bad handshake method",
    3: "Bad request",
    4: "Forbidden",
    5: "Unsupported protocol version",
}

HANDSHAKE_KEYS = ["maxPayload", "pingInterval", "pingTimeout", "sid", "upgrades"]


def protocol_wait(seconds):
    """The one unconditional wait: real time the protocol requires to elapse (ping timeout)."""
    assert seconds <= PING_INTERVAL + PING_TIMEOUT + SLACK, "protocol waits are bounded by the heartbeat"
    time.sleep(seconds)


# --------------------------------------------------------------------------------------------
# Payloads


def encode_payload(packets):
    """Engine.IO v4 polling payload: packets joined by \\x1e, binary as 'b' + base64."""
    parts = []
    for packet in packets:
        if isinstance(packet, (bytes, bytearray)):
            parts.append("b" + base64.b64encode(bytes(packet)).decode("ascii"))
        else:
            parts.append(packet)
    return RECORD_SEPARATOR.join(parts)


def decode_payload(text):
    """Inverse of encode_payload: a list of str (text packets) and bytes (binary packets)."""
    packets = []
    for part in text.split(RECORD_SEPARATOR):
        if part.startswith("b"):
            packets.append(base64.b64decode(part[1:], validate=True))
        else:
            packets.append(part)
    return packets


def parse_handshake(open_packet):
    """Checks an Engine.IO open packet ('0' + JSON) strictly and returns its JSON object."""
    assert isinstance(open_packet, str), f"open packet must be text, got {open_packet!r}"
    assert open_packet.startswith("0{"), f"open packet must be '0' + JSON object, got {open_packet!r}"
    value = json.loads(open_packet[1:])
    assert sorted(value.keys()) == HANDSHAKE_KEYS, f"handshake keys: {sorted(value.keys())}"
    assert isinstance(value["sid"], str) and value["sid"], f"sid: {value['sid']!r}"
    assert isinstance(value["upgrades"], list) and all(isinstance(u, str) for u in value["upgrades"])
    for key in ("pingInterval", "pingTimeout", "maxPayload"):
        assert type(value[key]) is int, f"{key} must be an integer, got {value[key]!r}"
    assert value["pingInterval"] == int(PING_INTERVAL * 1000)
    assert value["pingTimeout"] == int(PING_TIMEOUT * 1000)
    assert value["maxPayload"] == MAX_PAYLOAD
    return value


def assert_error(response, code, status=None):
    """An Engine.IO error reply: HTTP 400 (403 for Forbidden) and {"code": N, "message": ...}."""
    expected_status = status if status is not None else (403 if code == 4 else 400)
    assert response.status_code == expected_status, (
        f"expected HTTP {expected_status} with code {code}, got {response.status_code} {response.text!r}"
    )
    assert response.headers.get("Content-Type", "").startswith("application/json"), response.headers
    body = response.json()
    assert body == {"code": code, "message": ERROR_MESSAGES[code]}, f"error body: {body!r}"


# --------------------------------------------------------------------------------------------
# HTTP long-polling


class Polling:
    """HTTP long-polling requests against one Engine.IO endpoint (e.g. /engine.io/)."""

    def __init__(self, base_url, path):
        self.endpoint = base_url + path

    def request(self, method, params, data=None, timeout=REPLY_DEADLINE + PING_INTERVAL):
        # A fresh connection per request: concurrent requests never share a socket.
        with requests.Session() as session:
            return session.request(method, self.endpoint, params=params, data=data, timeout=timeout)

    def params(self, sid=None, **extra):
        params = {"EIO": "4", "transport": "polling"}
        if sid is not None:
            params["sid"] = sid
        params.update(extra)
        return params

    def handshake(self):
        """Opens a session; returns (sid, handshake object) after checking the reply strictly."""
        response = self.request("GET", self.params())
        assert response.status_code == 200, f"handshake: HTTP {response.status_code} {response.text!r}"
        assert response.headers.get("Content-Type", "").startswith("text/plain"), response.headers
        packets = decode_payload(response.text)
        assert len(packets) == 1, f"handshake payload must hold exactly the open packet: {response.text!r}"
        value = parse_handshake(packets[0])
        return value["sid"], value

    def get(self, sid, timeout=REPLY_DEADLINE + PING_INTERVAL, **extra):
        return self.request("GET", self.params(sid, **extra), timeout=timeout)

    def start_get(self, sid, **extra):
        """Sends a GET and returns at once, before the reply: the request bytes have left
        this process when this returns, so a request made afterwards reaches the server
        second (on loopback). Call .result(timeout) on the returned object for the reply."""
        return PendingRequest(self.endpoint, "GET", self.params(sid, **extra))

    def post(self, sid, body, **extra):
        if isinstance(body, list):
            body = encode_payload(body)
        if isinstance(body, str):
            body = body.encode("utf-8")
        return self.request("POST", self.params(sid, **extra), data=body)

    def post_ok(self, sid, body):
        response = self.post(sid, body)
        assert response.status_code == 200, f"POST: HTTP {response.status_code} {response.text!r}"
        assert response.text == "ok", f"POST reply must be 'ok', got {response.text!r}"
        return response

    def get_packets(self, sid, timeout=REPLY_DEADLINE + PING_INTERVAL):
        response = self.get(sid, timeout=timeout)
        assert response.status_code == 200, f"GET: HTTP {response.status_code} {response.text!r}"
        return decode_payload(response.text)

    def collect(self, sid, count, deadline=REPLY_DEADLINE, answer_pings=True):
        """Polls until `count` packets other than pings ('2') arrived; answers pings with '3'."""
        packets = []
        end = time.monotonic() + deadline
        while len(packets) < count:
            remaining = end - time.monotonic()
            assert remaining > 0, f"got {packets!r}, expected {count} packets within {deadline}s"
            for packet in self.get_packets(sid, timeout=remaining + PING_INTERVAL):
                if packet == "2":
                    if answer_pings:
                        self.post_ok(sid, "3")
                    continue
                packets.append(packet)
        assert len(packets) == count, f"expected {count} packets, got {packets!r}"
        return packets


class RawResponse:
    """The parts of a requests.Response the tests use."""

    def __init__(self, status_code, headers, content):
        self.status_code = status_code
        self.headers = headers
        self.content = content
        self.text = content.decode("utf-8", errors="replace")

    def json(self):
        return json.loads(self.content)


class PendingRequest:
    def __init__(self, endpoint, method, params):
        url = urllib.parse.urlsplit(endpoint)
        self.connection = http.client.HTTPConnection(url.hostname, url.port, timeout=REPLY_DEADLINE + PING_INTERVAL)
        self.connection.request(method, url.path + "?" + urllib.parse.urlencode(params))

    def result(self, timeout=REPLY_DEADLINE + PING_INTERVAL):
        try:
            self.connection.sock.settimeout(timeout)
            response = self.connection.getresponse()
            content = response.read()
            return RawResponse(response.status, response.headers, content)
        finally:
            self.connection.close()


# --------------------------------------------------------------------------------------------
# WebSocket


class Closed(Exception):
    """The WebSocket connection was closed (close frame or end of stream)."""


class RawWebSocket:
    """A raw WebSocket on an Engine.IO endpoint: text frames are str, binary frames bytes."""

    def __init__(self, url):
        self.url = url
        self.ws = websocket.create_connection(url, timeout=REPLY_DEADLINE)
        self.closed = False

    @classmethod
    def open_session(cls, ws_base, path, **params):
        """Opens a WebSocket-only session; returns (socket, handshake object)."""
        socket = cls(websocket_url(ws_base, path, **params))
        value = parse_handshake(socket.recv())
        return socket, value

    def send(self, message):
        if isinstance(message, (bytes, bytearray)):
            self.ws.send_binary(bytes(message))
        else:
            self.ws.send(message)

    def _next(self, timeout):
        """The next data message, or raises Closed / AssertionError on timeout."""
        if self.closed:
            raise Closed()
        self.ws.settimeout(max(timeout, 0.001))
        try:
            opcode, data = self.ws.recv_data()
        except websocket.WebSocketTimeoutException:
            raise AssertionError(f"no message within {timeout:.3f}s") from None
        except (websocket.WebSocketConnectionClosedException, ConnectionError, OSError):
            self.closed = True
            raise Closed() from None
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            self.closed = True
            raise Closed()
        if opcode == websocket.ABNF.OPCODE_TEXT:
            return data.decode("utf-8")
        return bytes(data)

    def recv(self, timeout=REPLY_DEADLINE, skip_pings=False):
        """The next message within `timeout` seconds; fails if none or if the socket closes.

        With skip_pings, Engine.IO pings ('2') are answered with '3' and not returned."""
        end = time.monotonic() + timeout
        while True:
            try:
                message = self._next(end - time.monotonic())
            except Closed:
                raise AssertionError("connection closed while waiting for a message") from None
            if skip_pings and message == "2":
                self.send("3")
                continue
            return message

    def collect(self, count, timeout=REPLY_DEADLINE):
        """`count` messages other than pings (which are answered), all within `timeout`."""
        end = time.monotonic() + timeout
        return [self.recv(end - time.monotonic(), skip_pings=True) for _ in range(count)]

    def wait_closed(self, timeout=CLOSE_DEADLINE, answer_pings=True):
        """Waits until the server closes the connection; returns the messages received before.

        Pings are answered (unless told otherwise) so that a ping timeout can never be what
        closes the connection. Fails if the connection is still open after `timeout`."""
        end = time.monotonic() + timeout
        received = []
        while True:
            remaining = end - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"connection still open after {timeout}s (received {received!r})")
            try:
                message = self._next(remaining)
            except Closed:
                return received
            except AssertionError:
                raise AssertionError(f"connection still open after {timeout}s (received {received!r})") from None
            if message == "2" and answer_pings:
                self.send("3")
            received.append(message)

    def assert_closes(self, timeout=CLOSE_DEADLINE):
        """The server closes the connection within `timeout` (pings answered meanwhile), and
        sends nothing before but pings and, optionally, a final close packet ('1')."""
        received = self.wait_closed(timeout)
        others = [message for message in received if message != "2"]
        assert others in ([], ["1"]), f"unexpected messages before the close: {received!r}"

    def close(self):
        try:
            self.ws.close(timeout=0.2)
        except Exception:
            pass
        self.closed = True


def websocket_url(ws_base, path, **params):
    query = "&".join(f"{key}={value}" for key, value in params.items())
    return f"{ws_base}{path}?{query}" if query else f"{ws_base}{path}"


def refused_upgrade(ws_base, path, **params):
    """Attempts a WebSocket upgrade that must be refused; returns (status, headers, body text)."""
    url = websocket_url(ws_base, path, **params)
    try:
        socket = websocket.create_connection(url, timeout=REPLY_DEADLINE)
    except websocket.WebSocketBadStatusException as error:
        headers = {k.lower(): v for k, v in (error.resp_headers or {}).items()}
        return error.status_code, headers, (error.resp_body or b"").decode("utf-8", "replace")
    socket.close()
    raise AssertionError(f"WebSocket upgrade to {url} was accepted (101), expected an HTTP error reply")


def assert_accepted_then_closed(ws_base, path, **params):
    """A WebSocket request the server completes (101) and then closes at once, sending nothing
    but the close frame: what the reference server does with a WebSocket for a session that
    has already upgraded (engine.io `Server.onWebSocket`: "transport had already been
    upgraded" → `websocket.close()`). Node's `ws` client throws on any non-101 answer."""
    url = websocket_url(ws_base, path, **params)
    try:
        socket = RawWebSocket(url)
    except websocket.WebSocketBadStatusException as error:
        raise AssertionError(f"{url}: HTTP {error.status_code} {error.resp_body!r}, expected 101 then a close") from None
    try:
        received = socket.wait_closed(CLOSE_DEADLINE, answer_pings=False)
        assert received == [], f"the superfluous WebSocket received {received!r} before its close"
    finally:
        socket.close()


def race(*calls):
    """Runs the calls at the same moment on threads (like the official suites' Promise.all of
    two fetches) and returns their results in order."""
    results = [None] * len(calls)
    errors = []
    barrier = threading.Barrier(len(calls))

    def run(index, call):
        try:
            barrier.wait(timeout=REPLY_DEADLINE)
            results[index] = call()
        except BaseException as error:  # re-raised in the caller
            errors.append(error)

    threads = [threading.Thread(target=run, args=(index, call)) for index, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=REPLY_DEADLINE + PING_INTERVAL + SLACK)
    if errors:
        raise errors[0]
    return results


def assert_forceful_polling_close(polling, rounds=20):
    """The official suites' "forcefully closes the session" (HTTP long-polling): a GET and a
    POST `1` sent at the same moment; the GET is answered 200 `6` whichever of the two the
    server sees first, and the next GET 400 (Session ID unknown). Repeated, because the order
    in which the server sees the two varies from round to round."""
    for round_number in range(rounds):
        sid, _ = polling.handshake()
        poll, post = race(lambda: polling.get(sid), lambda: polling.post(sid, "1"))
        assert (post.status_code, post.text) == (200, "ok"), f"round {round_number}: POST 1 got {post.status_code} {post.text!r}"
        assert (poll.status_code, poll.text) == (200, "6"), f"round {round_number}: GET got {poll.status_code} {poll.text!r}"
        assert_error(polling.get(sid), 1)


def assert_refused(ws_base, path, code, **params):
    """A refused WebSocket upgrade as the reference server answers it (engine.io
    `abortUpgrade`, lib/server.ts): 400 for every code, `Connection: close`, `text/html`, the
    error's message as the body; not the JSON object of a refused polling request."""
    status, headers, body = refused_upgrade(ws_base, path, **params)
    assert (status, body) == (400, ERROR_MESSAGES[code]), (
        f"refused upgrade {params}: HTTP {status} {body!r}, expected 400 {ERROR_MESSAGES[code]!r}"
    )
    assert headers.get("content-type") == "text/html", headers
    assert headers.get("connection", "").lower() == "close", headers
