// The simulator page: play a customer. Messages go through the server's real ingress
// pipeline; the chat shows the stored conversation, polled every POLL_MS.
const POLL_MS = 1500;
const STORE_KEY = "centralita.simulator.v1";

const root = document.getElementById("simulator");
if (root) start(root);

function start(root) {
  const strings = JSON.parse(root.dataset.strings);
  const demo = JSON.parse(root.dataset.identity);
  const addressKind = JSON.parse(root.dataset.addressKind);
  const accountId = root.dataset.account;
  const csrfToken = document.querySelector('meta[name="csrf-token"]').content;
  const lang = document.documentElement.lang || "en";
  const $ = (id) => document.getElementById(id);
  const el = {
    account: $("sim-account"),
    address: $("sim-address"),
    addressLabel: $("sim-address-label"),
    addressError: $("sim-address-error"),
    name: $("sim-name"),
    newCustomer: $("sim-new-customer"),
    channelLabel: $("sim-channel-label"),
    messages: $("sim-messages"),
    error: $("sim-error"),
    composer: $("sim-composer"),
    text: $("sim-text"),
    send: $("sim-send"),
    live: $("sim-live"),
    convNone: $("conv-none"),
    convFacts: $("conv-facts"),
    convApiRow: $("conv-api-row"),
    convApi: $("conv-api"),
  };
  const radios = [...document.querySelectorAll('input[name="channel"]')];

  const saved = load();
  const identities = { ...demo, web: randomIdentity("web"), ...(saved.identities || {}) };
  let channel = radios.some((r) => r.value === saved.channel) ? saved.channel : radios[0].value;
  if (typeof saved.name === "string") el.name.value = saved.name;
  let lastRendered = "";
  let polling = false;

  function load() {
    try {
      return JSON.parse(localStorage.getItem(STORE_KEY)) || {};
    } catch {
      return {};
    }
  }

  function save() {
    const data = { identities, name: el.name.value, channel };
    try {
      localStorage.setItem(STORE_KEY, JSON.stringify(data));
    } catch {
      // Private windows may refuse storage; the page still works without it.
    }
  }

  function kind() {
    return addressKind[channel];
  }

  function showChannel() {
    for (const r of radios) r.checked = r.value === channel;
    el.addressLabel.textContent = strings["id_" + kind()];
    el.address.value = identities[kind()];
    el.address.type = kind() === "email" ? "email" : "text";
    el.channelLabel.textContent = strings["ch_" + channel];
    el.text.placeholder = channel === "voice" ? strings.placeholder_voice : strings.placeholder;
    root.dataset.channel = channel;
    lastRendered = "";
  }

  function setFieldError(message) {
    el.addressError.textContent = message || "";
    el.address.toggleAttribute("aria-invalid", Boolean(message));
  }

  function setError(message) {
    el.error.textContent = message || "";
    el.error.hidden = !message;
  }

  async function poll() {
    if (polling || document.hidden) return;
    polling = true;
    try {
      const query = new URLSearchParams({
        account_id: accountId,
        channel,
        address: el.address.value.trim() || "-",
      });
      const response = await fetch("/simulator/api/conversation?" + query, {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      });
      const data = await response.json();
      el.live.classList.toggle("ok", response.ok);
      if (!response.ok) {
        setFieldError(problemFor(data, "address"));
        render(null, []);
        return;
      }
      setFieldError("");
      render(data.conversation, data.messages);
    } catch {
      el.live.classList.remove("ok");
    } finally {
      polling = false;
    }
  }

  function problemFor(problem, field) {
    const found = (problem.errors || []).find((e) => e.field.endsWith(field));
    return found ? found.message : problem.detail || strings.error;
  }

  function render(conversation, messages) {
    const signature = JSON.stringify([
      conversation && conversation.id,
      conversation && conversation.status,
      messages.map((m) => [m.id, m.delivery_status]),
    ]);
    if (signature === lastRendered) return;
    lastRendered = signature;
    renderBubbles(messages);
    renderStored(conversation, messages);
  }

  function renderBubbles(messages) {
    const items = messages.map(bubble);
    if (!items.length) {
      const empty = document.createElement("li");
      empty.className = "empty";
      empty.textContent = strings.empty;
      items.push(empty);
    }
    el.messages.replaceChildren(...items);
    el.messages.scrollTop = el.messages.scrollHeight;
  }

  function bubble(m) {
    const li = document.createElement("li");
    const mine = m.direction === "inbound";
    li.className = "bubble " + (mine ? "mine" : "theirs");
    li.dataset.messageId = m.id;
    li.dataset.direction = m.direction;
    li.dataset.status = m.delivery_status;
    const author = document.createElement("span");
    author.className = "author";
    author.textContent = strings["author_" + m.author_type] || m.author_type;
    if (m.channel !== channel) author.textContent += " · " + (strings["ch_" + m.channel] || m.channel);
    const body = document.createElement("p");
    body.className = "body";
    body.textContent = m.body;
    const meta = document.createElement("span");
    meta.className = "meta";
    const time = new Date(m.created_at);
    meta.textContent = time.toLocaleTimeString(lang, { hour: "2-digit", minute: "2-digit" });
    if (!mine) {
      const status = document.createElement("span");
      status.className = "status status-" + m.delivery_status;
      status.textContent = strings["st_" + m.delivery_status] || m.delivery_status;
      if (m.delivery_error) status.title = m.delivery_error;
      meta.append(" · ", status);
    }
    li.append(author, body, meta);
    return li;
  }

  function renderStored(conversation, messages) {
    el.convNone.hidden = Boolean(conversation);
    el.convFacts.hidden = !conversation;
    el.convApiRow.hidden = !conversation;
    if (!conversation) return;
    $("conv-id").textContent = conversation.id;
    $("conv-status").textContent = strings["status_" + conversation.status] || conversation.status;
    $("conv-owner").textContent = strings["owner_" + conversation.owner_type] || conversation.owner_type;
    const contact = conversation.contact;
    const addresses = contact.addresses.map((a) => a.kind + ": " + a.value).join(", ");
    $("conv-contact").textContent = (contact.name ? contact.name + " — " : "") + addresses;
    $("conv-count").textContent = String(messages.length);
    el.convApi.href = conversation.api_url;
    $("conv-api-path").textContent = "GET " + conversation.api_url;
  }

  async function send(event) {
    event.preventDefault();
    const text = el.text.value.trim();
    if (!text) return;
    el.send.disabled = true;
    el.send.textContent = strings.sending;
    setError("");
    try {
      const response = await fetch("/simulator/api/send", {
        method: "POST",
        credentials: "same-origin",
        headers: {
          "Content-Type": "application/json",
          Accept: "application/json",
          "X-CSRF-Token": csrfToken,
        },
        body: JSON.stringify({
          account_id: accountId,
          channel,
          address: el.address.value.trim(),
          name: el.name.value.trim() || null,
          text,
        }),
      });
      const data = await response.json();
      if (!response.ok) {
        const message = problemFor(data, "");
        if ((data.errors || []).some((e) => e.field.endsWith("address"))) setFieldError(message);
        else setError(strings.error + ": " + message);
        return;
      }
      el.text.value = "";
      setFieldError("");
      lastRendered = "";
      await poll();
    } catch (err) {
      setError(strings.error + ": " + err.message);
    } finally {
      el.send.disabled = false;
      el.send.textContent = strings.send;
      el.text.focus();
    }
  }

  function randomIdentity(k) {
    const digits = (n) => Array.from({ length: n }, () => Math.floor(Math.random() * 10)).join("");
    const hex = () => Math.random().toString(16).slice(2, 10);
    if (k === "phone") return "+346" + digits(8);
    if (k === "whatsapp") return "346" + digits(8);
    if (k === "email") return "cliente-" + hex() + "@example.com";
    return "visitor-" + hex();
  }

  radios.forEach((r) =>
    r.addEventListener("change", () => {
      channel = r.value;
      showChannel();
      save();
      poll();
    }),
  );
  el.address.addEventListener("input", () => {
    identities[kind()] = el.address.value;
    save();
  });
  el.address.addEventListener("change", () => {
    lastRendered = "";
    poll();
  });
  el.name.addEventListener("input", save);
  el.newCustomer.addEventListener("click", () => {
    identities[kind()] = randomIdentity(kind());
    el.address.value = identities[kind()];
    save();
    poll();
  });
  el.account.addEventListener("change", () => el.account.form.submit());
  $("tenant-switch").hidden = true; // the select submits itself
  el.composer.addEventListener("submit", send);
  el.text.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      el.composer.requestSubmit();
    }
  });
  document.addEventListener("visibilitychange", poll);

  showChannel();
  save();
  poll();
  setInterval(poll, POLL_MS);
}
