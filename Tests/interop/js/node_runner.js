/*
 * Runs one scenario of scenarios.js with the official Socket.IO client bundle in Node.
 * Start with `node --experimental-websocket node_runner.js` and a JSON request on stdin:
 *   {bundle, scenario, url, mode, params, xhr}
 * `xhr: true` installs the XMLHttpRequest shim (needed for long-polling; Node has none).
 * Prints one line "SWITCHYARD-RESULT <json>" and exits.
 */
"use strict";

const fs = require("fs");
const path = require("path");

const request = JSON.parse(fs.readFileSync(0, "utf8"));
const started = Date.now();
const trace = [];
trace.push = (line) => Array.prototype.push.call(trace, "+" + (Date.now() - started) + " ms " + line);

function clip(text, limit = 300) {
  return text.length <= limit ? text : text.slice(0, limit) + "...(+" + (text.length - limit) + ")";
}

function describe(data) {
  if (typeof data === "string") return "text " + JSON.stringify(clip(data));
  const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return "binary " + bytes.length + " bytes " + clip(Buffer.from(bytes).toString("hex"), 120);
}

function finish(reply, code) {
  if (!reply.ok) reply.trace = trace.length > 300 ? trace.slice(0, 100).concat(["..."], trace.slice(-200)) : trace;
  process.stdout.write("SWITCHYARD-RESULT " + JSON.stringify(reply) + "\n", () => process.exit(code));
}

setTimeout(() => finish({ ok: false, error: "node runner: no result within 40 s" }, 2), 40000).unref();

if (request.xhr) require("./xhr_shim").install(trace);

// Trace WebSocket traffic. The bundle captures globalThis.WebSocket when it loads, so wrap first.
if (typeof WebSocket === "function") {
  const NativeWebSocket = WebSocket;
  globalThis.WebSocket = class TracedWebSocket extends NativeWebSocket {
    constructor(...args) {
      super(...args);
      trace.push("WS open " + args[0]);
      this.addEventListener("message", (event) => trace.push("WS <- " + describe(event.data)));
      this.addEventListener("error", (event) => trace.push("WS !! " + (event.message || "error")));
      this.addEventListener("close", (event) => trace.push("WS closed " + event.code + " " + event.reason));
    }

    send(data) {
      trace.push("WS -> " + describe(data));
      return super.send(data);
    }
  };
}

const io = require(path.resolve(request.bundle));
const { run } = require("./scenarios.js");

run(request.scenario, io, request.url, request.mode, request.params).then(
  (reply) => finish(reply, 0),
  (err) => finish({ ok: false, error: String((err && err.stack) || err) }, 1)
);
