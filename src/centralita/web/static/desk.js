// The agent desktop: offers, the agent's conversations on every channel, the conversation
// with its composer, and the customer 360° panel. The API is the source of truth; the live
// socket only says what changed, and the page reloads that part.
import { ApiError, LiveSocket, duration, fill, h, makeApi } from "./live.js";

const CHANNEL_ORDER = ["whatsapp", "sms", "voice", "email", "webchat"];
const root = document.getElementById("desk");
if (root) start(root);

function start(root) {
  const T = JSON.parse(root.dataset.i18n);
  const lang = root.dataset.lang || document.documentElement.lang || "en";
  const userId = root.dataset.user;
  const agentId = root.dataset.agent;
  const $ = (id) => document.getElementById(id);
  const el = {
    presence: $("presence"),
    wrapup: $("wrapup"),
    wrapupDone: $("wrapup-done"),
    capacity: $("capacity"),
    conn: $("conn"),
    offers: $("offers"),
    offersEmpty: $("offers-empty"),
    offersCount: $("offers-count"),
    convs: $("convs"),
    convsEmpty: $("convs-empty"),
    convsCount: $("convs-count"),
    convEmpty: $("conv-empty"),
    convOpen: $("conv-open"),
    convTitle: $("conv-title"),
    convChannel: $("conv-channel"),
    convStatus: $("conv-status"),
    convOwner: $("conv-owner"),
    timeline: $("timeline"),
    timelineWrap: $("timeline-wrap"),
    loadEarlier: $("load-earlier"),
    composer: $("composer"),
    text: $("composer-text"),
    textLabel: $("composer-label"),
    send: $("send"),
    sendChannel: $("send-channel"),
    via: $("via"),
    composerError: $("composer-error"),
    waNote: $("wa-note"),
    waNoteText: $("wa-note-text"),
    waTemplate: $("wa-template"),
    waOpen: $("wa-open"),
    c360: $("c360-body"),
    toasts: $("toasts"),
    transferDialog: $("transfer-dialog"),
    transferForm: $("transfer-form"),
    transferAgent: $("transfer-agent"),
    transferQueue: $("transfer-queue"),
    transferError: $("transfer-error"),
    resolveDialog: $("resolve-dialog"),
    resolveForm: $("resolve-form"),
    resolveCode: $("resolve-code"),
    resolveNote: $("resolve-note"),
    resolveError: $("resolve-error"),
    helpDialog: $("help-dialog"),
  };
  const modeRadios = [...document.querySelectorAll('#composer input[name="mode"]')];
  const baseTitle = document.title;
  const SEEN_KEY = `centralita.desk.seen.${userId}`;

  const state = {
    me: null,
    directory: null,
    summaries: new Map(), // conversation id -> inbox line
    openId: null,
    conversation: null,
    messages: [],
    nextCursor: null,
    context: null,
    mode: "text",
    skew: 0, // server clock minus this browser's clock, in ms
    seen: loadSeen(),
    unread: new Set(),
    busy: new Set(), // offers being accepted or declined
  };

  const api = makeApi({
    onSignedOut: () => setConn("signed-out"),
    onServerDate: (value) => {
      const server = Date.parse(value);
      if (!Number.isNaN(server)) {
        const skew = server - Date.now();
        state.skew = Math.abs(skew) > 1500 ? skew : 0; // the header only has whole seconds
      }
    },
  });
  const now = () => Date.now() + state.skew;
  const ms = (value) => (value ? Date.parse(value) : 0);

  // ---- small helpers -----------------------------------------------------------------------

  function t(key, fallback) {
    return T[key] || fallback || key;
  }

  function channelLabel(channel) {
    return t("ch_" + channel, channel);
  }

  function channelRank(channel) {
    const index = CHANNEL_ORDER.indexOf(channel);
    return index === -1 ? CHANNEL_ORDER.length : index;
  }

  function chip(channel) {
    return h("span", { class: `chan chan-${channel}` }, channelLabel(channel));
  }

  function time(value, options) {
    const date = new Date(value);
    return h("time", { datetime: date.toISOString() }, date.toLocaleString(lang, options));
  }

  function shortWhen(value) {
    const date = new Date(value);
    const today = new Date();
    const sameDay = date.toDateString() === today.toDateString();
    return sameDay
      ? date.toLocaleTimeString(lang, { hour: "2-digit", minute: "2-digit" })
      : date.toLocaleDateString(lang, { day: "numeric", month: "short" });
  }

  // A reason or intent the receptionist stored as a key ("book_appointment") reads as words.
  function reasonText(value) {
    if (!value) return "";
    const text = String(value);
    if (!/^[a-z_]+$/.test(text)) return text;
    return T["int_" + text] || humanize(text);
  }

  function humanize(value) {
    const text = String(value).replace(/_/g, " ");
    return text.charAt(0).toUpperCase() + text.slice(1);
  }

  function loadSeen() {
    try {
      return JSON.parse(localStorage.getItem(SEEN_KEY)) || {};
    } catch {
      return {};
    }
  }

  function saveSeen() {
    const entries = Object.entries(state.seen);
    if (entries.length > 300) {
      // keep the 200 most recently read: enough for any inbox, and the storage stays small
      entries.sort((a, b) => ms(b[1]) - ms(a[1]));
      state.seen = Object.fromEntries(entries.slice(0, 200));
    }
    try {
      localStorage.setItem(SEEN_KEY, JSON.stringify(state.seen));
    } catch {
      // storage refused: unread markers then last for this page only
    }
  }

  function toast(message, kind = "info") {
    const item = h("div", { class: `toast toast-${kind}` }, message);
    el.toasts.append(item);
    setTimeout(() => item.remove(), kind === "error" ? 8000 : 4000);
  }

  function failed(err) {
    const detail = err instanceof ApiError ? err.detail : String(err && err.message ? err.message : err);
    toast(fill(t("desk_error"), { detail }), "error");
  }

  // Lists are rebuilt when data changes: keep the keyboard focus on the same button.
  function focusedIn(list) {
    const active = document.activeElement;
    if (!active || !list.contains(active)) return null;
    const item = active.closest("[data-conversation-id]");
    return item ? { id: item.dataset.conversationId, action: active.dataset.action || null } : null;
  }

  function refocus(list, focus) {
    if (!focus) return;
    const item = [...list.children].find((li) => li.dataset.conversationId === focus.id);
    const target = item && item.querySelector(focus.action ? `[data-action="${focus.action}"]` : "button");
    if (target && !target.disabled) target.focus();
  }

  // Run ``fn`` once, ``ms`` after the last of a burst of calls with the same key.
  const timers = new Map();
  function soon(key, fn, ms = 150) {
    clearTimeout(timers.get(key));
    timers.set(
      key,
      setTimeout(() => {
        timers.delete(key);
        fn();
      }, ms),
    );
  }

  function setConn(value) {
    el.conn.dataset.state = value;
    root.dataset.live = value;
    const key = {
      live: "desk_conn_live",
      connecting: "desk_conn_connecting",
      reconnecting: "desk_conn_reconnecting",
      "signed-out": "desk_conn_signed_out",
    }[value];
    el.conn.textContent = t(key, value);
    if (value === "signed-out") {
      el.conn.replaceChildren(h("a", { href: "/login" }, t(key)));
    }
  }

  // ---- the agent: presence, wrap-up, capacity, offers, conversations -------------------------

  async function loadMe() {
    // what was ours before this refresh: only a conversation that stopped being ours (moved
    // or closed elsewhere) is closed; one opened from a link (the KPI drill-down) stays open
    const before = new Set(state.me ? state.me.conversations : []);
    try {
      state.me = await api("GET", "/api/v1/agent/me");
    } catch (err) {
      if (err.status !== 401) failed(err);
      return;
    }
    renderMe();
    const ids = [...state.me.offers.map((o) => o.conversation_id), ...state.me.conversations];
    await loadSummaries(ids);
    const lost = state.openId && before.has(state.openId) && !isMine(state.openId);
    if (lost && !state.busy.has(state.openId)) closeConversation();
    root.dataset.loaded = "true"; // the agent's state has arrived at least once
  }

  async function loadDirectory() {
    try {
      state.directory = await api("GET", "/api/v1/agent/directory");
    } catch (err) {
      if (err.status !== 401) failed(err);
      return;
    }
    renderOffers();
  }

  async function loadSummaries(ids) {
    const wanted = [...new Set(ids)];
    if (wanted.length) {
      const query = new URLSearchParams();
      for (const id of wanted.slice(0, 50)) query.append("ids", id);
      try {
        const items = await api("GET", "/api/v1/desk/conversations?" + query);
        for (const item of items) {
          state.summaries.set(item.id, item);
          const seen = state.seen[item.id];
          if (item.last_inbound_at && item.id !== state.openId && (!seen || ms(seen) < ms(item.last_inbound_at))) {
            // New to us only if we have opened it before; a fresh conversation is not "unread".
            if (seen) state.unread.add(item.id);
          }
        }
      } catch (err) {
        if (err.status !== 401) failed(err);
      }
    }
    renderOffers();
    renderConversations();
  }

  function isMine(id) {
    return Boolean(state.me && state.me.conversations.includes(id));
  }

  function renderMe() {
    const me = state.me;
    root.dataset.presence = me.presence;
    for (const button of el.presence.querySelectorAll("[data-presence]")) {
      const on = button.dataset.presence === me.presence;
      button.setAttribute("aria-checked", on ? "true" : "false");
      button.tabIndex = on || (me.presence === "wrapup" && button.dataset.presence === "available") ? 0 : -1;
    }
    el.wrapup.hidden = me.presence !== "wrapup";
    const items = Object.entries(me.capacity)
      .filter(([, cap]) => cap > 0)
      .sort(([a], [b]) => channelRank(a) - channelRank(b))
      .map(([channel, cap]) => {
        const load = me.load[channel] || 0;
        return h(
          "li",
          { class: `cap chan-${channel}` + (load >= cap ? " full" : ""), "data-channel": channel },
          h("span", { class: "cap-name" }, channelLabel(channel)),
          h("span", { class: "cap-num" }, `${load}/${cap}`),
        );
      });
    el.capacity.replaceChildren(...items);
  }

  function queueName(id) {
    const queue = state.directory && state.directory.queues.find((q) => q.id === id);
    return queue ? queue.name : "";
  }

  function renderOffers() {
    if (!state.me) return;
    const offers = state.me.offers;
    el.offersCount.textContent = String(offers.length);
    el.offersEmpty.hidden = offers.length > 0;
    document.title = offers.length ? `(${offers.length}) ${baseTitle}` : baseTitle;
    const items = offers.map((offer, index) => {
      const summary = state.summaries.get(offer.conversation_id);
      const total = Math.max(1, (Date.parse(offer.expires_at) - Date.parse(offer.offered_at)) / 1000);
      const who = summary ? summary.contact_name || t("desk_c_unknown") : "…";
      const reason = summary && (reasonText(summary.reason) || (summary.last_message && summary.last_message.body));
      const accept = h(
        "button",
        { type: "button", class: "primary small", "data-action": "accept", "aria-keyshortcuts": index === 0 ? "a" : null },
        t("desk_accept"),
        index === 0 ? h("kbd", { "aria-hidden": "true" }, "a") : null,
      );
      const decline = h(
        "button",
        { type: "button", class: "small", "data-action": "decline", "aria-keyshortcuts": index === 0 ? "d" : null },
        t("desk_decline"),
        index === 0 ? h("kbd", { "aria-hidden": "true" }, "d") : null,
      );
      accept.addEventListener("click", () => acceptOffer(offer.conversation_id));
      decline.addEventListener("click", () => declineOffer(offer.conversation_id));
      if (state.busy.has(offer.conversation_id)) {
        accept.disabled = true;
        decline.disabled = true;
      }
      const labelId = `offer-${offer.conversation_id}-who`;
      return h(
        "li",
        {
          class: `offer chan-${offer.channel}` + (summary && summary.urgency && summary.urgency !== "normal" ? ` urgency-${summary.urgency}` : ""),
          "data-conversation-id": offer.conversation_id,
          "aria-labelledby": labelId,
        },
        h(
          "div",
          { class: "offer-head" },
          chip(offer.channel),
          offer.queue_id ? h("span", { class: "offer-queue" }, queueName(offer.queue_id)) : null,
          offer.callback ? h("span", { class: "badge" }, t("desk_callback")) : null,
          summary && summary.vip ? h("span", { class: "badge vip" }, t("desk_vip")) : null,
        ),
        h("strong", { id: labelId, class: "offer-who" }, who),
        reason ? h("p", { class: "offer-reason" }, reason) : null,
        summary && summary.urgency && summary.urgency !== "normal"
          ? h("span", { class: `urgency urgency-${summary.urgency}` }, t("urg_" + summary.urgency, summary.urgency))
          : null,
        h(
          "div",
          { class: "offer-timer" },
          h("progress", {
            class: "countdown-bar",
            max: String(total),
            value: String(total),
            "data-expires": offer.expires_at,
            "aria-hidden": "true",
          }),
          h(
            "span",
            { class: "countdown", role: "timer", "data-expires": offer.expires_at, "aria-label": t("desk_expires_in") },
            "",
          ),
        ),
        h("div", { class: "offer-actions" }, accept, decline),
      );
    });
    const focus = focusedIn(el.offers);
    el.offers.replaceChildren(...items);
    refocus(el.offers, focus);
    tick();
  }

  // The offers' countdowns, four times a second.
  function tick() {
    let expired = false;
    for (const node of el.offers.querySelectorAll("[data-expires]")) {
      const left = (Date.parse(node.dataset.expires) - now()) / 1000;
      if (node.tagName === "PROGRESS") {
        node.value = Math.max(0, left);
        continue;
      }
      const item = node.closest(".offer");
      if (left <= 0) {
        node.textContent = t("desk_expired");
        item.classList.add("expired");
        const accept = item.querySelector('[data-action="accept"]');
        if (accept) accept.disabled = true;
        expired = true;
      } else {
        node.textContent = duration(Math.ceil(left));
        item.classList.toggle("ending", left <= 5);
      }
    }
    // Once, not on every tick (that would push the reload back forever).
    if (expired && !timers.has("expired")) soon("expired", loadMe, 1500);
  }

  function renderConversations() {
    if (!state.me) return;
    const ids = state.me.conversations;
    el.convsCount.textContent = String(ids.length);
    el.convsEmpty.hidden = ids.length > 0;
    const ordered = [...ids].sort((a, b) => {
      const sa = state.summaries.get(a);
      const sb = state.summaries.get(b);
      return ms(sb && sb.last_message_at) - ms(sa && sa.last_message_at);
    });
    state.order = ordered;
    const items = ordered.map((id) => {
      const s = state.summaries.get(id);
      const unread = state.unread.has(id) && id !== state.openId;
      const last = s && s.last_message;
      let snippet = last ? last.body : "";
      if (last && last.kind === "note") snippet = `${t("desk_note")}: ${snippet}`;
      else if (last && last.direction === "outbound") snippet = `${last.author_type === "bot" ? t("desk_who_bot") : t("desk_who_you")}: ${snippet}`;
      const button = h(
        "button",
        { type: "button", class: "conv-item", "aria-current": id === state.openId ? "true" : null },
        h(
          "span",
          { class: "conv-line" },
          s ? chip(s.channel) : null,
          h("strong", { class: "conv-name" }, s ? s.contact_name || t("desk_c_unknown") : id),
          s && s.vip ? h("span", { class: "badge vip" }, t("desk_vip")) : null,
          s ? h("span", { class: "conv-when" }, shortWhen(s.last_message_at)) : null,
        ),
        h(
          "span",
          { class: "conv-line" },
          h("span", { class: "conv-snippet" }, snippet),
          unread ? h("span", { class: "unread" }, h("span", { class: "visually-hidden" }, t("desk_unread"))) : null,
        ),
      );
      button.addEventListener("click", () => openConversation(id));
      return h("li", { "data-conversation-id": id, class: unread ? "is-unread" : null }, button);
    });
    const focus = focusedIn(el.convs);
    el.convs.replaceChildren(...items);
    refocus(el.convs, focus);
  }

  async function setPresence(presence) {
    try {
      state.me = await api("PUT", "/api/v1/agent/me/presence", { presence });
      renderMe();
      await loadMe();
    } catch (err) {
      failed(err);
    }
  }

  async function acceptOffer(id) {
    if (state.busy.has(id)) return;
    state.busy.add(id);
    renderOffers();
    try {
      await api("POST", `/api/v1/agent/offers/${encodeURIComponent(id)}/accept`);
      toast(t("desk_accepted"), "ok");
      await loadMe();
      await openConversation(id);
    } catch (err) {
      failed(err);
      await loadMe();
    } finally {
      state.busy.delete(id);
      renderOffers();
    }
  }

  async function declineOffer(id) {
    if (state.busy.has(id)) return;
    state.busy.add(id);
    renderOffers();
    try {
      await api("POST", `/api/v1/agent/offers/${encodeURIComponent(id)}/decline`);
      toast(t("desk_declined"));
    } catch (err) {
      failed(err);
    } finally {
      state.busy.delete(id);
      await loadMe();
    }
  }

  // ---- the open conversation -------------------------------------------------------------------

  async function openConversation(id) {
    const switching = state.openId !== id;
    state.openId = id;
    state.unread.delete(id);
    if (switching) {
      state.conversation = null;
      state.messages = [];
      state.nextCursor = null;
      state.earlierLoaded = false;
      state.context = null;
      el.timeline.replaceChildren();
      delete el.timelineWrap.dataset.scrolled;
      el.text.value = "";
      setMode("text");
      setComposerError("");
    }
    el.convEmpty.hidden = true;
    el.convOpen.hidden = false;
    root.dataset.open = id;
    renderConversations();
    await Promise.all([loadConversation(), loadMessages(), loadContext()]);
  }

  function closeConversation() {
    state.openId = null;
    state.conversation = null;
    state.context = null;
    delete root.dataset.open;
    el.convOpen.hidden = true;
    el.convEmpty.hidden = false;
    el.c360.replaceChildren(h("p", { class: "muted small" }, t("desk_pick_title")));
    renderConversations();
  }

  async function loadConversation() {
    const id = state.openId;
    if (!id) return;
    try {
      const conversation = await api("GET", `/api/v1/conversations/${encodeURIComponent(id)}`);
      if (state.openId !== id) return;
      state.conversation = conversation;
      renderHeader();
      renderComposer();
    } catch (err) {
      if (err.status !== 401) failed(err);
    }
  }

  async function loadMessages() {
    const id = state.openId;
    if (!id) return;
    try {
      const page = await api("GET", `/api/v1/conversations/${encodeURIComponent(id)}/messages?limit=100`);
      if (state.openId !== id) return;
      const known = new Map(state.messages.map((m) => [m.id, m]));
      for (const m of page.items) known.set(m.id, m);
      state.messages = [...known.values()];
      if (!state.earlierLoaded) state.nextCursor = page.next_cursor;
      markSeen(id);
      renderTimeline();
      renderComposer();
      followDelivery();
    } catch (err) {
      if (err.status !== 401) failed(err);
    }
  }

  async function loadEarlier() {
    const id = state.openId;
    if (!id || !state.nextCursor) return;
    try {
      const page = await api(
        "GET",
        `/api/v1/conversations/${encodeURIComponent(id)}/messages?limit=100&cursor=${encodeURIComponent(state.nextCursor)}`,
      );
      if (state.openId !== id) return;
      const known = new Map(state.messages.map((m) => [m.id, m]));
      for (const m of page.items) known.set(m.id, m);
      state.messages = [...known.values()];
      state.nextCursor = page.next_cursor;
      state.earlierLoaded = true;
      renderTimeline(false);
    } catch (err) {
      failed(err);
    }
  }

  async function loadContext() {
    const id = state.openId;
    if (!id) return;
    try {
      const context = await api("GET", `/api/v1/desk/conversations/${encodeURIComponent(id)}/context`);
      if (state.openId !== id) return;
      state.context = context;
      renderContext();
      renderHeader();
      renderComposer();
    } catch (err) {
      if (err.status !== 401) failed(err);
    }
  }

  function markSeen(id) {
    const times = state.messages.filter((m) => m.direction === "inbound").map((m) => ms(m.created_at));
    const summary = state.summaries.get(id);
    if (summary && summary.last_inbound_at) times.push(ms(summary.last_inbound_at));
    state.seen[id] = new Date(times.length ? Math.max(...times) : now()).toISOString();
    state.unread.delete(id);
    saveSeen();
  }

  // Outbound messages still on their way: look again until they are delivered (agents get no
  // delivery events on the socket; a supervisor's page does, and reloads the same way).
  function followDelivery() {
    const pending = state.messages.some(
      (m) =>
        m.direction === "outbound" &&
        ["queued", "sent"].includes(m.delivery_status) &&
        now() - Date.parse(m.created_at) < 120000,
    );
    if (pending) soon("delivery", loadMessages, 2000);
  }

  function contactName() {
    const context = state.context;
    return (context && context.contact && context.contact.name) || null;
  }

  function renderHeader() {
    const c = state.conversation;
    if (!c) return;
    const summary = state.summaries.get(c.id);
    const name = contactName() || (summary && summary.contact_name) || t("desk_c_unknown");
    const vip = (state.context && state.context.contact && state.context.contact.vip) || (summary && summary.vip);
    el.convTitle.replaceChildren(name, vip ? h("span", { class: "badge vip" }, t("desk_vip")) : "");
    el.convChannel.className = `chan chan-${c.last_channel}`;
    el.convChannel.textContent = channelLabel(c.last_channel);
    el.convStatus.textContent = t("conv_" + c.status, c.status);
    el.convStatus.dataset.status = c.status;
    const owner = state.context && state.context.conversation.owner_name;
    el.convOwner.textContent = owner ? `${t("desk_handled_by")}: ${owner}` : "";
    const mine = isMine(c.id);
    $("transfer-open").disabled = !mine;
    $("resolve-open").disabled = !mine || c.status === "closed";
  }

  function authorOf(m) {
    const you = m.author_type === "agent" && m.author_id === userId;
    if (m.kind === "note") return `${t("desk_note")} · ${you ? t("desk_who_you") : t("desk_who_agent")}`;
    if (m.author_type === "contact") return contactName() || t("desk_who_contact");
    if (m.author_type === "bot") return t("desk_who_bot");
    if (m.author_type === "agent") return you ? t("desk_who_you") : t("desk_who_agent");
    return t("desk_who_system");
  }

  // Appends new messages (so that screen readers announce only those) and updates delivery
  // statuses in place; rebuilds the list only when older messages were loaded or reordered.
  function renderTimeline(scroll = true) {
    const wrap = el.timelineWrap;
    const atBottom = wrap.scrollHeight - wrap.scrollTop - wrap.clientHeight < 80;
    const messages = [...state.messages].sort(
      (a, b) => ms(a.created_at) - ms(b.created_at) || a.id.localeCompare(b.id),
    );
    const wanted = [];
    let day = "";
    for (const m of messages) {
      const date = new Date(m.created_at);
      if (date.toDateString() !== day) {
        day = date.toDateString();
        wanted.push({ key: "d:" + day, date });
      }
      wanted.push({ key: "m:" + m.id, message: m });
    }
    const current = [...el.timeline.children].map((node) => node.dataset.key);
    const prefix = current.length <= wanted.length && current.every((key, i) => key === wanted[i].key);
    const build = (entry) => {
      if (entry.message) return messageItem(entry.message);
      const label = entry.date.toLocaleDateString(lang, { weekday: "long", day: "numeric", month: "long" });
      return h("li", { class: "day", role: "separator", "data-key": entry.key }, h("span", {}, label));
    };
    if (prefix && current.length) {
      for (const node of el.timeline.children) {
        const entry = wanted.find((w) => w.key === node.dataset.key);
        if (entry && entry.message) updateStatus(node, entry.message);
      }
      el.timeline.append(...wanted.slice(current.length).map(build));
    } else {
      el.timeline.replaceChildren(...wanted.map(build));
    }
    el.timeline.dataset.empty = messages.length ? "false" : "true";
    el.loadEarlier.hidden = !state.nextCursor;
    if (scroll && (atBottom || !wrap.dataset.scrolled)) {
      wrap.scrollTop = wrap.scrollHeight;
      wrap.dataset.scrolled = "1";
    }
  }

  function updateStatus(node, m) {
    if (node.dataset.status === m.delivery_status) return;
    node.dataset.status = m.delivery_status;
    const status = node.querySelector(".msg-status");
    if (status) {
      status.className = `msg-status status-${m.delivery_status}`;
      status.textContent = t("st_" + m.delivery_status, m.delivery_status);
      status.title = m.delivery_error || "";
    }
  }

  function messageItem(m) {
    const side = m.kind === "note" ? "note" : m.direction === "inbound" ? "in" : m.kind === "event" ? "event" : "out";
    const meta = h(
      "div",
      { class: "msg-meta" },
      h("span", { class: "msg-who" }, authorOf(m)),
      chip(m.channel),
      time(m.created_at, { hour: "2-digit", minute: "2-digit" }),
    );
    const body = h("p", { class: "msg-body" }, m.body || "");
    const item = h(
      "li",
      {
        class: `msg msg-${side} author-${m.author_type}`,
        "data-key": "m:" + m.id,
        "data-message-id": m.id,
        "data-direction": m.direction,
        "data-kind": m.kind,
        "data-status": m.delivery_status,
      },
      meta,
      body,
    );
    if (m.direction === "outbound") {
      const status = h(
        "span",
        { class: `msg-status status-${m.delivery_status}`, title: m.delivery_error || null },
        t("st_" + m.delivery_status, m.delivery_status),
      );
      item.append(h("div", { class: "msg-foot" }, status));
    }
    return item;
  }

  // ---- composing ---------------------------------------------------------------------------------

  function setMode(mode) {
    state.mode = mode;
    for (const radio of modeRadios) radio.checked = radio.value === mode;
    el.composer.dataset.mode = mode;
    const note = mode === "note";
    el.text.placeholder = note ? t("desk_note_placeholder") : t("desk_reply_placeholder");
    el.textLabel.textContent = note ? t("desk_note") : t("desk_reply");
    el.send.textContent = note ? t("desk_save_note") : t("desk_send");
    el.via.hidden = note;
    renderComposer();
  }

  function replyChannels() {
    const channels = new Set(state.messages.filter((m) => m.direction === "inbound").map((m) => m.channel));
    const last = state.conversation && state.conversation.last_channel;
    const list = [...channels];
    if (last && channels.has(last)) list.splice(list.indexOf(last), 1), list.unshift(last);
    return list;
  }

  function renderComposer() {
    if (!state.openId) return;
    const channels = replyChannels();
    const current = el.sendChannel.value;
    const options = channels.map((c) => h("option", { value: c }, channelLabel(c)));
    el.sendChannel.replaceChildren(...options);
    if (channels.includes(current)) el.sendChannel.value = current;
    const channel = el.sendChannel.value;
    const window_ = state.context && state.context.whatsapp_window;
    const reply = state.mode === "text";
    const closedWindow = reply && channel === "whatsapp" && window_ && !window_.open;
    const nowhere = reply && !channels.length;
    el.waNote.hidden = !closedWindow;
    if (closedWindow) {
      const template = window_.reengagement_template;
      el.waNoteText.textContent =
        t("desk_wa_closed") + " " + (template ? fill(t("desk_wa_template"), { name: template }) : t("desk_wa_no_template"));
      el.waTemplate.hidden = !template;
    }
    el.waOpen.hidden = !(reply && channel === "whatsapp" && window_ && window_.open && window_.closes_at);
    if (!el.waOpen.hidden) {
      const closes = new Date(window_.closes_at).toLocaleString(lang, { weekday: "short", hour: "2-digit", minute: "2-digit" });
      el.waOpen.textContent = fill(t("desk_wa_open_until"), { time: closes });
    }
    el.text.disabled = Boolean(closedWindow || nowhere);
    el.send.disabled = Boolean(closedWindow || nowhere);
    el.composer.classList.toggle("blocked", Boolean(closedWindow || nowhere));
  }

  function setComposerError(message) {
    el.composerError.textContent = message || "";
    el.composerError.hidden = !message;
  }

  async function send(event) {
    event.preventDefault();
    const id = state.openId;
    const body = el.text.value.trim();
    if (!id || !body || el.text.disabled) return;
    const payload = { body, kind: state.mode };
    if (state.mode === "text" && el.sendChannel.value) payload.channel = el.sendChannel.value;
    el.send.disabled = true;
    setComposerError("");
    try {
      const message = await api("POST", `/api/v1/conversations/${encodeURIComponent(id)}/messages`, payload);
      el.text.value = "";
      if (state.openId === id) {
        state.messages.push(message);
        renderTimeline();
        el.timelineWrap.scrollTop = el.timelineWrap.scrollHeight;
      }
      if (state.mode === "note") setMode("text");
      soon("messages", loadMessages, 300);
      soon("summaries", () => loadSummaries([id]), 400);
    } catch (err) {
      setComposerError(fill(t("desk_error"), { detail: err.detail || err.message }));
    } finally {
      el.send.disabled = false;
      renderComposer();
      el.text.focus();
    }
  }

  async function sendTemplate() {
    const id = state.openId;
    const window_ = state.context && state.context.whatsapp_window;
    if (!id || !window_ || !window_.reengagement_template) return;
    const language = (state.conversation && state.conversation.language) || lang;
    try {
      await api("POST", `/api/v1/conversations/${encodeURIComponent(id)}/messages`, {
        body: window_.reengagement_template,
        channel: "whatsapp",
        template: { name: window_.reengagement_template, language, parameters: [] },
      });
      soon("messages", loadMessages, 200);
    } catch (err) {
      setComposerError(fill(t("desk_error"), { detail: err.detail || err.message }));
    }
  }

  // ---- transfer and resolve ----------------------------------------------------------------------

  async function openTransfer() {
    if (!state.openId || !isMine(state.openId)) return;
    await loadDirectory();
    const directory = state.directory || { agents: [], queues: [] };
    const agents = directory.agents
      .filter((a) => a.id !== agentId)
      .map((a) =>
        h(
          "option",
          { value: a.id, disabled: a.presence === "offline" },
          `${a.name} — ${t("pres_" + a.presence, a.presence)}`,
        ),
      );
    el.transferAgent.replaceChildren(h("option", { value: "" }, t("desk_transfer_choose")), ...agents);
    const queues = directory.queues.map((q) => h("option", { value: q.id }, q.name));
    el.transferQueue.replaceChildren(h("option", { value: "" }, t("desk_transfer_choose")), ...queues);
    el.transferError.hidden = true;
    el.transferDialog.showModal();
    el.transferAgent.focus();
  }

  async function submitTransfer(event) {
    event.preventDefault();
    const id = state.openId;
    const agent = el.transferAgent.value;
    const queue = el.transferQueue.value;
    if (!id || (!agent && !queue)) {
      el.transferError.textContent = t("desk_transfer_choose");
      el.transferError.hidden = false;
      return;
    }
    try {
      await api("POST", `/api/v1/conversations/${encodeURIComponent(id)}/transfer`, agent ? { agent_id: agent } : { queue_id: queue });
      el.transferDialog.close();
      toast(t("desk_transferred"), "ok");
      closeConversation();
      await loadMe();
    } catch (err) {
      el.transferError.textContent = err.detail || err.message;
      el.transferError.hidden = false;
    }
  }

  function openResolve() {
    if (!state.openId || !isMine(state.openId)) return;
    const codes = (state.directory && state.directory.wrapup_codes) || [];
    if (codes.length) {
      const current = el.resolveCode.value;
      el.resolveCode.replaceChildren(...codes.map((c) => h("option", { value: c }, t("wc_" + c, humanize(c)))));
      if (codes.includes(current)) el.resolveCode.value = current;
    }
    el.resolveNote.value = "";
    el.resolveError.hidden = true;
    el.resolveDialog.showModal();
    el.resolveCode.focus();
  }

  async function submitResolve(event) {
    event.preventDefault();
    const id = state.openId;
    if (!id) return;
    const body = { wrapup_code: el.resolveCode.value };
    const note = el.resolveNote.value.trim();
    if (note) body.note = note;
    try {
      await api("POST", `/api/v1/conversations/${encodeURIComponent(id)}/resolve`, body);
      el.resolveDialog.close();
      toast(t("desk_resolved"), "ok");
      delete state.seen[id];
      saveSeen();
      closeConversation();
      await loadMe();
    } catch (err) {
      el.resolveError.textContent = err.detail || err.message;
      el.resolveError.hidden = false;
    }
  }

  // ---- the customer 360° panel -----------------------------------------------------------------

  function section(title, ...content) {
    return h("section", { class: "c360-section" }, h("h3", {}, title), ...content);
  }

  function facts(rows) {
    const items = rows
      .filter(([, value]) => value !== null && value !== undefined && value !== "")
      .map(([label, value]) => h("div", {}, h("dt", {}, label), h("dd", {}, value)));
    return items.length ? h("dl", { class: "facts compact" }, ...items) : null;
  }

  function serviceName(key) {
    const names = state.context.service_names[key];
    return names ? names[lang] || names.es || names.en || key : key;
  }

  function intakeValue(key, value) {
    const context = state.context;
    if (key === "staff_key") return context.staff_names[value] || value;
    if (key === "service_key") return serviceName(value);
    if (key === "urgency") return t("urg_" + value, value);
    if (key === "part_of_day") return t("pod_" + value, value);
    if (key === "intent" || key === "reason") return reasonText(value);
    if (key === "preferred_time" || key === "preferred_end") {
      const date = new Date(value);
      return Number.isNaN(date.getTime())
        ? String(value)
        : date.toLocaleString(lang, { weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });
    }
    if (typeof value === "boolean") return null;
    return typeof value === "object" ? JSON.stringify(value) : String(value);
  }

  function renderContext() {
    const context = state.context;
    if (!context) return;
    const contact = context.contact;
    const conversation = context.conversation;
    const parts = [];

    // who
    const name = (contact && contact.name) || t("desk_c_unknown");
    const identity = [
      h(
        "div",
        { class: "c360-who" },
        h("span", { class: "avatar big", "aria-hidden": "true" }, name.slice(0, 1).toUpperCase()),
        h("div", {}, h("strong", { class: "c360-name" }, name), contact && contact.vip ? h("span", { class: "badge vip" }, t("desk_vip")) : null),
      ),
    ];
    if (contact) {
      const value = contact.value ? new Intl.NumberFormat(lang, { maximumFractionDigits: 2 }).format(contact.value) : null;
      identity.push(
        facts([
          [t("desk_c_language"), contact.language ? contact.language.toUpperCase() : null],
          [t("desk_c_value"), value],
          [
            t("desk_c_tags"),
            contact.tags.length ? h("span", { class: "tags" }, ...contact.tags.map((tag) => h("span", { class: "tag" }, tag))) : null,
          ],
        ]),
      );
      if (contact.addresses.length) {
        identity.push(
          h(
            "ul",
            { class: "addresses", "aria-label": t("desk_c_addresses") },
            ...contact.addresses.map((a) =>
              h("li", {}, h("span", { class: "addr-kind" }, t("addr_" + a.kind, a.kind)), h("span", { class: "addr-value" }, a.value)),
            ),
          ),
        );
      }
    }
    parts.push(h("section", { class: "c360-section c360-identity", "aria-label": name }, ...identity));

    // what the receptionist gathered
    const handoff = context.handoff;
    const intake = {};
    for (const [key, value] of Object.entries({ ...(handoff ? handoff.intake : {}), ...conversation.intake })) {
      if (value !== null && value !== undefined && value !== "" && value !== false) intake[key] = value;
    }
    const order = ["reason", "intent", "service_key", "staff_key", "preferred_time", "preferred_end", "part_of_day", "name", "phone", "email"];
    const keys = [...order.filter((k) => k in intake), ...Object.keys(intake).filter((k) => !order.includes(k))];
    const intakeRows = keys
      .filter((k) => !["urgency", "phone_confirmed", "name_refused", "phone_refused"].includes(k))
      .filter((k) => !(k === "reason" && handoff && reasonText(handoff.reason) === reasonText(intake.reason)))
      .map((k) => [t("in_" + k, k === "reason" ? t("desk_reason") : humanize(k)), intakeValue(k, intake[k])]);
    const urgency = (handoff && handoff.urgency) || intake.urgency;
    const intakeContent = [];
    if (handoff || intakeRows.length) {
      if (urgency) {
        intakeContent.push(h("p", {}, h("span", { class: `urgency urgency-${urgency}` }, `${t("desk_urgency")}: ${t("urg_" + urgency, urgency)}`)));
      }
      intakeContent.push(
        facts([
          [t("desk_reason"), handoff ? reasonText(handoff.reason) : null],
          [t("desk_summary"), handoff ? handoff.summary : null],
          [t("desk_queue"), handoff ? handoff.queue_name || handoff.queue_key : null],
          ...intakeRows,
        ]),
      );
    } else {
      intakeContent.push(h("p", { class: "muted small" }, t("desk_intake_none")));
    }
    parts.push(section(t("desk_intake"), ...intakeContent));

    // sentiment
    if (conversation.sentiment !== null && conversation.sentiment !== undefined) {
      const value = conversation.sentiment;
      const mood = value < -0.25 ? "negative" : value > 0.25 ? "positive" : "neutral";
      parts.push(
        section(
          t("desk_sentiment"),
          h(
            "p",
            { class: `sentiment sentiment-${mood}` },
            h("meter", { min: "-1", max: "1", low: "-0.25", high: "0.25", optimum: "1", value: String(value), "aria-label": t("desk_sentiment") }),
            h("span", {}, t("sent_" + mood)),
          ),
        ),
      );
    }

    // past conversations
    parts.push(
      section(
        t("desk_past"),
        context.past_conversations.length
          ? h(
              "ul",
              { class: "mini-list" },
              ...context.past_conversations.map((c) =>
                h(
                  "li",
                  {},
                  h("span", { class: "mini-main" }, chip(c.last_channel), " ", c.subject || t("conv_" + c.status, c.status)),
                  h("span", { class: "mini-side" }, shortWhen(c.last_message_at)),
                ),
              ),
            )
          : h("p", { class: "muted small" }, t("desk_past_empty")),
      ),
    );

    // appointments
    parts.push(
      section(
        t("desk_appointments"),
        context.appointments.length
          ? h(
              "ul",
              { class: "mini-list" },
              ...context.appointments.map((a) => {
                const upcoming = a.status === "booked" && Date.parse(a.start_at) > now();
                return h(
                  "li",
                  { class: upcoming ? "upcoming" : null },
                  h(
                    "span",
                    { class: "mini-main" },
                    time(a.start_at, { weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" }),
                    " · ",
                    a.service_key ? serviceName(a.service_key) : t("wc_" + a.kind, humanize(a.kind)),
                    a.staff_key ? ` · ${context.staff_names[a.staff_key] || a.staff_key}` : "",
                  ),
                  h(
                    "span",
                    { class: "mini-side" },
                    upcoming ? h("span", { class: "badge" }, t("desk_upcoming")) : t("ap_" + a.status, a.status),
                  ),
                );
              }),
            )
          : h("p", { class: "muted small" }, t("desk_appointments_empty")),
      ),
    );

    // messages taken for staff
    parts.push(
      section(
        t("desk_taken"),
        context.messages_taken.length
          ? h(
              "ul",
              { class: "mini-list" },
              ...context.messages_taken.map((m) =>
                h(
                  "li",
                  {},
                  h(
                    "span",
                    { class: "mini-main" },
                    h("span", { class: "mini-date" }, shortWhen(m.created_at)),
                    " ",
                    m.summary || m.reason || "",
                    m.recipient_name ? ` → ${m.recipient_name}` : "",
                  ),
                  h("span", { class: "mini-side" }, t("sm_" + m.status, m.status)),
                ),
              ),
            )
          : h("p", { class: "muted small" }, t("desk_taken_empty")),
      ),
    );

    // survey answers (none stored yet)
    parts.push(
      section(
        t("desk_surveys"),
        context.survey_answers.length
          ? h("ul", { class: "mini-list" }, ...context.survey_answers.map((s) => h("li", {}, JSON.stringify(s))))
          : h("p", { class: "muted small" }, t("desk_surveys_empty")),
      ),
    );
    el.c360.replaceChildren(...parts);
  }

  // ---- live events -------------------------------------------------------------------------------

  function reloadAll() {
    soon("me", loadMe, 50);
    soon("directory", loadDirectory, 50);
    if (state.openId) {
      soon("conversation", loadConversation, 50);
      soon("messages", loadMessages, 50);
      soon("context", loadContext, 50);
    }
  }

  function onEvent(name, payload) {
    const cid = payload.conversation_id;
    switch (name) {
      case "routing.offered":
        if (payload.agent_id === agentId) {
          toast(t("desk_new_offer"));
          soon("me", loadMe);
        }
        break;
      case "routing.offer_ended":
      case "routing.assigned":
      case "routing.released":
        if (payload.agent_id === agentId) soon("me", loadMe);
        if (cid && cid === state.openId) soon("conversation", loadConversation);
        break;
      case "agent.presence_changed":
        if (payload.agent_id === agentId) soon("me", loadMe);
        else soon("directory", loadDirectory, 500);
        break;
      case "message.received":
        if (cid === state.openId) {
          soon("messages", loadMessages);
          soon("context", loadContext, 800);
        } else if (isMine(cid)) {
          state.unread.add(cid);
          renderConversations();
        }
        if (cid) soon(`summary:${cid}`, () => loadSummaries([cid]), 200);
        break;
      case "message.queued":
        if (cid === state.openId) soon("messages", loadMessages);
        if (cid) soon(`summary:${cid}`, () => loadSummaries([cid]), 200);
        break;
      case "message.status_changed":
        if (state.messages.some((m) => m.id === payload.message_id)) soon("messages", loadMessages);
        break;
      case "conversation.closed":
      case "conversation.updated":
      case "conversation.reopened":
        if (cid === state.openId) {
          soon("conversation", loadConversation);
          soon("context", loadContext, 300);
        }
        if (cid) soon(`summary:${cid}`, () => loadSummaries([cid]), 200);
        break;
      default:
        break;
    }
  }

  // ---- keyboard ----------------------------------------------------------------------------------

  function typing(target) {
    if (!target || !(target instanceof Element)) return false;
    if (target.isContentEditable) return true;
    if (target.tagName === "TEXTAREA" || target.tagName === "SELECT") return true;
    if (target.tagName === "INPUT") return !["radio", "checkbox", "button", "submit"].includes(target.type);
    return false;
  }

  function step(delta) {
    const order = state.order || [];
    if (!order.length) return;
    const index = order.indexOf(state.openId);
    const next = index === -1 ? (delta > 0 ? 0 : order.length - 1) : (index + delta + order.length) % order.length;
    openConversation(order[next]);
    const button = el.convs.querySelector(`[data-conversation-id="${order[next]}"] button`);
    if (button) button.focus({ preventScroll: false });
  }

  function focusComposer(mode) {
    if (!state.openId) return;
    setMode(mode);
    el.text.focus();
  }

  document.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      if (event.target === el.text) {
        event.preventDefault();
        el.composer.requestSubmit();
      } else if (event.target === el.resolveNote) {
        event.preventDefault();
        el.resolveForm.requestSubmit();
      }
      return;
    }
    if (event.key === "Escape") {
      if (!document.querySelector("dialog[open]") && typing(event.target)) event.target.blur();
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (typing(event.target) || document.querySelector("dialog[open]")) return;
    const first = state.me && state.me.offers[0];
    const actions = {
      a: () => first && acceptOffer(first.conversation_id),
      d: () => first && declineOffer(first.conversation_id),
      j: () => step(1),
      k: () => step(-1),
      r: () => focusComposer("text"),
      n: () => focusComposer("note"),
      t: () => openTransfer(),
      e: () => openResolve(),
      1: () => setPresence("available"),
      2: () => setPresence("busy"),
      3: () => setPresence("away"),
      4: () => setPresence("offline"),
      "?": () => el.helpDialog.showModal(),
    };
    const action = actions[event.key];
    if (action) {
      event.preventDefault();
      action();
    }
  });

  // ---- wiring ------------------------------------------------------------------------------------

  for (const button of el.presence.querySelectorAll("[data-presence]")) {
    button.addEventListener("click", () => setPresence(button.dataset.presence));
  }
  // Arrow keys move between the presence choices, as in any radio group.
  el.presence.addEventListener("keydown", (event) => {
    if (!["ArrowRight", "ArrowDown", "ArrowLeft", "ArrowUp"].includes(event.key)) return;
    const buttons = [...el.presence.querySelectorAll("[data-presence]")];
    const index = buttons.indexOf(document.activeElement);
    const next = buttons[(index + (event.key === "ArrowRight" || event.key === "ArrowDown" ? 1 : -1) + buttons.length) % buttons.length];
    event.preventDefault();
    next.focus();
    setPresence(next.dataset.presence);
  });
  el.wrapupDone.addEventListener("click", async () => {
    try {
      await api("POST", "/api/v1/agent/me/wrapup-done");
      await loadMe();
    } catch (err) {
      failed(err);
    }
  });
  for (const radio of modeRadios) radio.addEventListener("change", () => setMode(radio.value));
  el.sendChannel.addEventListener("change", renderComposer);
  el.composer.addEventListener("submit", send);
  el.waTemplate.addEventListener("click", sendTemplate);
  el.loadEarlier.addEventListener("click", loadEarlier);
  $("transfer-open").addEventListener("click", openTransfer);
  $("resolve-open").addEventListener("click", openResolve);
  $("help-open").addEventListener("click", () => el.helpDialog.showModal());
  el.transferForm.addEventListener("submit", submitTransfer);
  el.resolveForm.addEventListener("submit", submitResolve);
  el.transferAgent.addEventListener("change", () => {
    if (el.transferAgent.value) el.transferQueue.value = "";
  });
  el.transferQueue.addEventListener("change", () => {
    if (el.transferQueue.value) el.transferAgent.value = "";
  });
  for (const button of document.querySelectorAll("dialog [data-close]")) {
    button.addEventListener("click", () => button.closest("dialog").close());
  }

  setInterval(tick, 250);
  setInterval(() => {
    if (state.me) renderConversations(); // keeps "today"/dates right after midnight
  }, 60000);

  const live = new LiveSocket({
    key: `centralita.desk.seq.${userId}`,
    onEvent,
    onReload: reloadAll,
    onState: setConn,
  });
  loadMe();
  loadDirectory();
  live.connect();
  // A link from elsewhere (the KPI drill-down) may name the conversation to open.
  const linked = new URLSearchParams(window.location.search).get("conversation");
  if (linked) openConversation(linked);
}
