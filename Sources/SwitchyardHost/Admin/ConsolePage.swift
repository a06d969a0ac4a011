import EngineIO
import NIOCore

/// The console page: one HTML document with its CSS and JavaScript, compiled into the
/// binary. No framework, nothing fetched from elsewhere; it works offline. It holds no
/// data: every piece comes from the token-protected `/admin/*` routes, and the token
/// entered once is kept in the tab's `sessionStorage`. Untrusted text (socket ids, room
/// names, identities, audit details) is always set as text, never as HTML.
enum ConsolePage {
    static let response: HTTPFallbackResponse = {
        var response = HTTPFallbackResponse.text(.ok, html, contentType: "text/html; charset=utf-8")
        response.headers.add(name: "Cache-Control", value: "no-store")
        // Only this page's own inline script and style, and requests to this origin.
        response.headers.add(
            name: "Content-Security-Policy",
            value:
                "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'"
        )
        response.headers.add(name: "X-Content-Type-Options", value: "nosniff")
        response.headers.add(name: "Referrer-Policy", value: "no-referrer")
        return response
    }()

    static let html = #"""
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><title>Switchyard console</title>
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <style>
        :root { --fg:#1d2330; --muted:#667085; --line:#e4e7ec; --bg:#f7f8fa; --accent:#2f5bea; --bad:#c4320a; --ok:#067647; }
        * { box-sizing: border-box; }
        body { margin:0; font:14px/1.4 system-ui, sans-serif; color:var(--fg); background:var(--bg); }
        header { display:flex; align-items:center; gap:16px; padding:10px 20px; background:#141a2a; color:#fff; }
        header h1 { font-size:16px; margin:0; font-weight:600; }
        header nav button { background:none; border:0; color:#c9d1e6; padding:6px 10px; cursor:pointer; font-size:14px; border-radius:4px; }
        header nav button.active { background:#2b3450; color:#fff; }
        header .right { margin-left:auto; font-size:12px; color:#c9d1e6; }
        main { padding:16px 20px; }
        section.page { display:none; } section.page.active { display:block; }
        .cards { display:flex; gap:12px; margin-bottom:14px; flex-wrap:wrap; }
        .card { background:#fff; border:1px solid var(--line); border-radius:6px; padding:10px 14px; min-width:130px; }
        .card b { display:block; font-size:20px; }
        .card span { color:var(--muted); font-size:12px; }
        table { border-collapse:collapse; width:100%; background:#fff; border:1px solid var(--line); margin-bottom:14px; }
        th, td { text-align:left; padding:5px 8px; border-bottom:1px solid var(--line); font-size:13px; vertical-align:top; }
        th { background:#f2f4f7; font-weight:600; }
        td.num { text-align:right; font-variant-numeric: tabular-nums; }
        .tag { display:inline-block; background:#eef2ff; color:#3538cd; border-radius:10px; padding:0 7px; margin:1px 2px; font-size:12px; }
        form, .box { background:#fff; border:1px solid var(--line); border-radius:6px; padding:10px 12px; margin-bottom:14px; }
        form.inline { display:flex; gap:8px; flex-wrap:wrap; align-items:end; }
        label { display:flex; flex-direction:column; font-size:12px; color:var(--muted); gap:2px; }
        input, select, textarea { font:inherit; padding:4px 6px; border:1px solid #cfd4dc; border-radius:4px; color:var(--fg); }
        button.act { background:var(--accent); color:#fff; border:0; border-radius:4px; padding:5px 12px; cursor:pointer; }
        button.danger { background:var(--bad); }
        .status { font-size:13px; margin:6px 0 12px; min-height:18px; }
        .status.error { color:var(--bad); } .status.ok { color:var(--ok); }
        h2 { font-size:15px; margin:16px 0 8px; }
        pre { background:#fff; border:1px solid var(--line); padding:8px; overflow:auto; font-size:12px; margin:4px 0; }
        .grid { display:grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap:14px; }
        .chart { background:#fff; border:1px solid var(--line); border-radius:6px; padding:8px 10px; }
        .chart h3 { font-size:13px; margin:0 0 4px; } .legend { font-size:12px; color:var(--muted); }
        #login { max-width:420px; margin:80px auto; }
        .muted { color:var(--muted); }
        </style></head>
        <body>
        <div id="login" class="box">
          <h2>Switchyard console</h2>
          <p class="muted">Enter the admin token (the <code>token</code> in <code>&lt;data&gt;/admin.json</code>). It is kept in this tab only.</p>
          <form id="login-form" class="inline"><label>Token <input id="token" type="password" size="40" autocomplete="off"></label>
          <button class="act" type="submit">Open</button></form>
          <div id="login-status" class="status error"></div>
        </div>
        <div id="app" hidden>
        <header><h1>Switchyard</h1>
          <nav><button data-page="live" class="active">Live</button><button data-page="registry">Registry</button><button data-page="audit">Audit</button><button data-page="charts">Charts</button></nav>
          <div class="right"><span id="updated">connecting…</span> · <a href="#" id="logout" style="color:#c9d1e6">forget token</a></div>
        </header>
        <main>
        <section class="page active" id="page-live">
          <div class="cards" id="cards"></div>
          <div id="action-status" class="status"></div>
          <h2>Connections <span class="muted" id="connection-note"></span></h2>
          <table id="connections"><thead><tr><th>socket</th><th>namespace</th><th>transport</th><th>address</th><th>identity</th><th>rooms</th><th>age</th><th>events in/out</th><th>bytes in/out</th><th></th></tr></thead><tbody></tbody></table>
          <h2>Namespaces and rooms</h2>
          <div id="namespaces"></div>
          <h2>Act</h2>
          <form id="broadcast-form" class="inline">
            <label>namespace <input name="namespace" value="/" size="10"></label>
            <label>room (empty: all) <input name="room" size="12"></label>
            <label>event <input name="event" size="14"></label>
            <label>payload (JSON) <input name="payload" size="30" value="{}"></label>
            <button class="act" type="submit">Broadcast</button>
          </form>
          <form id="purge-form" class="inline">
            <label>namespace <input name="namespace" value="/" size="10"></label>
            <label>room <input name="room" size="12"></label>
            <button class="act danger" type="submit">Purge room</button>
          </form>
          <form id="kick-identity-form" class="inline">
            <label>identity <input name="identity" size="14"></label>
            <label>reason <input name="reason" size="24" value="kicked by an operator"></label>
            <button class="act danger" type="submit">Kick identity</button>
          </form>
        </section>
        <section class="page" id="page-registry"><div id="registry"></div></section>
        <section class="page" id="page-audit">
          <form id="audit-form" class="inline">
            <label>since <input name="since" value="1h" size="8"></label>
            <label>until <input name="until" size="8"></label>
            <label>kind <input name="kind" size="16" placeholder="connect,kick"></label>
            <label>identity <input name="identity" size="10"></label>
            <label>namespace <input name="namespace" size="8"></label>
            <label>event <input name="event" size="10"></label>
            <label>outcome <select name="outcome"><option value="">any</option><option>ok</option><option>error</option><option>refused</option></select></label>
            <label>rows <input name="limit" value="50" size="4"></label>
            <button class="act" type="submit">Filter</button>
            <button class="act" type="button" id="audit-csv">Export CSV</button>
            <label style="flex-direction:row;align-items:center;gap:4px"><input type="checkbox" id="audit-follow"> live tail</label>
          </form>
          <div id="audit-status" class="status"></div>
          <table id="audit"><thead><tr><th>id</th><th>time</th><th>kind</th><th>namespace</th><th>identity</th><th>event</th><th>outcome</th><th>details</th></tr></thead><tbody></tbody></table>
          <button class="act" id="audit-more" hidden>Older rows</button>
          <a id="audit-download" hidden download="switchyard-audit.csv">download</a>
        </section>
        <section class="page" id="page-charts"><div class="grid" id="charts"></div></section>
        </main></div>
        <script>
        "use strict";
        const $ = (s) => document.querySelector(s);
        function el(tag, attrs, ...children) {
          const node = document.createElement(tag);
          for (const [k, v] of Object.entries(attrs || {})) {
            if (k.startsWith("on")) node.addEventListener(k.slice(2), v); else node.setAttribute(k, v);
          }
          for (const c of children.flat()) if (c !== null && c !== undefined) node.append(c instanceof Node ? c : String(c));
          return node;
        }
        const token = () => sessionStorage.getItem("switchyard-token");
        const auth = () => ({ "Authorization": "Bearer " + token() });
        async function api(path, options = {}) {
          const response = await fetch(path, { ...options, headers: { ...auth(), ...(options.headers || {}) } });
          if (response.status === 401) { logout("the token was refused"); throw new Error("unauthorized"); }
          return response;
        }
        function status(node, text, ok) { node.textContent = text; node.className = "status " + (ok ? "ok" : "error"); }

        // ---- login
        $("#login-form").addEventListener("submit", async (e) => {
          e.preventDefault();
          sessionStorage.setItem("switchyard-token", $("#token").value.trim());
          const r = await fetch("/admin/registry", { headers: auth() });
          if (r.status !== 200) { sessionStorage.removeItem("switchyard-token"); status($("#login-status"), "wrong token (HTTP " + r.status + ")"); return; }
          start();
        });
        function logout(reason) {
          sessionStorage.removeItem("switchyard-token");
          $("#app").hidden = true; $("#login").hidden = false;
          if (reason) status($("#login-status"), reason);
        }
        $("#logout").addEventListener("click", (e) => { e.preventDefault(); logout(""); location.reload(); });
        document.querySelectorAll("header nav button").forEach((b) => b.addEventListener("click", () => show(b.dataset.page)));
        function show(page) {
          document.querySelectorAll("header nav button").forEach((b) => b.classList.toggle("active", b.dataset.page === page));
          document.querySelectorAll("section.page").forEach((s) => s.classList.toggle("active", s.id === "page-" + page));
          if (page === "registry") loadRegistry();
          if (page === "audit" && !window.auditLoaded) loadAudit(false);
          if (page === "charts") loadHistory();
        }

        // ---- live (server-sent events over fetch, so the token travels in a header)
        let started = false;
        function start() {
          $("#login").hidden = true; $("#app").hidden = false;
          if (started) return; started = true;
          stream();
        }
        async function stream() {
          try {
            const response = await api("/admin/stream");
            const reader = response.body.getReader(); const decoder = new TextDecoder(); let buffer = "";
            for (;;) {
              const { value, done } = await reader.read(); if (done) break;
              buffer += decoder.decode(value, { stream: true });
              let end;
              while ((end = buffer.indexOf("\n\n")) >= 0) {
                const block = buffer.slice(0, end); buffer = buffer.slice(end + 2);
                const data = block.split("\n").filter((l) => l.startsWith("data: ")).map((l) => l.slice(6)).join("\n");
                if (data) renderLive(JSON.parse(data));
              }
            }
          } catch (e) { if (e.message === "unauthorized") return; }
          $("#updated").textContent = "reconnecting…";
          setTimeout(stream, 2000);
        }
        const liveSamples = [];
        function renderLive(snapshot) {
          window.lastSnapshot = snapshot;
          $("#updated").textContent = "updated " + new Date(snapshot.time).toLocaleTimeString();
          const s = snapshot.sample || {};
          if (snapshot.sample) { liveSamples.push(snapshot.sample); if (liveSamples.length > 3600) liveSamples.shift(); }
          const nodes = snapshot.nodes || [];
          $("#cards").replaceChildren(
            card(nodes.length + (snapshot.missingNodes.length ? " (+" + snapshot.missingNodes.length + " silent)" : ""), "nodes"),
            card(nodes.reduce((n, x) => n + (x.connections || 0), 0), "connections (cluster)"),
            card(snapshot.connectionCount, "sockets on this node"),
            card((s.eventsIn || 0) + " / " + (s.eventsOut || 0), "events in / out per s"),
            card((s.connects || 0) + " / " + (s.disconnects || 0), "connects / disconnects per s"));
          const rows = snapshot.connections.map((c) => el("tr", { "data-socket": c.id },
            el("td", {}, c.id), el("td", {}, c.namespace), el("td", {}, c.transport), el("td", {}, c.address || ""),
            el("td", {}, c.identity || ""), el("td", {}, c.rooms.map((r) => el("span", { class: "tag" }, r))),
            el("td", { class: "num" }, duration(c.ageSeconds)), el("td", { class: "num" }, c.eventsIn + " / " + c.eventsOut),
            el("td", { class: "num" }, bytes(c.bytesIn) + " / " + bytes(c.bytesOut)),
            el("td", {}, el("button", { class: "act danger", "data-kick": c.id, onclick: () => kick(c) }, "Kick"))));
          $("#connections tbody").replaceChildren(...rows);
          $("#connection-note").textContent = snapshot.connectionCount > snapshot.connections.length ? "(first " + snapshot.connections.length + " of " + snapshot.connectionCount + ")" : "";
          // Rooms with their members on this node, from the connections' rooms; counts per node.
          const members = {};
          for (const c of snapshot.connections) for (const r of c.rooms) ((members[c.namespace] ||= {})[r] ||= []).push(c.id);
          $("#namespaces").replaceChildren(...nodes.map((node) => nodeBox(node, members)));
        }
        function nodeBox(node, members) {
          const roomCell = (ns) => el("td", {}, ns.rooms.map((r) => el("div", { "data-room": r.room },
            el("span", { class: "tag" }, r.room), " " + r.sockets + " ",
            el("span", { class: "muted" }, ((members[ns.namespace] || {})[r.room] || []).join(", ")))));
          const rows = (node.namespaces || []).map((ns) => el("tr", { "data-namespace": ns.namespace },
            el("td", {}, ns.namespace), el("td", { class: "num" }, ns.sockets), roomCell(ns)));
          const head = el("thead", {}, el("tr", {}, el("th", {}, "namespace"), el("th", {}, "sockets"), el("th", {}, "rooms (members on this node)")));
          return el("div", { class: "box" }, el("b", {}, "node " + node.node + ": " + node.connections + " connections"),
            el("table", {}, head, el("tbody", {}, rows)));
        }
        function card(value, label) { return el("div", { class: "card" }, el("b", {}, value), el("span", {}, label)); }
        function duration(s) { return s < 60 ? s + " s" : s < 3600 ? Math.floor(s / 60) + " min" : Math.floor(s / 3600) + " h"; }
        function bytes(n) { return n < 1024 ? n + " B" : n < 1048576 ? (n / 1024).toFixed(1) + " KB" : (n / 1048576).toFixed(1) + " MB"; }

        async function post(path, body) {
          const r = await api(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
          const answer = await r.json();
          window.lastAction = { path, status: r.status, answer };
          status($("#action-status"), r.ok ? path.split("/").pop() + ": " + JSON.stringify(answer) : answer.error || ("HTTP " + r.status), r.ok);
          return answer;
        }
        function kick(c) { post("/admin/kick", { sid: c.id, namespace: c.namespace, reason: "kicked from the console" }); }
        $("#broadcast-form").addEventListener("submit", (e) => {
          e.preventDefault(); const f = e.target.elements; let payload;
          try { payload = JSON.parse(f.payload.value); } catch (x) { status($("#action-status"), "the payload is not JSON: " + x.message); return; }
          post("/admin/broadcast", { namespace: f.namespace.value, room: f.room.value || null, event: f.event.value, arguments: [payload] });
        });
        $("#purge-form").addEventListener("submit", (e) => { e.preventDefault(); const f = e.target.elements; post("/admin/purge-room", { namespace: f.namespace.value, room: f.room.value }); });
        $("#kick-identity-form").addEventListener("submit", (e) => { e.preventDefault(); const f = e.target.elements; post("/admin/kick", { identity: f.identity.value, reason: f.reason.value }); });

        // ---- registry (what `switchyard inspect` prints)
        async function loadRegistry() {
          const registry = await (await api("/admin/registry")).json();
          const section = (title, rows, columns) => [el("h2", {}, title + " (" + rows.length + ")"),
            el("table", {}, el("thead", {}, el("tr", {}, columns.map((c) => el("th", {}, c)))),
              el("tbody", {}, rows.map((row) => el("tr", {}, columns.map((c) => el("td", {}, cell(row[c])))))))];
          const cell = (v) => v === null || v === undefined ? "" : Array.isArray(v) ? v.map((x) => typeof x === "object" ? el("pre", {}, JSON.stringify(x)) : el("span", { class: "tag" }, x)) : typeof v === "object" ? el("pre", {}, JSON.stringify(v, null, 1)) : String(v);
          $("#registry").replaceChildren(
            ...section("Plugins", registry.plugins, ["name", "version", "file"]),
            ...section("Operations", registry.operations, ["key", "plugin", "summary", "payloadSchema", "ackSchema"]),
            ...section("Namespaces", registry.namespaces, ["namespace", "identity", "connect", "events", "routes", "hooks"]),
            ...section("Server events", registry.serverEvents, ["name", "plugin", "summary", "payloadSchema"]),
            ...section("Guards", registry.guards, ["name", "plugin"]),
            ...section("Identity resolvers", registry.identityResolvers, ["name", "plugin"]));
        }

        // ---- audit (the filters of `switchyard audit`)
        let auditNext = null, auditNewest = 0, followTimer = null;
        function auditQuery(extra) {
          const f = $("#audit-form").elements, q = new URLSearchParams();
          for (const k of ["since", "until", "kind", "identity", "namespace", "event", "outcome", "limit"]) if (f[k].value) q.set(k, f[k].value);
          for (const [k, v] of Object.entries(extra || {})) q.set(k, v);
          return q;
        }
        function auditRow(r) {
          const skip = new Set(["id", "time", "kind", "namespace", "identity", "event", "outcome"]);
          const details = Object.entries(r).filter(([k]) => !skip.has(k)).map(([k, v]) => k + "=" + (typeof v === "object" ? JSON.stringify(v) : v)).join(" ");
          return el("tr", { "data-audit-id": r.id, "data-kind": r.kind }, el("td", { class: "num" }, r.id), el("td", {}, r.time), el("td", {}, r.kind),
            el("td", {}, r.namespace || ""), el("td", {}, r.identity || ""), el("td", {}, r.event || ""), el("td", {}, r.outcome || ""), el("td", {}, details));
        }
        let auditRequest = 0;
        async function loadAudit(more) {
          window.auditLoaded = true;
          const q = auditQuery(more && auditNext ? { before: auditNext } : {});
          const request = ++auditRequest;
          const r = await api("/admin/audit?" + q); const answer = await r.json();
          if (request !== auditRequest) return;  // a newer filter was submitted meanwhile
          if (!r.ok) { status($("#audit-status"), answer.error); return; }
          const rows = answer.rows.map(auditRow);
          if (more) $("#audit tbody").append(...rows); else $("#audit tbody").replaceChildren(...rows);
          if (!more) auditNewest = answer.rows.length ? answer.rows[0].id : auditNewest;
          auditNext = answer.next; $("#audit-more").hidden = !auditNext;
          status($("#audit-status"), $("#audit tbody").children.length + " rows", true);
        }
        $("#audit-form").addEventListener("submit", (e) => { e.preventDefault(); loadAudit(false); });
        $("#audit-more").addEventListener("click", () => loadAudit(true));
        $("#audit-csv").addEventListener("click", async () => {
          const limit = $("#audit-form").elements.limit.value;
          const r = await api("/admin/audit?" + auditQuery({ format: "csv", limit: Math.max(limit, 10000) }));
          const text = await r.text(); window.lastCSV = text;
          if (!r.ok) { status($("#audit-status"), text); return; }
          const link = $("#audit-download"); link.href = URL.createObjectURL(new Blob([text], { type: "text/csv" })); link.click();
          status($("#audit-status"), "exported " + (text.split("\n").length - 2) + " rows as CSV", true);
        });
        $("#audit-follow").addEventListener("change", (e) => {
          clearInterval(followTimer);
          if (!e.target.checked) return;
          followTimer = setInterval(async () => {
            const answer = await (await api("/admin/audit?" + auditQuery({ after: auditNewest, limit: 1000 }))).json();
            for (const r of answer.rows || []) { $("#audit tbody").prepend(auditRow(r)); auditNewest = Math.max(auditNewest, r.id); }
          }, 1000);
        });

        // ---- charts: inline SVG from the server's samples and the audit table
        async function loadHistory() {
          const history = await (await api("/admin/history")).json();
          window.lastHistory = history;
          const samples = history.samples;
          $("#charts").replaceChildren(
            chart("Sockets (this node) and Engine.IO sessions, last hour", samples, [["sockets", "#2f5bea"], ["sessions", "#12b76a"]]),
            chart("Connects and disconnects per second", samples, [["connects", "#12b76a"], ["disconnects", "#f04438"]]),
            chart("Events per second, in and out", samples, [["eventsIn", "#2f5bea"], ["eventsOut", "#f79009"]]),
            bars("Refusals and operation errors per minute, by kind (audit log)", history.rejections));
        }
        function chart(title, samples, series) {
          const W = 560, H = 150, P = 28;
          const t0 = samples.length ? samples[0].t : 0, t1 = samples.length ? samples[samples.length - 1].t : 1;
          const max = Math.max(1, ...samples.flatMap((s) => series.map(([k]) => s[k])));
          const x = (t) => P + (W - P - 6) * (t1 === t0 ? 1 : (t - t0) / (t1 - t0)), y = (v) => H - 18 - (H - 30) * v / max;
          const svg = svgEl("svg", { viewBox: "0 0 " + W + " " + H, width: "100%", role: "img", "aria-label": title });
          svg.append(svgEl("line", { x1: P, y1: H - 18, x2: W - 6, y2: H - 18, stroke: "#d0d5dd" }), svgText(2, 14, max), svgText(2, H - 18, 0));
          if (samples.length) svg.append(svgText(P, H - 4, new Date(t0).toLocaleTimeString()), svgText(W - 70, H - 4, new Date(t1).toLocaleTimeString()));
          for (const [key, color] of series) {
            const d = samples.map((s, i) => (i ? "L" : "M") + x(s.t).toFixed(1) + " " + y(s[key]).toFixed(1)).join(" ");
            if (d) svg.append(svgEl("path", { d, fill: "none", stroke: color, "stroke-width": 1.5, "data-series": key }));
          }
          return el("div", { class: "chart" }, el("h3", {}, title), svg,
            el("div", { class: "legend" }, series.map(([k, c]) => el("span", { style: "color:" + c }, "■ " + k + " "))));
        }
        function bars(title, buckets) {
          const W = 560, H = 150, P = 28, palette = ["#f04438", "#f79009", "#7a5af8", "#2e90fa", "#12b76a", "#ee46bc"];
          const kinds = [...new Set(buckets.flatMap((b) => Object.keys(b.counts)))].sort();
          const max = Math.max(1, ...buckets.map((b) => Object.values(b.counts).reduce((a, c) => a + c, 0)));
          const now = Date.now(), start = now - 3600000, bw = (W - P - 6) / 60;
          const svg = svgEl("svg", { viewBox: "0 0 " + W + " " + H, width: "100%", role: "img", "aria-label": title });
          svg.append(svgEl("line", { x1: P, y1: H - 18, x2: W - 6, y2: H - 18, stroke: "#d0d5dd" }), svgText(2, 14, max), svgText(2, H - 18, 0));
          for (const b of buckets) {
            let base = H - 18; const left = P + (b.t - start) / 60000 * bw;
            kinds.forEach((k, i) => {
              const v = b.counts[k] || 0; if (!v) return; const h = (H - 30) * v / max; base -= h;
              svg.append(svgEl("rect", { x: left.toFixed(1), y: base.toFixed(1), width: Math.max(1, bw - 1).toFixed(1), height: h.toFixed(1), fill: palette[i % palette.length], "data-kind": k }));
            });
          }
          return el("div", { class: "chart" }, el("h3", {}, title), svg,
            el("div", { class: "legend" }, kinds.length ? kinds.map((k, i) => el("span", { style: "color:" + palette[i % palette.length] }, "■ " + k + " ")) : "none in the last hour"));
        }
        function svgEl(tag, attrs) { const n = document.createElementNS("http://www.w3.org/2000/svg", tag); for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v); return n; }
        function svgText(x, y, text) { const t = svgEl("text", { x, y, "font-size": 10, fill: "#667085" }); t.textContent = text; return t; }

        if (token()) { fetch("/admin/registry", { headers: auth() }).then((r) => r.status === 200 ? start() : logout("the saved token was refused")); }
        </script>
        </body></html>
        """#
}
