// Shared by the agent desktop and the wallboard: API calls with the session cookie and the
// CSRF header, the live socket (resumable by sequence), and small formatting helpers.

export class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
    this.detail = detail;
  }
}

// fetch() for our own API: JSON in and out, the CSRF header on every change, and the
// problem+json "detail" as the error message. ``onSignedOut`` runs on a 401.
export function makeApi({ onSignedOut, onServerDate } = {}) {
  const meta = document.querySelector('meta[name="csrf-token"]');
  const csrf = meta ? meta.content : "";
  return async function api(method, path, body) {
    const headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (method !== "GET") headers["X-CSRF-Token"] = csrf;
    let response;
    try {
      response = await fetch(path, {
        method,
        headers,
        credentials: "same-origin",
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      throw new ApiError(0, err.message || "network error");
    }
    if (onServerDate && response.headers.get("date")) onServerDate(response.headers.get("date"));
    let data = null;
    try {
      data = await response.json();
    } catch {
      data = null;
    }
    if (response.status === 401 && onSignedOut) onSignedOut();
    if (!response.ok) {
      const detail = (data && (data.detail || data.title)) || response.statusText || "error";
      throw new ApiError(response.status, typeof detail === "string" ? detail : JSON.stringify(detail));
    }
    return data;
  };
}

const MIN_DELAY = 500;
const MAX_DELAY = 10000;
const SILENCE_MS = 70000; // the server pings every 25 s: this much silence means a dead link

// The live socket of /desk/ws. Keeps the last event sequence in sessionStorage, reconnects
// with exponential backoff (at most 10 s) passing ?after=<last seq>, drops events it has
// already seen, and asks for a full reload from the API on "resync" and after every
// (re)connection, so nothing is lost across a gap of any length.
export class LiveSocket {
  constructor({ key, onEvent, onReload, onState }) {
    this.key = key;
    this.onEvent = onEvent;
    this.onReload = onReload;
    this.onState = onState;
    this.socket = null;
    this.delay = MIN_DELAY;
    this.timer = null;
    this.lastFrameAt = Date.now();
    this.stopped = false;
    this.seq = Number(this.read() || 0) || 0;
    setInterval(() => this.watch(), 10000);
    window.addEventListener("online", () => this.retryNow());
  }

  read() {
    try {
      return sessionStorage.getItem(this.key);
    } catch {
      return null;
    }
  }

  remember(seq) {
    this.seq = seq;
    try {
      sessionStorage.setItem(this.key, String(seq));
    } catch {
      // Storage may be refused (private windows): the socket still works for this page.
    }
  }

  connect() {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.onState(this.everOpen ? "reconnecting" : "connecting");
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    let ws;
    try {
      ws = new WebSocket(`${scheme}//${location.host}/desk/ws?after=${this.seq}`);
    } catch {
      this.later();
      return;
    }
    this.socket = ws;
    ws.addEventListener("message", (event) => {
      if (this.socket !== ws) return;
      this.lastFrameAt = Date.now();
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        return;
      }
      this.frame(ws, frame);
    });
    ws.addEventListener("close", (event) => {
      if (this.socket !== ws) return;
      this.socket = null;
      if (event.code === 4401) {
        this.stopped = true;
        this.onState("signed-out");
        return;
      }
      this.later();
    });
  }

  frame(ws, frame) {
    if (frame.type === "hello") {
      this.delay = MIN_DELAY;
      this.everOpen = true;
      const latest = Number(frame.latest) || 0;
      if (latest < this.seq) {
        // The server has fewer events than we remember (another database): start over,
        // or it would skip every event up to our old number.
        this.remember(latest);
        this.socket = null;
        ws.close();
        this.connect();
        return;
      }
      if (!this.seq) this.remember(latest);
      this.onState("live");
      this.onReload();
    } else if (frame.type === "event") {
      const seq = Number(frame.seq) || 0;
      if (seq && seq <= this.seq) return; // already applied
      if (seq) this.remember(seq);
      this.onEvent(frame.name, frame.payload || {}, frame);
    } else if (frame.type === "resync") {
      if (frame.latest) this.remember(Number(frame.latest));
      this.onReload();
    }
  }

  later() {
    if (this.stopped) return;
    this.onState("reconnecting");
    const jitter = 0.8 + Math.random() * 0.4;
    const wait = Math.min(this.delay * jitter, MAX_DELAY);
    this.delay = Math.min(this.delay * 2, MAX_DELAY);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.connect(), wait);
  }

  retryNow() {
    if (this.stopped || this.socket) return;
    this.delay = MIN_DELAY;
    this.connect();
  }

  watch() {
    const ws = this.socket;
    if (ws && ws.readyState === WebSocket.OPEN && Date.now() - this.lastFrameAt > SILENCE_MS) {
      this.socket = null;
      ws.close();
      this.later();
    }
  }
}

// "{name} waits" with {name: "Ana"} -> "Ana waits".
export function fill(template, values) {
  return String(template).replace(/\{(\w+)\}/g, (_, k) => (k in values ? String(values[k]) : ""));
}

// 75 -> "1:15"; 3700 -> "1:01:40".
export function duration(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${rest}` : `${m}:${rest}`;
}

// One element with attributes and children, in one call.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") el.className = value;
    else if (name === "text") el.textContent = value;
    else if (name.startsWith("data-") || name.startsWith("aria-") || name === "role") {
      el.setAttribute(name, value === true ? "true" : String(value));
    } else if (name in el) el[name] = value;
    else el.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}
