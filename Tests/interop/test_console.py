"""The web console on the admin listener, in headless Chromium over the DevTools protocol:
log in with the token, see a python-socketio client with its rooms, broadcast to a room,
kick the client, browse the registry, filter the audit log and export it as CSV, draw the
charts; and nothing but 401 without the token.

Screenshots of each page go to $SWITCHYARD_CONSOLE_SCREENSHOTS when set (docs/console/
holds the committed ones), else to a temporary directory."""
import base64
import json
import os
import pathlib
import queue
import tempfile
import time
import uuid

import pytest
import requests
import socketio

import jsclient
from conftest import start_server

WAIT = 10


def poll(page, expression, timeout=WAIT, what=None):
    """Evaluates `expression` in the page until it is truthy; returns its value."""
    deadline = time.monotonic() + timeout
    while True:
        value = page.evaluate(expression)
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or expression}")
        time.sleep(0.1)


@pytest.fixture(scope="module")
def server():
    data = tempfile.mkdtemp(prefix="switchyard-console-")
    # At level `all` refused events are audited too (the refusals chart draws them).
    running = start_server(extra_args=("--data", data, "--audit-level", "all"))
    admin = json.loads((pathlib.Path(data) / "admin.json").read_text())
    running.admin_url, running.token = admin["url"], admin["token"]
    yield running
    running.stop()


@pytest.fixture(scope="module")
def browser():
    chromium = jsclient.Chromium()
    yield chromium
    chromium.close()


@pytest.fixture(scope="module")
def shots():
    directory = pathlib.Path(os.environ.get("SWITCHYARD_CONSOLE_SCREENSHOTS") or tempfile.mkdtemp(prefix="console-shots-"))
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def screenshot(page, path):
    data = page.browser.send("Page.captureScreenshot", {"format": "png"}, session=page.session)["data"]
    path.write_bytes(base64.b64decode(data))
    assert path.stat().st_size > 1000


def open_console(browser, server, token):
    page = browser.open_page(server.admin_url + "/")
    page.browser.send("Emulation.setDeviceMetricsOverride",
                      {"width": 1280, "height": 820, "deviceScaleFactor": 1, "mobile": False}, session=page.session)
    page.evaluate(f"""(() => {{ document.querySelector('#token').value = {json.dumps(token)};
                              document.querySelector('#login-form').requestSubmit(); return true; }})()""")
    return page


class Client:
    def __init__(self, server):
        self.inbox = queue.Queue()
        self.disconnected = queue.Queue()
        self.sio = socketio.Client(reconnection=False)
        self.sio.on("announce", lambda *args: self.inbox.put(("announce", args)))
        self.sio.on("error", lambda *args: self.inbox.put(("error", args)))
        self.sio.on("disconnect", lambda reason=None: self.disconnected.put(reason))
        self.sio.connect(server.url, transports=["websocket"], wait_timeout=WAIT)
        self.sid = self.sio.get_sid("/")

    def join(self, room):
        assert self.sio.call("join", room, timeout=WAIT) == room

    def close(self):
        self.sio.disconnect()


def test_without_the_right_token_nothing_but_the_page_shell(server):
    for token in (None, "wrong", server.token + "x"):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        for path in ("/admin/stream", "/admin/registry", "/admin/audit", "/admin/audit?format=csv", "/admin/history", "/admin/live"):
            response = requests.get(server.admin_url + path, headers=headers, timeout=WAIT, stream=True)
            assert response.status_code == 401, path
            assert response.json() == {"error": "missing or wrong admin token"}, path
        response = requests.post(server.admin_url + "/admin/kick", headers=headers, json={"sid": "x"}, timeout=WAIT)
        assert response.status_code == 401
    # The shell is public and holds no data: no token, no socket, no audit row in it.
    shell = requests.get(server.admin_url + "/", timeout=WAIT)
    assert shell.status_code == 200 and shell.headers["Content-Type"].startswith("text/html")
    assert server.token not in shell.text and "default-src 'none'" in shell.headers["Content-Security-Policy"]


def test_a_wrong_token_is_refused_in_the_page(browser, server):
    page = open_console(browser, server, "not-the-token")
    message = poll(page, "document.querySelector('#login-status').textContent", what="the login error")
    assert "wrong token (HTTP 401)" == message
    assert page.evaluate("document.querySelector('#app').hidden") is True
    assert page.evaluate("sessionStorage.getItem('switchyard-token')") is None


def test_live_view_broadcast_and_kick(browser, server, shots):
    room = f"lobby-{uuid.uuid4().hex[:6]}"
    member, outsider = Client(server), Client(server)
    member.join(room)
    page = open_console(browser, server, server.token)
    try:
        # The client appears with its room, in the connections and under its namespace.
        row = f"document.querySelector('tr[data-socket=\"{member.sid}\"]')"
        poll(page, f"{row} && {row}.textContent.includes({json.dumps(room)})", what="the client's row with its room")
        assert page.evaluate(f"document.querySelector('tr[data-namespace=\"/\"] [data-room=\"{room}\"]').textContent").find(member.sid) > 0
        assert page.evaluate("sessionStorage.getItem('switchyard-token')") == server.token
        screenshot(page, shots / "live.png")

        # Broadcast to the room through the form: the member gets it, the other client not.
        page.evaluate(f"""(() => {{ const f = document.querySelector('#broadcast-form').elements;
            f.namespace.value = '/'; f.room.value = {json.dumps(room)}; f.event.value = 'announce';
            f.payload.value = '{{"text": "from the console"}}';
            document.querySelector('#broadcast-form').requestSubmit(); return true; }})()""")
        assert member.inbox.get(timeout=WAIT) == ("announce", ({"text": "from the console"},))
        with pytest.raises(queue.Empty):
            outsider.inbox.get(timeout=0.5)
        assert poll(page, "window.lastAction && window.lastAction.path === '/admin/broadcast' && window.lastAction.answer.sockets") == 1

        # A payload that is not JSON never leaves the page.
        page.evaluate("""(() => { const f = document.querySelector('#broadcast-form').elements; f.payload.value = '{nope';
            document.querySelector('#broadcast-form').requestSubmit(); return true; })()""")
        assert "the payload is not JSON" in page.evaluate("document.querySelector('#action-status').textContent")

        # Kick from the row's button: the client hears why, then is disconnected.
        page.evaluate(f"document.querySelector('button[data-kick=\"{member.sid}\"]').click()")
        name, (payload,) = member.inbox.get(timeout=WAIT)
        assert name == "error" and payload["error"]["code"] == "kicked"
        member.disconnected.get(timeout=WAIT)
        poll(page, f"!{row}", what="the kicked client's row to go")
    finally:
        member.close()
        outsider.close()


def test_registry_audit_csv_and_charts(browser, server, shots):
    client = Client(server)
    client.sio.emit("message", "hello")
    # An invalid payload is refused (validation) and audited: the refusals chart shows it.
    assert client.sio.call("join", "", timeout=WAIT)["error"]["kind"] == "validation"
    page = open_console(browser, server, server.token)
    try:
        poll(page, "window.lastSnapshot")
        page.evaluate("document.querySelector('button[data-page=registry]').click()")
        poll(page, "document.querySelector('#registry').textContent.includes('conformance.echo')", what="the registry")
        assert "/custom" in page.evaluate("document.querySelector('#registry').textContent")
        screenshot(page, shots / "registry.png")

        # Kick something so the audit has an operator row, then filter on that kind.
        requests.post(server.admin_url + "/admin/kick", headers={"Authorization": f"Bearer {server.token}"},
                      json={"sid": client.sid, "reason": "audit me"}, timeout=WAIT).raise_for_status()
        client.disconnected.get(timeout=WAIT)
        page.evaluate("document.querySelector('button[data-page=audit]').click()")
        poll(page, "document.querySelectorAll('#audit tbody tr').length > 0", what="audit rows")
        page.evaluate("""(() => { const f = document.querySelector('#audit-form').elements; f.kind.value = 'kick';
            document.querySelector('#audit-form').requestSubmit(); return true; })()""")
        kinds = poll(page, """(() => { const rows = [...document.querySelectorAll('#audit tbody tr')].map(r => r.dataset.kind);
            return rows.length && rows.every(k => k === 'kick') ? rows : null; })()""", what="only kick rows")
        assert kinds and "audit me" in page.evaluate("document.querySelector('#audit tbody').textContent")
        # Paging: one row per page, then the older ones.
        screenshot(page, shots / "audit.png")
        page.evaluate("document.querySelector('#audit-csv').click()")
        csv = poll(page, "window.lastCSV", what="the CSV export")
        lines = csv.strip().split("\n")
        assert lines[0].startswith("id,time,kind,")
        assert len(lines) >= 2 and all(",kick," in line for line in lines[1:])

        # A bad filter is answered with the reason, not rows.
        page.evaluate("""(() => { const f = document.querySelector('#audit-form').elements; f.kind.value = 'kik';
            document.querySelector('#audit-form').requestSubmit(); return true; })()""")
        assert "unknown kind 'kik'" in poll(page, "document.querySelector('#audit-status').textContent.includes('unknown') && document.querySelector('#audit-status').textContent")

        page.evaluate("document.querySelector('button[data-page=charts]').click()")
        poll(page, "document.querySelectorAll('#charts svg path[data-series=sockets]').length === 1", what="the charts")
        assert page.evaluate("window.lastHistory.samples.length") >= 1
        assert page.evaluate("document.querySelectorAll('#charts rect[data-kind]').length") >= 1
        screenshot(page, shots / "charts.png")
    finally:
        client.close()


def test_audit_paging_and_live_tail(browser, server):
    page = open_console(browser, server, server.token)
    poll(page, "window.lastSnapshot")
    page.evaluate("document.querySelector('button[data-page=audit]').click()")
    page.evaluate("""(() => { const f = document.querySelector('#audit-form').elements; f.kind.value = ''; f.limit.value = '1';
        document.querySelector('#audit-form').requestSubmit(); return true; })()""")
    poll(page, "document.querySelectorAll('#audit tbody tr').length === 1 && !document.querySelector('#audit-more').hidden", what="one row and a next page")
    first = page.evaluate("+document.querySelector('#audit tbody tr').dataset.auditId")
    page.evaluate("document.querySelector('#audit-more').click()")
    poll(page, "document.querySelectorAll('#audit tbody tr').length === 2")
    second = page.evaluate("+document.querySelectorAll('#audit tbody tr')[1].dataset.auditId")
    assert second < first
    # Live tail: a new connection's audit row shows up without reloading.
    page.evaluate("document.querySelector('#audit-follow').click()")
    client = Client(server)
    try:
        poll(page, f"document.querySelector('#audit tbody').textContent.includes({json.dumps(client.sid)})", what="the tailed connect row")
    finally:
        client.close()


def test_a_cluster_console_shows_every_node_and_acts_on_all(browser):
    from test_cluster import Redis
    redis = Redis()
    redis.start()
    data = [tempfile.mkdtemp(prefix="switchyard-console-") for _ in range(2)]
    nodes = [start_server(extra_args=("--data", directory, "--redis", redis.url)) for directory in data]
    try:
        admin = json.loads((pathlib.Path(data[0]) / "admin.json").read_text())
        nodes[0].admin_url, nodes[0].token = admin["url"], admin["token"]
        far = Client(nodes[1])
        room = f"far-{uuid.uuid4().hex[:6]}"
        far.join(room)
        page = open_console(browser, nodes[0], nodes[0].token)
        # Both nodes are listed, node B with the far client's room.
        poll(page, "window.lastSnapshot && window.lastSnapshot.nodes.length === 2", what="two nodes")
        poll(page, f"document.querySelector('#namespaces').textContent.includes({json.dumps(room)})", what="node B's room")
        # A broadcast from node A's console reaches the client on node B.
        page.evaluate(f"""(() => {{ const f = document.querySelector('#broadcast-form').elements;
            f.namespace.value = '/'; f.room.value = {json.dumps(room)}; f.event.value = 'announce'; f.payload.value = '"across"';
            document.querySelector('#broadcast-form').requestSubmit(); return true; }})()""")
        assert far.inbox.get(timeout=WAIT) == ("announce", ("across",))
        assert poll(page, "window.lastAction && window.lastAction.answer.nodes") == 2
        far.close()
    finally:
        for node in nodes:
            node.stop()
        redis.kill()
