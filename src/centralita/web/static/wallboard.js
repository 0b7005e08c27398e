// The supervisor wallboard: live queues, agents and alerts. Reloaded from the API when the
// live socket reports a change (debounced) and every 10 seconds; waits tick every second.
import { ApiError, LiveSocket, duration, fill, h, makeApi } from "./live.js";

const REFRESH_MS = 10000;
const DEBOUNCE_MS = 300;
const PRESENCES = ["available", "busy", "away", "offline"];
const CHANNEL_ORDER = ["whatsapp", "sms", "voice", "email", "webchat"];

const root = document.getElementById("wallboard");
if (root) start(root);

function start(root) {
  const T = JSON.parse(root.dataset.i18n);
  const lang = root.dataset.lang || document.documentElement.lang || "en";
  const $ = (id) => document.getElementById(id);
  const el = {
    queues: $("queues"),
    queuesEmpty: $("queues-empty"),
    agents: $("agents"),
    agentsEmpty: $("agents-empty"),
    alerts: $("alerts"),
    alertsEmpty: $("alerts-empty"),
    alertsCount: $("alerts-count"),
    updated: $("wb-updated"),
    conn: $("conn"),
    moveForm: $("move-form"),
    movePick: $("move-pick"),
    moveId: $("move-id"),
    moveTo: $("move-to"),
    moveError: $("move-error"),
    toasts: $("toasts"),
  };
  const state = { queues: [], agents: [], waiting: [], summaries: new Map(), fetchedAt: Date.now(), skew: 0, loading: false, again: false };
  const api = makeApi({
    onSignedOut: () => setConn("signed-out"),
    onServerDate: (value) => {
      const server = Date.parse(value);
      if (!Number.isNaN(server)) {
        const skew = server - Date.now();
        state.skew = Math.abs(skew) > 1500 ? skew : 0;
      }
    },
  });
  const now = () => Date.now() + state.skew;
  const t = (key, fallback) => T[key] || fallback || key;

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
  }

  function toast(message, kind = "info") {
    const item = h("div", { class: `toast toast-${kind}` }, message);
    el.toasts.append(item);
    setTimeout(() => item.remove(), kind === "error" ? 8000 : 4000);
  }

  function percent(value) {
    return new Intl.NumberFormat(lang, { style: "percent", maximumFractionDigits: 0 }).format(value);
  }

  // ---- loading -----------------------------------------------------------------------------------

  async function load() {
    if (state.loading) {
      state.again = true;
      return;
    }
    state.loading = true;
    try {
      const [queues, agents, waiting] = await Promise.all([
        api("GET", "/api/v1/routing/queues"),
        api("GET", "/api/v1/routing/agents"),
        api("GET", "/api/v1/routing/waiting"),
      ]);
      state.queues = queues;
      state.agents = agents;
      state.waiting = waiting;
      state.fetchedAt = Date.now();
      await loadSummaries([...agents.flatMap((a) => a.conversations), ...waiting.map((w) => w.conversation_id)]);
      render();
      el.updated.textContent = fill(t("wb_updated"), {
        time: new Date().toLocaleTimeString(lang, { hour: "2-digit", minute: "2-digit", second: "2-digit" }),
      });
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 401)) toast(fill(t("desk_error"), { detail: err.message }), "error");
    } finally {
      state.loading = false;
      if (state.again) {
        state.again = false;
        load();
      }
    }
  }

  async function loadSummaries(ids) {
    const missing = [...new Set(ids)].filter((id) => !state.summaries.has(id));
    if (!missing.length) return;
    const query = new URLSearchParams();
    for (const id of missing.slice(0, 50)) query.append("ids", id);
    try {
      for (const item of await api("GET", "/api/v1/desk/conversations?" + query)) {
        state.summaries.set(item.id, item);
      }
    } catch {
      // names are a nicety: the ids still show
    }
  }

  let pending = null;
  function soon() {
    clearTimeout(pending);
    pending = setTimeout(load, DEBOUNCE_MS);
  }

  // ---- rendering ---------------------------------------------------------------------------------

  // A select someone is using is not rebuilt under their hands: it waits for the blur.
  function inUse(container) {
    const active = document.activeElement;
    return Boolean(active && active.tagName === "SELECT" && container.contains(active));
  }

  function render() {
    renderQueues();
    if (inUse(el.agents)) state.deferAgents = true;
    else renderAgents();
    renderAlerts();
    if (inUse(el.moveForm)) state.deferMove = true;
    else renderMove();
    tick();
  }

  function renderQueues() {
    el.queuesEmpty.hidden = state.queues.length > 0;
    const rows = state.queues.map((q) => {
      const level = q.service_level_today;
      const sl =
        level === null || level === undefined
          ? h("span", { class: "sl" }, t("wb_none"))
          : h(
              "span",
              { class: "sl " + (level >= q.sla_target ? "good" : "bad") },
              percent(level),
              " ",
              h("small", {}, `${t("wb_target")} ${percent(q.sla_target)}`),
            );
      return h(
        "tr",
        { "data-queue-id": q.id, "data-queue-key": q.key, class: q.alerts.length ? "has-alert" : null },
        h("th", { scope: "row" }, q.name),
        h("td", { class: "num big-num waiting" }, String(q.waiting)),
        h(
          "td",
          { class: "num" },
          h("span", {
            class: "wait",
            "data-base": String(q.longest_wait_seconds),
            "data-sla": String(q.sla_seconds),
            "data-waiting": String(q.waiting),
          }),
        ),
        h("td", { class: "num" }, sl),
        h("td", { class: "num" }, String(q.answered_today)),
        h("td", { class: "num" }, String(q.abandoned_today)),
        h("td", { class: "num" }, String(q.agents_available)),
      );
    });
    el.queues.replaceChildren(...rows);
  }

  function renderAgents() {
    el.agentsEmpty.hidden = state.agents.length > 0;
    state.deferAgents = false;
    const rows = state.agents.map((a) => {
      const select = h("select", { class: "state-select", "aria-label": fill(t("wb_set_state"), { name: a.name }) });
      const choices = a.presence === "wrapup" ? ["wrapup", ...PRESENCES] : PRESENCES;
      for (const p of choices) {
        select.append(h("option", { value: p, disabled: p === "wrapup", selected: p === a.presence }, t("pres_" + p, p)));
      }
      select.value = a.presence;
      select.addEventListener("change", () => setPresence(a, select.value));
      const handling = a.conversations.length;
      const activity =
        a.activity === "busy" && handling
          ? `${t("wb_handling")} (${handling})`
          : t("pres_" + a.activity, a.activity);
      const loads = Object.entries(a.capacity)
        .filter(([, cap]) => cap > 0)
        .sort(([x], [y]) => CHANNEL_ORDER.indexOf(x) - CHANNEL_ORDER.indexOf(y))
        .map(([channel, cap]) =>
          h(
            "span",
            { class: `cap chan-${channel}` + ((a.load[channel] || 0) >= cap ? " full" : "") },
            h("span", { class: "cap-name" }, t("ch_" + channel, channel)),
            h("span", { class: "cap-num" }, `${a.load[channel] || 0}/${cap}`),
          ),
        );
      const convs = a.conversations.map((id) => {
        const s = state.summaries.get(id);
        return h("span", { class: "agent-conv", title: id }, s ? s.contact_name || id : h("code", {}, id));
      });
      return h(
        "tr",
        { "data-agent-id": a.id, "data-presence": a.presence, "data-activity": a.activity },
        h("th", { scope: "row" }, a.name),
        h("td", {}, select),
        h(
          "td",
          {},
          h("span", { class: "activity", "data-activity": a.activity }, h("span", { class: `dot dot-${a.activity}`, "aria-hidden": "true" }), activity),
          a.offers.length ? h("span", { class: "badge" }, `${t("desk_offers")}: ${a.offers.length}`) : null,
        ),
        h(
          "td",
          {},
          h(
            "span",
            { class: "occ" },
            h("progress", { max: "1", value: String(Math.min(1, a.occupancy)), "aria-hidden": "true" }),
            percent(a.occupancy),
          ),
        ),
        h("td", {}, h("span", { class: "loads" }, ...loads)),
        h("td", { class: "num" }, h("span", { class: "since", "data-since": a.since || "" })),
        h("td", {}, h("span", { class: "agent-convs" }, ...convs)),
      );
    });
    el.agents.replaceChildren(...rows);
  }

  function renderAlerts() {
    const items = [];
    for (const q of state.queues) {
      for (const alert of q.alerts) {
        items.push(
          h(
            "li",
            { class: `alert-item ${alert}`, "data-alert": alert, "data-queue-key": q.key },
            fill(t("al_" + alert, alert), { queue: q.name, sla: q.sla_seconds }),
          ),
        );
      }
    }
    el.alerts.replaceChildren(...items);
    el.alertsEmpty.hidden = items.length > 0;
    el.alertsCount.textContent = String(items.length);
    el.alertsCount.classList.toggle("has", items.length > 0);
  }

  function renderMove() {
    state.deferMove = false;
    const picked = el.movePick.value;
    const target = el.moveTo.value;
    const groups = state.agents
      .filter((a) => a.conversations.length)
      .map((a) =>
        h(
          "optgroup",
          { label: a.name },
          ...a.conversations.map((id) => {
            const s = state.summaries.get(id);
            const label = s ? `${s.contact_name || id} · ${t("ch_" + s.channel, s.channel)}` : id;
            return h("option", { value: id }, label);
          }),
        ),
      );
    const queueName = new Map((state.queues || []).map((q) => [q.id, q.name]));
    const waitingGroup = (state.waiting || []).length
      ? [
          h(
            "optgroup",
            { label: t("wb_move_waiting") },
            ...state.waiting.map((w) => {
              const s = state.summaries.get(w.conversation_id);
              const who = (s && s.contact_name) || w.conversation_id;
              const label = `${who} · ${queueName.get(w.queue_id) || w.queue_id} · ${t("ch_" + w.channel, w.channel)}`;
              return h("option", { value: w.conversation_id }, label);
            }),
          ),
        ]
      : [];
    el.movePick.replaceChildren(h("option", { value: "" }, t("wb_move_choose")), ...waitingGroup, ...groups);
    el.movePick.value = [...el.movePick.options].some((o) => o.value === picked) ? picked : "";
    const agents = state.agents.map((a) =>
      h("option", { value: a.id, disabled: a.presence === "offline" }, `${a.name} — ${t("pres_" + a.presence, a.presence)}`),
    );
    el.moveTo.replaceChildren(h("option", { value: "" }, t("desk_transfer_choose")), ...agents);
    el.moveTo.value = [...el.moveTo.options].some((o) => o.value === target && !o.disabled) ? target : "";
  }

  // The longest waits and the times in state, every second between reloads.
  function tick() {
    const elapsed = (Date.now() - state.fetchedAt) / 1000;
    for (const node of el.queues.querySelectorAll(".wait")) {
      const waiting = Number(node.dataset.waiting);
      const seconds = waiting ? Number(node.dataset.base) + elapsed : 0;
      node.textContent = waiting ? duration(seconds) : t("wb_none");
      node.classList.toggle("over", waiting > 0 && seconds > Number(node.dataset.sla));
    }
    for (const node of el.agents.querySelectorAll(".since")) {
      const since = node.dataset.since ? Date.parse(node.dataset.since) : NaN;
      node.textContent = Number.isNaN(since) ? t("wb_none") : duration((now() - since) / 1000);
    }
  }

  // ---- acting ------------------------------------------------------------------------------------

  async function setPresence(agent, presence) {
    try {
      await api("PUT", `/api/v1/routing/agents/${encodeURIComponent(agent.id)}/presence`, { presence });
      toast(`${agent.name}: ${t("pres_" + presence, presence)}`, "ok");
    } catch (err) {
      toast(fill(t("desk_error"), { detail: err.message }), "error");
    }
    soon();
  }

  async function move(event) {
    event.preventDefault();
    const id = el.moveId.value.trim() || el.movePick.value;
    const agent = el.moveTo.value;
    el.moveError.textContent = "";
    if (!id) {
      el.moveError.textContent = t("wb_move_choose");
      el.movePick.focus();
      return;
    }
    if (!agent) {
      el.moveError.textContent = t("desk_transfer_choose");
      el.moveTo.focus();
      return;
    }
    try {
      await api("POST", `/api/v1/conversations/${encodeURIComponent(id)}/assign`, { agent_id: agent });
      toast(t("wb_moved"), "ok");
      el.moveId.value = "";
      el.movePick.value = "";
      state.summaries.delete(id);
    } catch (err) {
      el.moveError.textContent = fill(t("desk_error"), { detail: err.message });
    }
    soon();
  }

  el.moveForm.addEventListener("submit", move);
  el.agents.addEventListener("focusout", () =>
    setTimeout(() => {
      if (state.deferAgents && !inUse(el.agents)) {
        renderAgents();
        tick();
      }
    }, 0),
  );
  el.moveForm.addEventListener("focusout", () =>
    setTimeout(() => {
      if (state.deferMove && !inUse(el.moveForm)) renderMove();
    }, 0),
  );
  el.moveId.addEventListener("input", () => {
    if (el.moveId.value.trim()) el.movePick.value = "";
  });
  el.movePick.addEventListener("change", () => {
    if (el.movePick.value) el.moveId.value = "";
  });

  setInterval(tick, 1000);
  setInterval(load, REFRESH_MS);
  const live = new LiveSocket({
    key: `centralita.wallboard.seq.${root.dataset.user}`,
    onEvent: () => soon(),
    onReload: () => soon(),
    onState: setConn,
  });
  load();
  live.connect();
}
