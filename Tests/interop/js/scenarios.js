/*
 * Interop scenarios for the official Socket.IO JavaScript client, run unchanged in a
 * browser page (page.html) and in Node (node_runner.js).
 *
 * run(name, io, url, mode, params) resolves with {ok: true, result} or {ok: false, error}.
 * `mode` is {transports: [...] | null, final: "polling" | "websocket", upgrade: bool}.
 * Results are plain JSON: binary values are encoded as {$binary: hex, type: "ArrayBuffer"},
 * and test parameters may carry {$binary: hex, as: "ArrayBuffer" | "Uint8Array" |
 * "Uint8Array-subarray"} to be sent as binary.
 *
 * Nothing sleeps: every wait is for an event, bounded by a deadline that fails with a message
 * naming what was awaited.
 */
(function (root, factory) {
  if (typeof module === "object" && module.exports) module.exports = factory();
  else root.SwitchyardScenarios = factory();
})(typeof self !== "undefined" ? self : this, function () {
  "use strict";

  const WAIT = 5000; // ms to wait for anything the server must send
  const SCENARIO_LIMIT = 30000; // ms for a whole scenario

  // ------------------------------------------------------------------ values

  function toHex(bytes) {
    let out = "";
    for (let i = 0; i < bytes.length; i++) out += (bytes[i] < 16 ? "0" : "") + bytes[i].toString(16);
    return out;
  }

  function fromHex(hex) {
    const bytes = new Uint8Array(hex.length / 2);
    for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.substr(2 * i, 2), 16);
    return bytes;
  }

  function isArrayBuffer(value) {
    return Object.prototype.toString.call(value) === "[object ArrayBuffer]";
  }

  /** Turns test parameters (JSON) into the values to send. */
  function decode(value) {
    if (Array.isArray(value)) return value.map(decode);
    if (value && typeof value === "object") {
      if (typeof value.$binary === "string") {
        const bytes = fromHex(value.$binary);
        switch (value.as) {
          case "Uint8Array":
            return bytes;
          case "Uint8Array-subarray": {
            // A view into the middle of a larger buffer: only the view's bytes may be sent.
            const padded = new Uint8Array(bytes.length + 6).fill(0xee);
            padded.set(bytes, 3);
            return padded.subarray(3, 3 + bytes.length);
          }
          default:
            return bytes.buffer;
        }
      }
      const out = {};
      for (const key of Object.keys(value)) out[key] = decode(value[key]);
      return out;
    }
    return value;
  }

  /** Turns received values into JSON that keeps binary values and their type. */
  function encode(value) {
    if (isArrayBuffer(value)) return { $binary: toHex(new Uint8Array(value)), type: "ArrayBuffer" };
    if (ArrayBuffer.isView(value)) {
      const bytes = new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
      return { $binary: toHex(bytes), type: value.constructor.name };
    }
    if (typeof Blob !== "undefined" && value instanceof Blob) return { $blob: value.size };
    if (value === undefined) return { $undefined: true };
    if (typeof value === "function") return { $function: true };
    if (typeof value === "number" && !isFinite(value)) return { $number: String(value) };
    if (Array.isArray(value)) return value.map(encode);
    if (value && typeof value === "object") {
      const out = {};
      for (const key of Object.keys(value)) out[key] = encode(value[key]);
      return out;
    }
    return value;
  }

  function describe(value) {
    if (value === undefined) return "";
    if (value instanceof Error) return value.message;
    try {
      return JSON.stringify(encode(value));
    } catch (err) {
      return String(value);
    }
  }

  function unique(prefix) {
    return prefix + "-" + Math.random().toString(16).slice(2, 14);
  }

  // ------------------------------------------------------------------ waiting

  function timeoutError(ms, what) {
    return new Error("timed out after " + ms + " ms waiting for " + what);
  }

  function within(promise, ms, what) {
    let timer;
    const deadline = new Promise((_, reject) => {
      timer = setTimeout(() => reject(timeoutError(ms, what)), ms);
    });
    return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
  }

  /** Buffers every call of `event` on `emitter`; next() waits for the next one. */
  function recorder(emitter, event) {
    const items = [];
    const waiters = [];
    emitter.on(event, (...args) => {
      if (waiters.length) waiters.shift()(args);
      else items.push(args);
    });
    return {
      next(what, ms = WAIT) {
        if (items.length) return Promise.resolve(items.shift());
        return new Promise((resolve, reject) => {
          const waiter = (args) => {
            clearTimeout(timer);
            resolve(args);
          };
          const timer = setTimeout(() => {
            waiters.splice(waiters.indexOf(waiter), 1);
            reject(timeoutError(ms, what));
          }, ms);
          waiters.push(waiter);
        });
      },
      pending() {
        return items.slice();
      },
    };
  }

  function settle(socket, what, wantConnect) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => done(timeoutError(WAIT, what)), WAIT);
      const onConnect = () => (wantConnect ? done(null) : done(new Error(what + ": connected instead")));
      const onError = (err) =>
        wantConnect ? done(new Error(what + ": connect_error " + (err && err.message))) : done(null, err);
      function done(failure, value) {
        clearTimeout(timer);
        socket.off("connect", onConnect);
        socket.off("connect_error", onError);
        if (failure) reject(failure);
        else resolve(value);
      }
      socket.on("connect", onConnect);
      socket.on("connect_error", onError);
    });
  }

  function connected(socket, what) {
    return socket.connected ? Promise.resolve() : settle(socket, what + " to connect", true);
  }

  function connectError(socket, what) {
    return settle(socket, "connect_error of " + what, false);
  }

  async function ack(socket, what, ...args) {
    try {
      return await socket.timeout(WAIT).emitWithAck(...args);
    } catch (err) {
      throw new Error(what + ": " + (err && err.message));
    }
  }

  /** emit with a classic ack callback; resolves with all the ack's arguments. */
  function ackAll(socket, what, ...args) {
    return new Promise((resolve, reject) => {
      socket.timeout(WAIT).emit(...args, (err, ...ackArgs) => {
        if (err) reject(new Error(what + ": " + err.message));
        else resolve(ackArgs);
      });
    });
  }

  function transportName(socket) {
    return socket.io.engine && socket.io.engine.transport ? socket.io.engine.transport.name : null;
  }

  // ------------------------------------------------------------------ context

  class Context {
    constructor(io, url, mode) {
      this.io = io;
      this.url = url;
      this.mode = mode;
      this.sockets = [];
      this.managers = new Set();
      this.start = Date.now();
      this.log = []; // lifecycle events, shown when the scenario fails
    }

    note(what) {
      this.log.push("+" + (Date.now() - this.start) + " ms " + what);
    }

    /** Records a socket's (and its manager's) lifecycle events in this.log. */
    watch(socket, label) {
      socket.on("connect", () => this.note(label + " connect " + socket.id));
      socket.on("connect_error", (err) => this.note(label + " connect_error " + (err && err.message)));
      socket.on("disconnect", (reason, details) => this.note(label + " disconnect " + reason + " " + describe(details)));
      const manager = socket.io;
      if (this.managers.has(manager)) return;
      this.managers.add(manager);
      const name = "manager#" + this.managers.size;
      manager.on("open", () => {
        this.note(name + " engine open " + manager.engine.id + " over " + manager.engine.transport.name);
        manager.engine.on("upgrade", (t) => this.note(name + " upgraded to " + t.name));
        manager.engine.on("upgradeError", (e) => this.note(name + " upgradeError " + (e && e.message)));
      });
      manager.on("close", (reason, details) => this.note(name + " close " + reason + " " + describe(details)));
      manager.on("error", (err) => this.note(name + " error " + (err && err.message)));
    }

    options(extra) {
      const options = { reconnection: false, timeout: WAIT };
      if (this.mode.transports) options.transports = this.mode.transports;
      return Object.assign(options, extra || {});
    }

    /** Creates a socket (io() connects at once); does not wait. */
    open(path, extra) {
      const socket = this.io(this.url + (path || ""), this.options(extra));
      this.sockets.push(socket);
      this.watch(socket, "socket#" + this.sockets.length + " " + (path || "/"));
      return socket;
    }

    /** Waits for `socket` to connect and, in the upgrade mode, to be upgraded to WebSocket. */
    async ready(socket, what) {
      await connected(socket, what);
      const engine = socket.io.engine;
      if (this.mode.upgrade && engine.transport.name !== "websocket") {
        await recorder(engine, "upgrade").next("the upgrade of " + what + " to websocket");
      }
      if (transportName(socket) !== this.mode.final) {
        throw new Error(what + ": transport is " + transportName(socket) + ", expected " + this.mode.final);
      }
      return socket;
    }

    close() {
      for (const socket of this.sockets) {
        try {
          socket.disconnect();
        } catch (err) {
          // closing is best effort
        }
      }
    }
  }

  // ------------------------------------------------------------------ scenarios

  const scenarios = {
    async info(ctx) {
      return {
        io: typeof ctx.io,
        Manager: typeof ctx.io.Manager,
        Socket: typeof ctx.io.Socket,
        connectIsIo: ctx.io.connect === ctx.io,
      };
    },

    // 1. connect with auth; final transport
    async connect(ctx) {
      const socket = ctx.open("", { auth: { token: "abc" } });
      const engine = socket.io.engine;
      const initialTransport = engine.transport.name;
      const auth = recorder(socket, "auth");
      const upgrades = recorder(engine, "upgrade");
      await connected(socket, "the socket");
      const authArgs = await auth.next("the auth event");
      let upgradedTo = null;
      if (ctx.mode.upgrade) {
        const [transport] = await upgrades.next("the engine's upgrade event");
        upgradedTo = transport.name;
      }
      return {
        initialTransport,
        upgradedTo,
        transport: transportName(socket),
        auth: encode(authArgs),
        connected: socket.connected,
        hasId: typeof socket.id === "string" && socket.id.length > 0,
        engineHasId: typeof engine.id === "string" && engine.id.length > 0,
      };
    },

    // 2. message -> message-back
    async message(ctx, params) {
      const socket = ctx.open("");
      const back = recorder(socket, "message-back");
      // The first case is emitted before the connection exists: the client buffers it and
      // sends it right after connecting (over polling in the upgrade mode).
      socket.emit("message", ...decode(params.cases[0]));
      await ctx.ready(socket, "the socket");
      for (const args of params.cases.slice(1)) socket.emit("message", ...decode(args));
      const got = [];
      for (let i = 0; i < params.cases.length; i++) got.push(encode(await back.next("message-back #" + i)));
      return { got, transport: transportName(socket) };
    },

    // 3. client -> server acks
    async ack(ctx, params) {
      const socket = await ctx.ready(ctx.open(""), "the socket");
      const single = [];
      for (const arg of params.single) {
        single.push(encode(await ack(socket, "emitWithAck #" + single.length, "message-with-ack", decode(arg))));
      }
      const multi = [];
      for (const args of params.multi) {
        multi.push(encode(await ackAll(socket, "ack #" + multi.length, "message-with-ack", ...decode(args))));
      }
      const concurrent = await Promise.all(
        Array.from({ length: 10 }, (_, i) => ack(socket, "concurrent emitWithAck #" + i, "message-with-ack", i, "n" + i))
      );
      return { single, multi, concurrent, transport: transportName(socket) };
    },

    // 4. server -> client acks
    async serverAck(ctx, params) {
      const socket = ctx.open("");
      const calls = [];
      const waiters = [];
      let reply = null;
      socket.on("emit-with-ack", (...args) => {
        const callback = typeof args[args.length - 1] === "function" ? args.pop() : null;
        const call = { args: encode(args), withAck: callback !== null };
        if (waiters.length) waiters.shift()(call);
        else calls.push(call);
        if (callback) callback(...decode(reply));
      });
      const nextCall = (what) =>
        calls.length ? Promise.resolve(calls.shift()) : within(new Promise((r) => waiters.push(r)), WAIT, what);
      await ctx.ready(socket, "the socket");
      const got = [];
      for (const [i, c] of params.cases.entries()) {
        reply = c.reply;
        socket.emit("emit-with-ack", ...decode(c.args));
        const first = await nextCall("emit-with-ack #" + i + " (expecting an ack)");
        const second = await nextCall("emit-with-ack #" + i + " carrying the ack's args");
        got.push([first, second]);
      }
      return { got, transport: transportName(socket) };
    },

    // 5. namespaces
    async namespaces(ctx) {
      const root = ctx.open("", { auth: { ns: "root" } });
      const rootAuth = recorder(root, "auth");
      const rootBack = recorder(root, "message-back");
      await ctx.ready(root, "the / socket");
      const result = { rootAuth: encode(await rootAuth.next("auth on /")) };

      // /custom multiplexed on the same connection.
      const custom = ctx.open("/custom", { auth: { ns: "custom" } });
      const customAuth = recorder(custom, "auth");
      const customBack = recorder(custom, "message-back");
      await connected(custom, "the /custom socket");
      result.sameManager = custom.io === root.io;
      result.customNsp = custom.nsp;
      result.customAuth = encode(await customAuth.next("auth on /custom"));
      custom.emit("message", "on custom", new Uint8Array([7, 0, 255]));
      result.customBack = encode(await customBack.next("message-back on /custom"));
      result.customAck = encode(await ack(custom, "emitWithAck on /custom", "message-with-ack", { where: "custom" }));
      result.rootAck = encode(await ack(root, "emitWithAck on /", "message-with-ack", "root"));
      result.rootBackLeaked = encode(rootBack.pending());

      // Unknown namespace, multiplexed on the same connection.
      const unknown = ctx.open("/unknown");
      const err = await connectError(unknown, "/unknown on the shared connection");
      result.unknown = {
        sameManager: unknown.io === root.io,
        message: err.message,
        data: encode(err.data),
        connected: unknown.connected,
        active: unknown.active,
      };

      // Unknown namespace on a connection of its own.
      const alone = ctx.open("/unknown", { forceNew: true });
      const errAlone = await connectError(alone, "/unknown on its own connection");
      result.unknownAlone = {
        message: errAlone.message,
        data: encode(errAlone.data),
        connected: alone.connected,
        active: alone.active,
      };

      // The shared connection still serves / and /custom.
      result.rootAfter = encode(await ack(root, "emitWithAck on / after the refusal", "message-with-ack", "still"));
      result.customAfter = encode(await ack(custom, "emitWithAck on /custom after the refusal", "message-with-ack", 1));
      result.connectedAfter = [root.connected, custom.connected];
      result.transport = transportName(root);
      return result;
    },

    // 6. rooms
    async rooms(ctx) {
      const a = ctx.open("", { forceNew: true });
      const b = ctx.open("", { forceNew: true });
      const aMessages = recorder(a, "room-message");
      const bMessages = recorder(b, "room-message");
      await ctx.ready(a, "socket A");
      await ctx.ready(b, "socket B");
      const room = unique("room");
      const privateB = unique("private-b");
      const result = { separateConnections: a.io !== b.io && a.io.engine.id !== b.io.engine.id };
      result.joins = [
        await ack(a, "A joins the room", "join", room),
        await ack(b, "B joins the room", "join", room),
        await ack(b, "B joins its private room", "join", privateB),
      ];
      result.expectedJoins = [room, room, privateB];

      a.emit("to-room", room, "from-a", 1, { bin: new Uint8Array([1, 2, 3]) });
      result.fromA = [encode(await aMessages.next("A's room message at A")), encode(await bMessages.next("A's room message at B"))];
      b.emit("to-room", room, "from-b");
      result.fromB = [encode(await aMessages.next("B's room message at A")), encode(await bMessages.next("B's room message at B"))];

      result.leave = await ack(b, "B leaves the room", "leave", room);
      result.expectedLeave = room;
      a.emit("to-room", room, "after-leave");
      result.afterLeaveAtA = encode(await aMessages.next("the room message after B left, at A"));
      // Whatever the room message after leaving did at B, it would come before this marker.
      a.emit("to-room", privateB, "marker");
      result.nextAtB = encode(await bMessages.next("the marker in B's private room"));
      result.leftoverAtA = encode(aMessages.pending());
      result.leftoverAtB = encode(bMessages.pending());
      return result;
    },

    // 7. disconnects
    async disconnect(ctx) {
      const result = {};
      const serverSide = await ctx.ready(ctx.open("", { forceNew: true }), "socket 1");
      const serverSideDisconnects = recorder(serverSide, "disconnect");
      serverSide.emit("server-disconnect");
      const [reason, details] = await serverSideDisconnects.next("the disconnect after server-disconnect");
      result.server = { reason, details: encode(details), connected: serverSide.connected, active: serverSide.active };

      const clientSide = await ctx.ready(ctx.open("", { forceNew: true }), "socket 2");
      const clientSideDisconnects = recorder(clientSide, "disconnect");
      clientSide.disconnect();
      const [clientReason] = await clientSideDisconnects.next("the disconnect after socket.disconnect()");
      result.client = { reason: clientReason, connected: clientSide.connected, active: clientSide.active };

      // server-disconnect on /custom leaves / on the same connection connected.
      const root = await ctx.ready(ctx.open("", { forceNew: true }), "socket 3 on /");
      const custom = root.io.socket("/custom"); // a second namespace on root's forceNew connection
      ctx.sockets.push(custom);
      ctx.watch(custom, "socket#" + ctx.sockets.length + " /custom");
      await connected(custom, "socket 3 on /custom");
      const customDisconnects = recorder(custom, "disconnect");
      const rootDisconnects = recorder(root, "disconnect");
      custom.emit("server-disconnect");
      const [customReason] = await customDisconnects.next("the disconnect of /custom");
      result.multiplexed = {
        sameManager: custom.io === root.io,
        customReason,
        rootAck: encode(await ack(root, "emitWithAck on / after /custom was disconnected", "message-with-ack", "alive")),
        rootConnected: root.connected,
        rootDisconnects: encode(rootDisconnects.pending()),
      };
      return result;
    },

    // 9. connection state recovery (the server runs examples/recovery.json)
    async recovery(ctx) {
      const a = ctx.open("", { forceNew: true });
      const b = ctx.open("", { forceNew: true });
      const aAuth = recorder(a, "auth");
      const aRoom = recorder(a, "room-message");
      const aDisconnects = recorder(a, "disconnect");
      await ctx.ready(a, "socket A");
      await ctx.ready(b, "socket B");
      // The conformance plugin's connect hook emits `auth`: A has an offset before the drop.
      const result = { firstAuth: encode(await aAuth.next("A's auth event")), firstRecovered: a.recovered };
      const room = unique("room");
      result.join = await ack(a, "A joins the room", "join", room);
      const id = a.id;

      a.io.engine.close();
      result.disconnect = (await aDisconnects.next("A's disconnect after engine.close()"))[0];

      // While A is away: to its room, to its own id, to its room again; B's ack round trip
      // afterwards proves the server handled all three before A comes back.
      b.emit("to-room", room, "missed-1");
      b.emit("to-room", id, "missed-2", { n: 2 });
      b.emit("to-room", room, "missed-3");
      result.sync = await ack(b, "B's round trip", "message-with-ack", "sync");

      a.connect();
      await ctx.ready(a, "socket A after the drop");
      result.recovered = a.recovered;
      result.sameId = a.id === id;
      result.secondAuth = encode(await aAuth.next("A's auth event after recovering"));
      // Still in the room: a live room message arrives after the missed ones.
      b.emit("to-room", room, "live");
      const messages = [];
      for (let i = 0; i < 4; i++) messages.push(encode(await aRoom.next("room message #" + (i + 1) + " at A")));
      // Anything delivered twice would arrive before this marker.
      b.emit("to-room", id, "marker");
      messages.push(encode(await aRoom.next("the marker at A")));
      result.messages = messages;
      result.leftover = encode(aRoom.pending());
      result.disconnectsAfter = encode(aDisconnects.pending());
      return result;
    },

    // 9b. no recovery after a server-side disconnect or the client's own disconnect()
    async recoveryRefused(ctx) {
      const b = await ctx.ready(ctx.open("", { forceNew: true }), "socket B");
      const result = {};
      for (const how of ["server-disconnect", "client-disconnect"]) {
        const a = ctx.open("", { forceNew: true });
        const aAuth = recorder(a, "auth");
        const aRoom = recorder(a, "room-message");
        const aDisconnects = recorder(a, "disconnect");
        await ctx.ready(a, "socket A (" + how + ")");
        await aAuth.next("A's auth event (" + how + ")");
        const id = a.id;
        if (how === "server-disconnect") a.emit("server-disconnect");
        else a.disconnect();
        const [reason] = await aDisconnects.next("A's disconnect (" + how + ")");
        b.emit("to-room", id, "for-the-old-socket");
        await ack(b, "B's round trip (" + how + ")", "message-with-ack", "sync");
        a.connect();
        await ctx.ready(a, "socket A again (" + how + ")");
        await aAuth.next("A's auth event after reconnecting (" + how + ")");
        b.emit("to-room", a.id, "marker");
        const first = encode(await aRoom.next("the marker (" + how + ")"));
        result[how] = { reason, recovered: a.recovered, sameId: a.id === id, firstRoomMessage: first };
      }
      return result;
    },

    // 9c. recovery across a server restart (SIGTERM, start again on the same data directory).
    // The test drives the server: it waits for "a-ready" in params.room, restarts the server,
    // emits what A misses, and answers the probe's "ping" in params.control with "go".
    async recoveryAcrossRestart(ctx, params) {
      const a = ctx.open("", { forceNew: true });
      const aAuth = recorder(a, "auth");
      const aRoom = recorder(a, "room-message");
      const aDisconnects = recorder(a, "disconnect");
      await ctx.ready(a, "socket A");
      await aAuth.next("A's auth event");
      const result = { join: await ack(a, "A joins the room", "join", params.room) };
      const id = a.id;
      a.emit("to-room", params.room, "a-ready", id);
      await aRoom.next("A's own a-ready");
      result.disconnect = (await aDisconnects.next("A's disconnect when the server stops", 20000))[0];

      // The restarted server: a probe (reconnecting on its own) asks the test for "go", which
      // the test sends once it has emitted what A misses.
      const probe = ctx.open("", { forceNew: true, reconnection: true, reconnectionDelay: 100, reconnectionDelayMax: 200 });
      await recorder(probe, "connect").next("the probe connecting to the restarted server", 20000);
      const control = recorder(probe, "room-message");
      let go = null;
      for (let attempt = 0; attempt < 20 && !go; attempt++) {
        // Joined again each time: the probe may first have reached the stopping server (a
        // kept-alive polling connection) and reconnected since.
        await ack(probe, "the probe joins the control room", "join", params.control);
        probe.emit("to-room", params.control, "ping");
        for (;;) {
          let message;
          try {
            message = await control.next("go", 1000);
          } catch (err) {
            break; // no go yet: ping again
          }
          if (message[0] === "go") {
            go = message;
            break;
          }
        }
      }
      if (!go) throw new Error("the test never said go");

      a.connect();
      await ctx.ready(a, "socket A after the restart");
      result.recovered = a.recovered;
      result.sameId = a.id === id;
      a.emit("to-room", params.room, "live");
      const messages = [];
      for (let i = 0; i < 3; i++) messages.push(encode(await aRoom.next("room message #" + (i + 1) + " at A after the restart")));
      result.messages = messages;
      result.leftover = encode(aRoom.pending());
      return result;
    },

    // 9d. recovery on another node of a Redis cluster: A and B on node 1; A drops, misses
    // events, and comes back through node 2 (params.otherUrl), as a load balancer may send it.
    async recoveryAcrossNodes(ctx, params) {
      const a = ctx.open("", { forceNew: true });
      const b = ctx.open("", { forceNew: true });
      const aAuth = recorder(a, "auth");
      const aRoom = recorder(a, "room-message");
      const aDisconnects = recorder(a, "disconnect");
      await ctx.ready(a, "socket A");
      await ctx.ready(b, "socket B");
      await aAuth.next("A's auth event");
      const room = unique("room");
      const result = { join: await ack(a, "A joins the room", "join", room) };
      if (params.lastBroadcast) {
        // A's last offset is then a broadcast's, which both nodes hold.
        b.emit("to-room", room, "before");
        result.before = encode(await aRoom.next("the room message before the drop"));
      }
      const id = a.id;
      a.io.engine.close();
      result.disconnect = (await aDisconnects.next("A's disconnect after engine.close()"))[0];
      b.emit("to-room", room, "missed-1");
      b.emit("to-room", id, "missed-2");
      result.sync = await ack(b, "B's round trip", "message-with-ack", "sync");

      a.io.uri = params.otherUrl;
      a.connect();
      await ctx.ready(a, "socket A on the other node");
      result.recovered = a.recovered;
      result.sameId = a.id === id;
      result.engineOnOtherNode = a.io.engine.hostname + ":" + a.io.engine.port;
      b.emit("to-room", room, "live");
      const messages = [];
      for (let i = 0; i < 3; i++) messages.push(encode(await aRoom.next("room message #" + (i + 1) + " on the other node")));
      b.emit("to-room", id, "marker");
      messages.push(encode(await aRoom.next("the marker on the other node")));
      result.messages = messages;
      result.leftover = encode(aRoom.pending());
      return result;
    },

    // 2b. large payloads, one at a time, while the heartbeat must go on
    async largePayloads(ctx, params) {
      const socket = await ctx.ready(ctx.open(""), "the socket");
      const back = recorder(socket, "message-back");
      const disconnects = recorder(socket, "disconnect");
      const got = [];
      for (const [i, args] of params.cases.entries()) {
        socket.emit("message", ...decode(args));
        got.push(encode(await back.next("message-back of large payload #" + i)));
      }
      const acked = encode(await ack(socket, "emitWithAck of a large payload", "message-with-ack", decode(params.ack)));
      return {
        got,
        acked,
        disconnects: encode(disconnects.pending()),
        connected: socket.connected,
        transport: transportName(socket),
      };
    },

    // 8. heartbeats
    async heartbeat(ctx) {
      const socket = await ctx.ready(ctx.open(""), "the socket");
      const pings = recorder(socket.io, "ping");
      const disconnects = recorder(socket, "disconnect");
      const closes = recorder(socket.io, "close");
      const id = socket.id;
      const engineId = socket.io.engine.id;
      const start = Date.now();
      const times = [];
      // At least 3 pings and at least 1 s, whichever is later; each ping is awaited with a deadline.
      while (times.length < 3 || Date.now() - start < 1000) {
        if (times.length >= 10) throw new Error("more than 10 pings in " + (Date.now() - start) + " ms");
        await pings.next("ping #" + (times.length + 1), 2000);
        times.push(Date.now() - start);
      }
      const intervals = times.slice(1).map((t, i) => t - times[i]);
      return {
        pings: times.length,
        elapsed: Date.now() - start,
        minInterval: Math.min(...intervals),
        disconnects: encode(disconnects.pending()),
        closes: encode(closes.pending()),
        connected: socket.connected,
        sameSocket: socket.id === id,
        sameEngine: socket.io.engine.id === engineId,
        transport: transportName(socket),
        ack: encode(await ack(socket, "emitWithAck after the heartbeats", "message-with-ack", "after heartbeats", 2)),
      };
    },
  };

  async function run(name, io, url, mode, params) {
    if (typeof io !== "function") return { ok: false, error: "the Socket.IO client (io) is not loaded" };
    const scenario = scenarios[name];
    if (!scenario) return { ok: false, error: "no scenario " + name };
    const ctx = new Context(io, url, mode);
    try {
      const result = await within(scenario(ctx, params || {}), SCENARIO_LIMIT, "scenario " + name);
      return { ok: true, result };
    } catch (err) {
      return { ok: false, error: String((err && err.stack) || err) + "\n--- client events ---\n" + ctx.log.join("\n") };
    } finally {
      ctx.close();
    }
  }

  return { run, scenarios, encode, decode };
});
