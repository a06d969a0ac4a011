/*
 * A minimal XMLHttpRequest for Node, on top of the `http` module: just what the official
 * Socket.IO client's long-polling transport uses (open, setRequestHeader, send, abort,
 * onreadystatechange, readyState, status, responseText, getResponseHeader, withCredentials,
 * timeout, responseType). Asynchronous requests to http:// URLs only. It also adds the one
 * FileReader method (readAsDataURL) that the transport uses to base64-encode binary packets.
 *
 * install(trace) sets globalThis.XMLHttpRequest; every request and response is appended to
 * `trace` (clipped) so that a failing test can show the exchange.
 */
"use strict";

const http = require("http");

function clip(text, limit = 300) {
  return text.length <= limit ? text : text.slice(0, limit) + "...(+" + (text.length - limit) + ")";
}

function toBuffer(body) {
  if (body === null || body === undefined) return null;
  if (typeof body === "string") return Buffer.from(body, "utf8");
  if (body instanceof ArrayBuffer) return Buffer.from(new Uint8Array(body));
  if (ArrayBuffer.isView(body)) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  return Buffer.from(String(body), "utf8");
}

function install(trace) {
  class XMLHttpRequest {
    constructor() {
      this.readyState = XMLHttpRequest.UNSENT;
      this.status = 0;
      this.statusText = "";
      this.responseText = "";
      this.responseType = "";
      this.withCredentials = false;
      this.timeout = 0;
      this.onreadystatechange = null;
      this._headers = {};
      this._responseHeaders = {};
      this._request = null;
      this._done = false;
    }

    open(method, url, async = true) {
      if (async === false) throw new Error("xhr_shim: synchronous requests are not supported");
      const parsed = new URL(url);
      if (parsed.protocol !== "http:") throw new Error("xhr_shim: only http:// URLs are supported, got " + url);
      this._method = method.toUpperCase();
      this._url = parsed;
      this._setState(XMLHttpRequest.OPENED);
    }

    setRequestHeader(name, value) {
      this._headers[name] = String(value);
    }

    getResponseHeader(name) {
      const value = this._responseHeaders[String(name).toLowerCase()];
      if (value === undefined) return null;
      return Array.isArray(value) ? value.join(", ") : String(value);
    }

    getAllResponseHeaders() {
      return Object.entries(this._responseHeaders)
        .map(([k, v]) => k + ": " + (Array.isArray(v) ? v.join(", ") : v))
        .join("\r\n");
    }

    send(body) {
      const data = this._method === "GET" || this._method === "HEAD" ? null : toBuffer(body);
      const headers = Object.assign({}, this._headers);
      if (data) headers["Content-Length"] = String(data.length);
      const label = this._method + " " + this._url.pathname + this._url.search;
      trace.push("HTTP " + label + (data ? " body=" + JSON.stringify(clip(data.toString("utf8"))) : ""));
      const request = http.request(
        {
          hostname: this._url.hostname,
          port: this._url.port || 80,
          path: this._url.pathname + this._url.search,
          method: this._method,
          headers,
        },
        (response) => {
          if (this._done) {
            response.resume();
            return;
          }
          this.status = response.statusCode;
          this.statusText = response.statusMessage || "";
          this._responseHeaders = response.headers;
          this._setState(XMLHttpRequest.HEADERS_RECEIVED);
          const chunks = [];
          response.on("data", (chunk) => {
            chunks.push(chunk);
            if (this.readyState !== XMLHttpRequest.LOADING && !this._done) this._setState(XMLHttpRequest.LOADING);
          });
          response.on("end", () => {
            if (this._done) return;
            this.responseText = Buffer.concat(chunks).toString("utf8");
            trace.push("  -> " + this.status + " " + label + " body=" + JSON.stringify(clip(this.responseText)));
            this._finish();
          });
          response.on("error", (err) => this._fail(err, label));
        }
      );
      request.on("error", (err) => this._fail(err, label));
      if (this.timeout) request.setTimeout(this.timeout, () => request.destroy(new Error("timeout")));
      this._request = request;
      request.end(data || undefined);
    }

    abort() {
      if (this._done) return;
      this._done = true;
      if (this._request) this._request.destroy();
    }

    _fail(err, label) {
      if (this._done) return;
      trace.push("  !! " + label + " " + (err && err.message));
      this.status = 0;
      this.responseText = "";
      this._finish();
    }

    _finish() {
      this._setState(XMLHttpRequest.DONE);
      this._done = true;
    }

    _setState(state) {
      this.readyState = state;
      if (typeof this.onreadystatechange === "function") this.onreadystatechange();
    }
  }

  XMLHttpRequest.UNSENT = 0;
  XMLHttpRequest.OPENED = 1;
  XMLHttpRequest.HEADERS_RECEIVED = 2;
  XMLHttpRequest.LOADING = 3;
  XMLHttpRequest.DONE = 4;
  globalThis.XMLHttpRequest = XMLHttpRequest;

  // The polling transport base64-encodes binary packets with FileReader.readAsDataURL.
  if (typeof globalThis.FileReader === "undefined") {
    class FileReader {
      constructor() {
        this.readyState = 0;
        this.result = null;
        this.error = null;
        this.onload = null;
        this.onerror = null;
      }

      readAsDataURL(blob) {
        this.readyState = 1;
        blob.arrayBuffer().then(
          (buffer) => {
            const type = blob.type || "application/octet-stream";
            this.result = "data:" + type + ";base64," + Buffer.from(buffer).toString("base64");
            this.readyState = 2;
            if (typeof this.onload === "function") this.onload({ target: this });
          },
          (err) => {
            this.error = err;
            this.readyState = 2;
            if (typeof this.onerror === "function") this.onerror({ target: this });
          }
        );
      }
    }
    globalThis.FileReader = FileReader;
  }
}

module.exports = { install };
