// Centralita web chat widget. Served by /widget/{account}.js, which puts BOOT ({account, base})
// in front of this file inside one block, so nothing leaks into the host page's globals.
// No external assets: the launcher, the panel and their styles live in a shadow root.

const KEY = `centralita.webchat.${BOOT.account}`;
const MAX_BACKOFF = 30000;

const store = {
  load() {
    try {
      return JSON.parse(localStorage.getItem(KEY) || "{}") || {};
    } catch {
      return {};
    }
  },
  save(patch) {
    const value = { ...store.load(), ...patch };
    try {
      localStorage.setItem(KEY, JSON.stringify(value));
    } catch {
      // private mode: the chat still works, it just forgets the visitor on reload
    }
    return value;
  },
};

function randomId() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    if (name === "text") node.textContent = value;
    else node.setAttribute(name, value === true ? "" : value);
  }
  node.append(...children);
  return node;
}

const CSS = `
:host { all: initial; --c: #0e7c86; font: 15px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; }
* { box-sizing: border-box; }
[hidden] { display: none !important; }
.launcher { position: fixed; right: 20px; bottom: 20px; z-index: 2147483000; width: 56px; height: 56px;
  border-radius: 50%; border: 0; background: var(--c); color: #fff; cursor: pointer;
  box-shadow: 0 4px 14px rgba(0,0,0,.25); display: grid; place-items: center; }
.launcher:focus-visible, button:focus-visible, input:focus-visible, textarea:focus-visible {
  outline: 3px solid #ffbf47; outline-offset: 2px; }
.launcher svg { width: 28px; height: 28px; fill: currentColor; }
.panel { position: fixed; right: 20px; bottom: 88px; z-index: 2147483000; width: min(370px, calc(100vw - 24px));
  height: min(540px, calc(100vh - 110px)); background: #fff; color: #1b1b1b; border-radius: 12px;
  box-shadow: 0 8px 30px rgba(0,0,0,.25); display: flex; flex-direction: column; overflow: hidden; }
header { background: var(--c); color: #fff; padding: 12px 14px; display: flex; align-items: center; gap: 8px; }
header h2 { font-size: 16px; margin: 0; flex: 1; }
header button { background: transparent; border: 0; color: #fff; font-size: 22px; cursor: pointer; line-height: 1; }
.status { font-size: 13px; color: #6b4e00; background: #fff4d6; padding: 4px 14px; }
.status:empty { display: none; }
.lead { margin: 12px 14px 4px; color: #333; }
.log { flex: 1; overflow-y: auto; padding: 10px 14px; display: flex; flex-direction: column; gap: 8px; }
.msg { max-width: 85%; padding: 8px 11px; border-radius: 12px; white-space: pre-wrap; word-wrap: break-word; }
.msg.contact { align-self: flex-end; background: var(--c); color: #fff; border-bottom-right-radius: 3px; }
.msg.bot, .msg.agent { align-self: flex-start; background: #eef1f3; border-bottom-left-radius: 3px; }
.msg.pending { opacity: .7; }
.msg.failed { outline: 2px solid #b00020; }
.who { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
form { display: flex; flex-direction: column; gap: 8px; padding: 10px 14px; }
form.compose { flex-direction: row; border-top: 1px solid #e3e3e3; }
label { display: flex; flex-direction: column; gap: 3px; font-size: 13px; color: #333; }
input, textarea { font: inherit; padding: 8px; border: 1px solid #b9c0c5; border-radius: 8px; width: 100%; }
textarea { resize: none; }
form.compose textarea { flex: 1; height: 42px; }
button.primary { background: var(--c); color: #fff; border: 0; border-radius: 8px; padding: 8px 14px;
  font: inherit; cursor: pointer; }
.error { color: #b00020; font-size: 13px; min-height: 1em; }
.thanks { padding: 14px; }
`;

const ICON = "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z";

class ChatWidget {
  constructor() {
    this.state = store.load();
    this.config = null;
    this.wsUrl = "";
    this.socket = null;
    this.backoff = 1000;
    this.seen = new Set();
    this.pending = new Map(); // client id -> bubble, until the server echoes the message
    this.outbox = new Map(); // client id -> frame, until the server acknowledges it
    this.lastId = null;
    this.lastTyping = 0;
    this.build();
  }

  build() {
    const host = el("div", { id: "centralita-webchat" });
    document.body.append(host);
    this.host = host;
    this.root = host.attachShadow({ mode: "open" });
    if ("adoptedStyleSheets" in this.root && typeof CSSStyleSheet.prototype.replaceSync === "function") {
      const sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS);
      this.root.adoptedStyleSheets = [sheet];
    } else {
      this.root.append(el("style", { text: CSS }));
    }
    const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
    path.setAttribute("d", ICON);
    svg.append(path);
    this.launcher = el("button", {
      class: "launcher", type: "button", "aria-expanded": "false",
      "aria-controls": "centralita-panel", "aria-label": "Chat",
    }, svg);
    this.title = el("h2", { id: "centralita-title", text: "Chat" });
    this.closeButton = el("button", { type: "button", "aria-label": "Close", text: "×" });
    this.status = el("div", { class: "status", role: "status", "aria-live": "polite" });
    this.lead = el("p", { class: "lead" });
    this.log = el("div", { class: "log", role: "log", "aria-live": "polite" });
    this.prechat = this.buildPrechat();
    this.offline = this.buildOffline();
    this.compose = this.buildCompose();
    this.thanks = el("p", { class: "thanks", role: "status", hidden: true });
    this.panel = el("section", {
      class: "panel", id: "centralita-panel", role: "dialog",
      "aria-labelledby": "centralita-title", hidden: true,
    },
    el("header", {}, this.title, this.closeButton),
    this.status, this.lead, this.prechat, this.offline, this.thanks, this.log, this.compose);
    this.root.append(this.launcher, this.panel);
    this.launcher.addEventListener("click", () => (this.panel.hidden ? this.open() : this.close()));
    this.closeButton.addEventListener("click", () => this.close());
  }

  field(name, kind, required) {
    const input = kind === "textarea"
      ? el("textarea", { name, rows: "4", required })
      : el("input", { name, type: kind, required, autocomplete: name === "phone" ? "tel" : name });
    const caption = el("span", { "data-label": name });
    return el("label", {}, caption, input);
  }

  buildPrechat() {
    const form = el("form", { class: "prechat", hidden: true, novalidate: true });
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.submitPrechat(form);
    });
    return form;
  }

  buildOffline() {
    const form = el("form", { class: "offline", hidden: true, novalidate: true });
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.submitOffline(form);
    });
    return form;
  }

  buildCompose() {
    this.input = el("textarea", { name: "text", rows: "1", maxlength: "4096" });
    this.sendButton = el("button", { type: "submit", class: "primary" });
    const form = el("form", { class: "compose", hidden: true }, this.input, this.sendButton);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.send();
    });
    this.input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey) {
        event.preventDefault();
        this.send();
      }
    });
    this.input.addEventListener("input", () => this.typing());
    return form;
  }

  t(key) {
    return (this.config && this.config.strings[key]) || key;
  }

  // ---- the session -------------------------------------------------------------------------

  async post(path, body) {
    return fetch(`${BOOT.base}/widget/${BOOT.account}/${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  }

  async start(identity) {
    const body = { token: this.state.token || null, language: navigator.language, ...identity };
    let response = await this.post("session", body);
    if (response.status === 403 && body.token) {
      // the widget's secret changed, or the token is not ours: start as a new visitor
      this.state = store.save({ token: null, prechat: false });
      response = await this.post("session", { ...body, token: null });
    }
    const data = await response.json().catch(() => ({}));
    if (!response.ok) return data;
    this.state = store.save({ token: data.token, ...(identity ? { prechat: true } : {}) });
    this.config = data.config;
    this.wsUrl = data.ws_url;
    this.applyConfig();
    return null;
  }

  applyConfig() {
    const c = this.config;
    this.host.style.setProperty("--c", c.colour);
    this.launcher.setAttribute("aria-label", this.t("open"));
    this.closeButton.setAttribute("aria-label", this.t("close"));
    this.title.textContent = c.name;
    this.log.setAttribute("aria-label", this.t("log"));
    this.input.setAttribute("placeholder", this.t("placeholder"));
    this.input.setAttribute("aria-label", this.t("placeholder"));
    this.sendButton.textContent = this.t("send");
    this.fillForm(this.prechat, c.prechat, c.prechat_required, "start", "prechat_lead");
    this.fillForm(this.offline, ["name", "email", "phone", "message"], ["message"], "leave",
      "offline_lead");
  }

  fillForm(form, fields, required, submit, lead) {
    form.replaceChildren(el("p", { text: this.t(lead) }));
    for (const name of fields) {
      const kind = { email: "email", phone: "tel", message: "textarea" }[name] || "text";
      const label = this.field(name, kind, required.includes(name));
      label.firstChild.textContent = this.t(name) + (required.includes(name) ? " *" : "");
      form.append(label);
    }
    form.append(el("p", { class: "error", role: "alert" }),
      el("button", { type: "submit", class: "primary", text: this.t(submit) }));
  }

  show(view) {
    this.prechat.hidden = view !== "prechat";
    this.offline.hidden = view !== "offline";
    this.thanks.hidden = view !== "thanks";
    this.log.hidden = view !== "chat";
    this.compose.hidden = view !== "chat";
    this.lead.hidden = view !== "chat" || !this.config.greeting;
    this.lead.textContent = this.config.greeting;
  }

  route() {
    if (!this.config.online) {
      this.show("offline");
    } else if (this.config.prechat.length && !this.state.prechat) {
      this.show("prechat");
    } else {
      this.show("chat");
      this.connect();
    }
  }

  async open() {
    this.panel.hidden = false;
    this.launcher.setAttribute("aria-expanded", "true");
    this.state = store.save({ open: true });
    if (!this.config) {
      const problem = await this.start();
      if (problem) {
        this.status.textContent = problem.detail || "…";
        return;
      }
    }
    this.route();
    const first = this.panel.querySelector("form:not([hidden]) input, form:not([hidden]) textarea");
    if (first) first.focus();
  }

  close() {
    this.panel.hidden = true;
    this.launcher.setAttribute("aria-expanded", "false");
    this.state = store.save({ open: false });
    this.launcher.focus();
  }

  values(form) {
    const out = {};
    for (const input of form.querySelectorAll("input, textarea")) {
      const value = input.value.trim();
      if (value) out[input.name] = value;
    }
    return out;
  }

  async submitPrechat(form) {
    const values = this.values(form);
    const error = form.querySelector(".error");
    const missing = this.config.prechat_required.find((name) => !values[name]);
    if (missing) {
      error.textContent = `${this.t(missing)}: ${this.t("required")}`;
      return;
    }
    const problem = await this.start(values);
    if (problem) {
      error.textContent = problem.detail || "…";
      return;
    }
    this.route();
    this.input.focus();
  }

  async submitOffline(form) {
    const values = this.values(form);
    const error = form.querySelector(".error");
    if (!values.message) {
      error.textContent = `${this.t("message")}: ${this.t("required")}`;
      return;
    }
    if (!values.email && !values.phone) {
      error.textContent = this.t("contact_needed");
      return;
    }
    const body = {
      token: this.state.token || null, language: this.config.language, id: randomId(),
      text: values.message, name: values.name, email: values.email, phone: values.phone,
    };
    const response = await this.post("offline", body);
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      error.textContent = data.detail || "…";
      return;
    }
    this.state = store.save({ token: data.token });
    this.thanks.textContent = this.t("thanks");
    this.show("thanks");
  }

  // ---- the socket --------------------------------------------------------------------------

  connect() {
    if (this.socket) return;
    const socket = new WebSocket(`${this.wsUrl}?token=${encodeURIComponent(this.state.token)}`);
    this.socket = socket;
    socket.addEventListener("open", () => {
      this.backoff = 1000;
      this.status.textContent = "";
      socket.send(JSON.stringify({ type: "resume", after: this.lastId }));
      for (const frame of this.outbox.values()) socket.send(JSON.stringify(frame));
    });
    socket.addEventListener("message", (event) => {
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        return;
      }
      this.onFrame(frame);
    });
    socket.addEventListener("close", (event) => {
      this.socket = null;
      if (event.code === 4403) {
        // not (or no longer) a valid visitor of this widget: start again as a new one
        this.state = store.save({ token: null });
        this.config = null;
        this.start().then((problem) => problem || this.route());
        return;
      }
      if (event.code === 4404) {
        this.status.textContent = event.reason;
        return;
      }
      this.status.textContent = this.t("reconnecting");
      const delay = this.backoff + Math.random() * 500;
      this.backoff = Math.min(this.backoff * 2, MAX_BACKOFF);
      setTimeout(() => this.connect(), delay);
    });
  }

  onFrame(frame) {
    if (frame.type === "message") {
      if (this.seen.has(frame.id)) return;
      this.seen.add(frame.id);
      if (!this.lastId || frame.id > this.lastId) this.lastId = frame.id;
      const mine = frame.client_id && this.pending.get(frame.client_id);
      if (mine) {
        mine.classList.remove("pending", "failed");
        this.pending.delete(frame.client_id);
      } else {
        this.bubble(frame.author, frame.text);
      }
    } else if (frame.type === "ack") {
      this.outbox.delete(frame.id);
      const mine = this.pending.get(frame.id);
      if (mine) mine.classList.remove("pending", "failed");
    } else if (frame.type === "error") {
      const mine = frame.id && this.pending.get(frame.id);
      if (mine) mine.classList.add("failed");
      this.status.textContent = frame.reason;
    }
  }

  bubble(author, text) {
    const node = el("div", { class: `msg ${author}` },
      el("span", { class: "who", text: `${this.t(author === "contact" ? "you" : author)}: ` }),
      document.createTextNode(text));
    this.log.append(node);
    this.log.scrollTop = this.log.scrollHeight;
    return node;
  }

  send() {
    const text = this.input.value.trim();
    if (!text) return;
    this.input.value = "";
    const id = randomId();
    const frame = { type: "message", id, text };
    const node = this.bubble("contact", text);
    node.classList.add("pending");
    this.pending.set(id, node);
    this.outbox.set(id, frame);
    if (this.socket && this.socket.readyState === WebSocket.OPEN) {
      this.socket.send(JSON.stringify(frame));
    } else {
      this.connect();
    }
  }

  typing() {
    const now = Date.now();
    if (now - this.lastTyping < 3000) return;
    this.lastTyping = now;
    if (this.socket && this.socket.readyState === WebSocket.OPEN) {
      this.socket.send(JSON.stringify({ type: "typing" }));
    }
  }
}

function boot() {
  const widget = new ChatWidget();
  widget.start().then((problem) => {
    if (!problem && widget.state.open) widget.open();
  });
}

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", boot);
} else {
  boot();
}
