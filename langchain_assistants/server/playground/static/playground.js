// The playground: plain JavaScript, no framework, no build step, nothing from the internet.
// It talks to the server's /v1 API like the openai SDK does: JSON bodies, the
// "OpenAI-Beta: assistants=v2" header, "Authorization: Bearer <key>", and the same
// server-sent events for streamed runs (read with fetch + ReadableStream: EventSource
// cannot POST). Views are picked by the URL hash: #/assistants/ID, #/threads/ID, #/files.
"use strict";

const API = new URL("../v1", location.href).pathname; // "/v1", behind any path prefix
const KEY_NAME = "langchain-assistants.api-key";
const THREADS_NAME = "langchain-assistants.threads";
const ACTIVE = new Set(["queued", "in_progress", "requires_action", "cancelling"]);
const FILE_SEARCH_CONTENT = "step_details.tool_calls[*].file_search.results[*].content";

// ------------------------------------------------------------------------ DOM helpers

const $ = (selector, root = document) => root.querySelector(selector);

/** h("div", {class: "x", onclick: fn}, child, ...): an element; null children are skipped. */
function h(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else if (name === "value")
      node.value = value; // a textarea's text is its value, not an attribute
    else if (name in node && typeof value !== "string") node[name] = value;
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

function formatTime(seconds) {
  return seconds ? new Date(seconds * 1000).toLocaleTimeString() : "–";
}

function formatDate(seconds) {
  return seconds
    ? new Date(seconds * 1000).toLocaleString([], { dateStyle: "short", timeStyle: "short" })
    : "";
}

function pretty(value) {
  if (typeof value !== "string") return JSON.stringify(value, null, 2);
  try {
    return JSON.stringify(JSON.parse(value), null, 2);
  } catch {
    return value;
  }
}

// ------------------------------------------------------------------------ errors

/** Show an error in the banner; errors of one action pile up (the cause stays visible). */
function showError(message) {
  const shown = $("#error").hidden ? [] : $("#error-text").textContent.split("\n");
  if (!shown.includes(message)) shown.push(message);
  $("#error-text").textContent = shown.slice(-3).join("\n");
  $("#error").hidden = false;
}

function clearError() {
  $("#error").hidden = true;
  $("#error-text").textContent = "";
}

/** Run an async UI action; any failure lands in the error banner, never as a frozen page. */
async function guarded(action) {
  try {
    return await action();
  } catch (error) {
    showError(error.message || String(error));
    return undefined;
  }
}

// ------------------------------------------------------------------------ the API key

const apiKey = {
  get: () => sessionStorage.getItem(KEY_NAME) ?? localStorage.getItem(KEY_NAME),
  set(key, remember) {
    sessionStorage.setItem(KEY_NAME, key);
    if (remember) localStorage.setItem(KEY_NAME, key);
    else localStorage.removeItem(KEY_NAME);
  },
};

function askForKey(message = "") {
  const dialog = $("#key-dialog");
  $("#key-message").textContent = message;
  $("#key-input").value = "";
  if (!dialog.open) dialog.showModal();
  $("#key-input").focus();
}

// ------------------------------------------------------------------------ the API client

class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

function headers() {
  const out = { "OpenAI-Beta": "assistants=v2" };
  const key = apiKey.get();
  if (key) out.Authorization = `Bearer ${key}`;
  return out;
}

/** The server's own words: the OpenAI error envelope's error.message. A 401 asks for a key. */
async function errorFrom(response) {
  let message = `${response.status} ${response.statusText}`;
  try {
    const body = await response.json();
    if (body?.error?.message) message = body.error.message;
  } catch {
    // not JSON: keep the status line
  }
  if (response.status === 401) askForKey(message);
  return new ApiError(message, response.status);
}

async function request(method, path, body) {
  const init = { method, headers: headers() };
  if (body instanceof FormData) {
    init.body = body;
  } else if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers["Content-Type"] = "application/json";
  }
  let response;
  try {
    response = await fetch(API + path, init);
  } catch (error) {
    $("#server-status").textContent = "unreachable";
    throw new ApiError(`The server cannot be reached (${error.message}).`, 0);
  }
  if (!response.ok) throw await errorFrom(response);
  return response;
}

const api = {
  get: async (path) => (await request("GET", path)).json(),
  post: async (path, body = {}) => (await request("POST", path, body)).json(),
  delete: async (path) => (await request("DELETE", path)).json(),
};

/** Parse a server-sent-events body into {event, data} frames as they arrive. */
async function* readEvents(response) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    buffer += done ? decoder.decode() : decoder.decode(value, { stream: true });
    // A trailing "\r" may be the first half of "\r\n": keep it for the next chunk.
    const held = !done && buffer.endsWith("\r") ? "\r" : "";
    const text = buffer.slice(0, buffer.length - held.length).replace(/\r\n?/g, "\n");
    const blocks = text.split("\n\n");
    buffer = (done ? "" : blocks.pop()) + held;
    for (const block of blocks) {
      let event = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (!line || line.startsWith(":")) continue; // comments are keep-alive pings
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        const content = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "event") event = content;
        else if (field === "data") data.push(content);
      }
      if (data.length) yield { event, data: data.join("\n") };
    }
    if (done) return;
  }
}

/** POST with "stream": true and hand each event to onEvent until "done". */
async function streamEvents(path, body, onEvent) {
  const response = await request("POST", path, { ...body, stream: true });
  for await (const { event, data } of readEvents(response)) {
    if (event === "done" || data === "[DONE]") return;
    onEvent(event, JSON.parse(data));
  }
}

const blobUrls = new Map();

/** A type the browser can show: the server sends application/octet-stream for every file. */
async function viewableType(blob) {
  if (blob.type && blob.type !== "application/octet-stream") return blob.type;
  const head = new Uint8Array(await blob.slice(0, 512).arrayBuffer());
  const starts = (...bytes) => bytes.every((b, i) => head[i] === b);
  if (starts(0x25, 0x50, 0x44, 0x46)) return "application/pdf"; // %PDF
  if (starts(0x89, 0x50, 0x4e, 0x47)) return "image/png";
  if (starts(0xff, 0xd8, 0xff)) return "image/jpeg";
  if (starts(0x47, 0x49, 0x46, 0x38)) return "image/gif";
  try {
    if (!head.includes(0)) new TextDecoder("utf-8", { fatal: true }).decode(head, { stream: true });
    return head.includes(0) ? blob.type : "text/plain;charset=utf-8";
  } catch {
    return blob.type; // binary: the browser offers a download
  }
}

/** A file's bytes as a blob: URL (fetched with the auth header, so <img src> can show it). */
function fileUrl(fileId) {
  if (!blobUrls.has(fileId)) {
    const url = request("GET", `/files/${fileId}/content`)
      .then((response) => response.blob())
      .then(async (blob) =>
        URL.createObjectURL(new Blob([blob], { type: await viewableType(blob) })),
      );
    url.catch(() => blobUrls.delete(fileId));
    blobUrls.set(fileId, url);
  }
  return blobUrls.get(fileId);
}

function imageOf(fileId) {
  const img = h("img", { class: "inline-image", alt: `image ${fileId}` });
  fileUrl(fileId).then(
    (url) => (img.src = url),
    (error) => img.replaceWith(h("span", { class: "error-text", text: error.message })),
  );
  return img;
}

/** A link that opens a file's content in a new tab (the bytes are fetched with the key). */
function fileLink(fileId, label) {
  return h("a", {
    href: "#",
    class: "file-link",
    text: label,
    title: fileId,
    onclick: (event) => {
      event.preventDefault();
      // Open the tab now, while the click allows pop-ups; point it at the file when it is here.
      const tab = window.open("", "_blank");
      fileUrl(fileId).then(
        (url) => tab && (tab.location.href = url),
        (error) => {
          tab?.close();
          showError(error.message);
        },
      );
    },
  });
}

// ------------------------------------------------------------------------ what the server has

const features = { files: false, upload: false, vectorStores: false };

/** Probe the optional endpoints once; the page hides what the server lacks. */
async function probeFeatures() {
  const answers = async (method, path, body) => {
    try {
      await request(method, path, body);
      return true;
    } catch (error) {
      // 400 = the route exists and rejected an empty upload; 404/405 = no such endpoint.
      return error.status === 400 || error.status === 422;
    }
  };
  features.files = await answers("GET", "/files?limit=1");
  features.vectorStores = await answers("GET", "/vector_stores?limit=1");
  features.upload = features.files && (await answers("POST", "/files", new FormData()));
  $("#files-link").hidden = !features.files;
  $("#vector-stores-link").hidden = !features.vectorStores;
  $("#storage-nav").hidden = !(features.files || features.vectorStores);
}

// ------------------------------------------------------------------------ threads kept locally

/** A short tag of the key (FNV-1a), so each key (project) has its own list of threads. */
function keyTag(key) {
  let hash = 0x811c9dc5;
  for (const ch of key || "") hash = Math.imul(hash ^ ch.codePointAt(0), 0x01000193) >>> 0;
  return key ? hash.toString(16) : "no-key";
}

// The API has no "list threads": the page remembers the threads it created or opened.
const threadBook = {
  storageName: () => `${THREADS_NAME}:${keyTag(apiKey.get())}`,
  all() {
    try {
      return JSON.parse(localStorage.getItem(this.storageName())) || [];
    } catch {
      return [];
    }
  },
  get(id) {
    return this.all().find((entry) => entry.id === id);
  },
  remember(id, fields = {}) {
    const rest = this.all().filter((entry) => entry.id !== id);
    const entry = { ...this.get(id), id, ...fields, used_at: Date.now() };
    localStorage.setItem(this.storageName(), JSON.stringify([entry, ...rest]));
    renderThreadList();
  },
  forget(id) {
    localStorage.setItem(this.storageName(), JSON.stringify(this.all().filter((e) => e.id !== id)));
    renderThreadList();
  },
};

// ------------------------------------------------------------------------ sidebar

let assistants = [];

async function loadAssistants() {
  const page = await api.get("/assistants?limit=100&order=desc");
  assistants = page.data;
  renderAssistantList();
  $("#server-status").textContent = `connected · ${API}`;
}

function assistantName(id) {
  const found = assistants.find((a) => a.id === id);
  return found ? found.name || found.id : id || "no assistant";
}

function renderAssistantList() {
  const list = $("#assistant-list");
  list.replaceChildren(
    ...assistants.map((a) =>
      h("li", { "data-id": a.id }, h("a", { href: `#/assistants/${a.id}`, text: a.name || a.id })),
    ),
  );
  if (!assistants.length) list.append(h("li", { class: "muted", text: "none yet" }));
}

function renderThreadList() {
  const list = $("#thread-list");
  const entries = threadBook.all();
  list.replaceChildren(
    ...entries.map((entry) =>
      h(
        "li",
        { "data-id": entry.id },
        h("a", { href: `#/threads/${entry.id}` }, entry.title || entry.id),
        h("div", {
          class: "muted small",
          text: `${assistantName(entry.assistant_id)} · ${formatDate(entry.created_at)}`,
        }),
      ),
    ),
  );
  if (!entries.length) list.append(h("li", { class: "muted", text: "none yet" }));
}

// ------------------------------------------------------------------------ assistant editor

function toolsFromForm(form) {
  const tools = [];
  if (form.elements.code_interpreter.checked) tools.push({ type: "code_interpreter" });
  if (form.elements.file_search.checked) tools.push({ type: "file_search" });
  const text = form.elements.functions.value.trim();
  if (text) {
    const parsed = parseJson(text, "Function tools");
    for (const item of Array.isArray(parsed) ? parsed : [parsed]) {
      tools.push(item.type === "function" ? item : { type: "function", function: item });
    }
  }
  return tools;
}

function responseFormatFromForm(form) {
  const kind = form.elements.response_format.value;
  if (kind === "auto") return "auto";
  if (kind !== "json_schema") return { type: kind };
  return {
    type: "json_schema",
    json_schema: parseJson(form.elements.json_schema.value, "JSON schema"),
  };
}

function hasKeys(value) {
  return !!value && Object.values(value).some((v) => v && Object.keys(v).length);
}

function parseJson(text, what) {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new Error(`${what}: not valid JSON (${error.message})`);
  }
}

function numberOrNull(input) {
  return input.value.trim() === "" ? null : Number(input.value);
}

function field(label, control, hint) {
  return h(
    "label",
    { class: "field" },
    h("span", { text: label }),
    control,
    hint && h("small", { class: "muted", text: hint }),
  );
}

function renderAssistantEditor(assistant) {
  const a = assistant || {
    name: "",
    model: "",
    instructions: "",
    tools: [],
    response_format: "auto",
  };
  const functions = a.tools.filter((t) => t.type === "function").map((t) => t.function);
  const format = a.response_format || "auto";
  const formatType = typeof format === "string" ? format : format.type;
  const form = h(
    "form",
    { id: "assistant-form", class: "card" },
    h("h2", { text: assistant ? `Assistant ${a.id}` : "New assistant" }),
    field("Name", h("input", { name: "name", value: a.name || "" })),
    field(
      "Model",
      h("input", { name: "model", value: a.model || "", required: true, placeholder: "gpt-4o" }),
      "A name (runs on the server's --model) or a spec the server allows (--allowed-models): openai:gpt-4.1-mini, ollama:qwen3, scripted:demo",
    ),
    field(
      "Instructions",
      h("textarea", { name: "instructions", rows: 4, value: a.instructions || "" }),
    ),
    h(
      "fieldset",
      {},
      h("legend", { text: "Tools" }),
      h(
        "label",
        {},
        h("input", {
          type: "checkbox",
          name: "code_interpreter",
          checked: a.tools.some((t) => t.type === "code_interpreter"),
        }),
        " code_interpreter",
      ),
      h(
        "label",
        {},
        h("input", {
          type: "checkbox",
          name: "file_search",
          checked: a.tools.some((t) => t.type === "file_search"),
        }),
        " file_search",
      ),
      field(
        "Function tools (JSON list of {name, description, parameters})",
        h("textarea", {
          name: "functions",
          rows: 5,
          class: "code",
          value: functions.length ? JSON.stringify(functions, null, 2) : "",
        }),
      ),
    ),
    h(
      "div",
      { class: "row" },
      field(
        "Temperature",
        h("input", {
          name: "temperature",
          type: "number",
          step: "0.1",
          value: a.temperature ?? "",
        }),
      ),
      field(
        "top_p",
        h("input", { name: "top_p", type: "number", step: "0.05", value: a.top_p ?? "" }),
      ),
      field(
        "Response format",
        h(
          "select",
          { name: "response_format" },
          ["auto", "text", "json_object", "json_schema"].map((v) =>
            h("option", { value: v, selected: v === formatType, text: v }),
          ),
        ),
      ),
    ),
    (features.files || features.vectorStores) &&
      field(
        "Tool resources (JSON)",
        h("textarea", {
          name: "tool_resources",
          rows: 3,
          class: "code",
          value: hasKeys(a.tool_resources) ? JSON.stringify(a.tool_resources, null, 2) : "",
        }),
        'e.g. {"file_search": {"vector_store_ids": ["vs_…"]}, "code_interpreter": {"file_ids": ["file-…"]}}',
      ),
    field(
      "JSON schema (for json_schema: {name, schema, strict})",
      h("textarea", {
        name: "json_schema",
        rows: 3,
        class: "code",
        value: format.json_schema ? JSON.stringify(format.json_schema, null, 2) : "",
      }),
    ),
    h(
      "div",
      { class: "actions" },
      h("button", { type: "submit", id: "save-assistant", text: assistant ? "Save" : "Create" }),
      assistant &&
        h("button", {
          type: "button",
          id: "chat-assistant",
          text: "New thread",
          onclick: () => newThread(a.id),
        }),
      assistant &&
        h("button", {
          type: "button",
          class: "danger",
          id: "delete-assistant",
          text: "Delete",
          onclick: () => deleteAssistant(a.id),
        }),
    ),
    h("p", { id: "assistant-saved", class: "muted" }),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    guarded(async () => {
      clearError();
      const body = {
        name: form.elements.name.value || null,
        model: form.elements.model.value,
        instructions: form.elements.instructions.value || null,
        tools: toolsFromForm(form),
        temperature: numberOrNull(form.elements.temperature),
        top_p: numberOrNull(form.elements.top_p),
        response_format: responseFormatFromForm(form),
      };
      const resources = form.elements.tool_resources?.value.trim();
      if (resources) body.tool_resources = parseJson(resources, "Tool resources");
      const saved = await api.post(assistant ? `/assistants/${a.id}` : "/assistants", body);
      await loadAssistants();
      if (assistant) {
        renderAssistantEditor(saved);
        $("#assistant-saved").textContent = `Saved at ${new Date().toLocaleTimeString()}.`;
      } else {
        location.hash = `#/assistants/${saved.id}`;
      }
    });
  });
  $("#view").replaceChildren(form);
}

async function deleteAssistant(id) {
  if (!confirm(`Delete assistant ${id}?`)) return;
  await guarded(async () => {
    await api.delete(`/assistants/${id}`);
    await loadAssistants();
    location.hash = "";
  });
}

// ------------------------------------------------------------------------ threads

async function newThread(assistantId) {
  await guarded(async () => {
    const thread = await api.post("/threads", { metadata: { source: "playground" } });
    threadBook.remember(thread.id, { assistant_id: assistantId, created_at: thread.created_at });
    location.hash = `#/threads/${thread.id}`;
  });
}

/** The page of one thread: messages, the composer, and the runs with their steps. */
class ThreadView {
  constructor(thread) {
    this.thread = thread;
    this.entry = threadBook.get(thread.id) || {};
    this.busy = false;
    this.liveRun = null;
    this.cards = new Map();
    this.messages = h("ol", { id: "messages", class: "messages" });
    this.actionArea = h("div", { id: "required-action" });
    this.runs = h("div", { id: "runs" });
    this.input = h("textarea", {
      id: "message-input",
      rows: 3,
      placeholder: "Message the assistant…",
    });
    this.attach = h("input", {
      id: "attach",
      type: "file",
      multiple: true,
      hidden: !features.upload,
    });
    this.send = h("button", { id: "send", type: "submit", text: "Send" });
    this.cancel = h("button", {
      id: "cancel-run",
      type: "button",
      class: "danger",
      text: "Cancel run",
      hidden: true,
      onclick: () => this.cancelRun(),
    });
    this.picker = h(
      "select",
      {
        id: "thread-assistant",
        onchange: () => threadBook.remember(thread.id, { assistant_id: this.picker.value }),
      },
      assistants.map((a) =>
        h("option", {
          value: a.id,
          selected: a.id === this.entry.assistant_id,
          text: a.name || a.id,
        }),
      ),
    );
    const composer = h(
      "form",
      { id: "composer", class: "composer" },
      this.input,
      h("div", { class: "actions" }, this.attach, this.send, this.cancel),
    );
    composer.addEventListener("submit", (event) => {
      event.preventDefault();
      this.sendMessage();
    });
    this.input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) composer.requestSubmit();
    });
    const head = h(
      "div",
      { class: "thread-head" },
      h("h2", {}, "Thread ", h("code", { id: "thread-id", text: thread.id })),
      h("label", {}, "Run with ", this.picker),
      h("button", {
        type: "button",
        text: "Forget",
        title: "Remove from this page's list",
        onclick: () => this.forget(),
      }),
    );
    const conversation = h(
      "section",
      { class: "conversation" },
      this.messages,
      this.actionArea,
      composer,
    );
    const side = h("aside", { class: "run-panel" }, h("h3", { text: "Runs" }), this.runs);
    $("#view").replaceChildren(
      h("div", { class: "thread" }, head, h("div", { class: "thread-body" }, conversation, side)),
    );
  }

  forget() {
    threadBook.forget(this.thread.id);
    location.hash = "";
  }

  async refresh() {
    const [messages, runs] = await Promise.all([
      api.get(`/threads/${this.thread.id}/messages?order=desc&limit=100`), // the newest 100
      api.get(`/threads/${this.thread.id}/runs?order=desc&limit=20`),
    ]);
    const ordered = messages.data.reverse();
    this.messages.replaceChildren(...ordered.map(renderMessage));
    this.cards = new Map(runs.data.map((run, i) => [run.id, new RunCard(this, run, i === 0)]));
    this.runs.replaceChildren(...[...this.cards.values()].map((card) => card.node));
    const latest = runs.data[0];
    this.showRequiredAction(latest && latest.status === "requires_action" ? latest : null);
    this.setBusy(false, latest && ACTIVE.has(latest.status) ? latest : null);
    const firstText = ordered.map(textOf).find(Boolean);
    if (firstText && !this.entry.title)
      threadBook.remember(this.thread.id, { title: firstText.slice(0, 60) });
    this.messages.lastElementChild?.scrollIntoView({ block: "end" });
  }

  setBusy(busy, activeRun) {
    this.busy = busy;
    this.send.disabled = busy;
    this.input.disabled = busy;
    this.activeRun = activeRun || null;
    this.cancel.hidden = !this.activeRun;
  }

  async sendMessage() {
    const text = this.input.value.trim();
    const assistantId = this.picker.value;
    if (!text || this.busy) return;
    if (!assistantId) return showError("Create an assistant first: a run needs one.");
    clearError();
    this.setBusy(true);
    try {
      const attachments = await this.uploadAttachments(assistantId);
      const message = await api.post(`/threads/${this.thread.id}/messages`, {
        role: "user",
        content: text,
        attachments,
      });
      this.input.value = "";
      this.attach.value = "";
      this.messages.append(renderMessage(message));
      threadBook.remember(this.thread.id, {
        assistant_id: assistantId,
        title: this.entry.title || text.slice(0, 60),
      });
      this.entry = threadBook.get(this.thread.id);
      await this.stream(`/threads/${this.thread.id}/runs`, { assistant_id: assistantId });
    } catch (error) {
      showError(error.message);
    } finally {
      await this.settle();
    }
  }

  async uploadAttachments(assistantId) {
    if (!features.upload || !this.attach.files.length) return undefined;
    const assistant = assistants.find((a) => a.id === assistantId);
    const hosted = (assistant?.tools || [])
      .filter((t) => t.type !== "function")
      .map((t) => ({ type: t.type }));
    const tools = hosted.length ? hosted : [{ type: "code_interpreter" }];
    const attachments = [];
    for (const file of this.attach.files) {
      const form = new FormData();
      form.append("purpose", "assistants");
      form.append("file", file);
      const uploaded = await api.post("/files", form);
      attachments.push({ file_id: uploaded.id, tools });
    }
    return attachments;
  }

  /** Stream a run (new or resumed): tokens, steps and status appear as they arrive. */
  async stream(path, body) {
    const live = { card: null, messages: new Map() };
    this.liveRun = live;
    await streamEvents(path, body, (event, data) => this.onEvent(live, event, data));
  }

  onEvent(live, event, data) {
    if (event === "error") {
      showError(data.message || data.error?.message || "The stream reported an error.");
    } else if (event.startsWith("thread.run.step.")) {
      live.card = live.card || this.cards.get(data.run_id); // deltas carry no run_id
      live.card?.onStepEvent(event, data);
    } else if (event.startsWith("thread.run.")) {
      live.card = live.card || this.cards.get(data.id);
      if (!live.card) {
        live.card = new RunCard(this, data, true);
        live.card.loaded = true; // a new run has no steps yet: they stream in
        this.cards.set(data.id, live.card);
        this.runs.prepend(live.card.node);
      }
      live.card.node.open = true;
      live.card.loadSteps(); // a resumed run's earlier steps (a no-op for a new run)
      live.card.update(data);
      this.setBusy(true, ACTIVE.has(data.status) ? data : null);
      if (data.status === "requires_action") this.showRequiredAction(data);
      if (data.status === "failed")
        showError(`Run failed: ${data.last_error?.message || "no reason given"}`);
    } else if (event === "thread.message.created") {
      const node = renderMessage(data);
      node.classList.add("streaming");
      live.messages.set(data.id, node);
      this.messages.append(node);
    } else if (event === "thread.message.delta") {
      const node = live.messages.get(data.id);
      if (node) appendDelta(node, data.delta);
      node?.scrollIntoView({ block: "end" });
    } else if (event === "thread.message.completed" || event === "thread.message.incomplete") {
      const node = live.messages.get(data.id);
      if (node) node.replaceWith(renderMessage(data));
      live.messages.delete(data.id);
    }
  }

  /** After a stream (or its failure): reload from the server, re-enable the composer. */
  async settle() {
    this.liveRun = null;
    await guarded(() => this.refresh());
    if (this.busy) this.setBusy(false, this.activeRun);
    this.input.focus();
  }

  showRequiredAction(run) {
    const shownFor = this.actionArea.dataset.runId;
    this.actionArea.dataset.runId = run ? run.id : "";
    if (!run) return this.actionArea.replaceChildren();
    if (shownFor === run.id) return; // keep what was typed already
    const calls = run.required_action?.submit_tool_outputs?.tool_calls || [];
    const form = h(
      "form",
      { class: "card tool-outputs", id: "tool-outputs-form" },
      h("h3", { text: "The run needs tool outputs" }),
      calls.map((call) =>
        h(
          "div",
          { class: "tool-call", "data-call-id": call.id },
          h("div", {}, h("code", { text: call.function.name }), " called with"),
          h("pre", { class: "code", text: pretty(call.function.arguments) }),
          h("textarea", {
            class: "tool-output",
            name: call.id,
            rows: 2,
            placeholder: `output of ${call.function.name}`,
          }),
        ),
      ),
      h(
        "div",
        { class: "actions" },
        h("button", { type: "submit", id: "submit-tool-outputs", text: "Submit outputs" }),
      ),
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const outputs = calls.map((call) => ({
        tool_call_id: call.id,
        output: form.elements[call.id].value,
      }));
      this.submitToolOutputs(run, outputs);
    });
    this.actionArea.replaceChildren(form);
  }

  async submitToolOutputs(run, outputs) {
    if (this.busy) return;
    clearError();
    this.setBusy(true, run);
    this.showRequiredAction(null);
    try {
      await this.stream(`/threads/${run.thread_id}/runs/${run.id}/submit_tool_outputs`, {
        tool_outputs: outputs,
      });
    } catch (error) {
      showError(error.message);
    } finally {
      await this.settle();
    }
  }

  async cancelRun() {
    const run = this.activeRun;
    if (!run) return;
    await guarded(async () => {
      const cancelled = await api.post(`/threads/${run.thread_id}/runs/${run.id}/cancel`);
      this.liveRun?.card?.update(cancelled);
      if (!this.liveRun) await this.refresh(); // a paused run has no stream to report it
    });
  }
}

async function openThread(id) {
  const thread = await api.get(`/threads/${id}`);
  if (!threadBook.get(id)) threadBook.remember(id, { created_at: thread.created_at });
  const view = new ThreadView(thread);
  await view.refresh();
}

// ------------------------------------------------------------------------ messages

function textOf(message) {
  return message.content
    .filter((b) => b.type === "text")
    .map((b) => b.text.value)
    .join("");
}

/** Text with its annotations as links: citations open the cited file, file paths download. */
function renderText(text) {
  const node = h("div", { class: "text" });
  let at = 0;
  const annotations = [...(text.annotations || [])].sort((x, y) => x.start_index - y.start_index);
  annotations.forEach((note, i) => {
    if (note.start_index < at) return;
    node.append(text.value.slice(at, note.start_index));
    if (note.type === "file_citation")
      node.append(fileLink(note.file_citation.file_id, `[${i + 1}]`));
    else if (note.type === "file_path")
      node.append(fileLink(note.file_path.file_id, note.text.split("/").pop()));
    else node.append(note.text);
    at = note.end_index;
  });
  node.append(text.value.slice(at));
  return node;
}

function renderBlock(block) {
  if (block.type === "text") return renderText(block.text);
  if (block.type === "image_file") return imageOf(block.image_file.file_id);
  if (block.type === "image_url")
    return h("img", { class: "inline-image", src: block.image_url.url, alt: "image" });
  if (block.type === "refusal") return h("div", { class: "error-text", text: block.refusal });
  return h("pre", { text: pretty(block) });
}

function renderMessage(message) {
  const attachments = (message.attachments || []).map((a) =>
    h("div", { class: "attachment small" }, "attached ", fileLink(a.file_id, a.file_id)),
  );
  const reason = message.incomplete_details?.reason;
  return h(
    "li",
    {
      class: `message role-${message.role}`,
      "data-message-id": message.id,
      "data-status": message.status,
    },
    h(
      "div",
      { class: "role" },
      message.role,
      reason && h("span", { class: "status status-failed", text: `incomplete: ${reason}` }),
    ),
    h("div", { class: "content" }, message.content.map(renderBlock)),
    attachments,
  );
}

/** Apply a thread.message.delta: text is appended to the block of the same index. */
function appendDelta(node, delta) {
  const content = node.querySelector(".content");
  for (const part of delta.content || []) {
    let block = content.children[part.index];
    if (part.type === "text") {
      if (!block || !block.classList.contains("text")) {
        block = h("div", { class: "text" });
        content.append(block);
      }
      block.append(part.text?.value || "");
    } else if (part.type === "image_file") {
      content.append(imageOf(part.image_file.file_id));
    }
  }
}

// ------------------------------------------------------------------------ runs and steps

/** One run: status, usage, timings; its steps load when opened (live ones stream in). */
class RunCard {
  constructor(view, run, open) {
    this.view = view;
    this.run = run;
    this.steps = new Map();
    this.stepList = h("ol", { class: "steps" });
    this.summary = h("summary");
    this.facts = h("dl", { class: "facts" });
    this.node = h(
      "details",
      { class: "run-card", "data-run-id": run.id, open },
      this.summary,
      this.facts,
      this.stepList,
    );
    this.loaded = false;
    this.node.addEventListener("toggle", () => this.node.open && this.loadSteps());
    this.update(run);
    if (open && !ACTIVE.has(run.status)) this.loadSteps();
  }

  update(run) {
    this.run = run;
    this.node.dataset.status = run.status;
    this.summary.replaceChildren(
      h("span", { class: `status status-${run.status}`, text: run.status }),
      " ",
      h("code", { text: run.id }),
    );
    const ended = run.completed_at || run.failed_at || run.cancelled_at;
    const usage = run.usage
      ? `${run.usage.prompt_tokens} prompt + ${run.usage.completion_tokens} completion = ${run.usage.total_tokens}`
      : "–";
    const facts = [
      ["assistant", assistantName(run.assistant_id)],
      ["model", run.model],
      ["usage", usage],
      ["created", formatTime(run.created_at)],
      ["started", formatTime(run.started_at)],
      ["ended", formatTime(ended)],
      ["duration", run.started_at && ended ? `${ended - run.started_at} s` : "–"],
    ];
    if (run.last_error) facts.push(["error", `${run.last_error.code}: ${run.last_error.message}`]);
    if (run.incomplete_details) facts.push(["incomplete", run.incomplete_details.reason]);
    this.facts.replaceChildren(
      ...facts.flatMap(([k, v]) => [
        h("dt", { text: k }),
        h("dd", { class: `fact-${k}`, text: v }),
      ]),
    );
  }

  async loadSteps() {
    if (this.loaded) return;
    this.loaded = true;
    await guarded(async () => {
      const query = `order=asc&limit=100&include[]=${encodeURIComponent(FILE_SEARCH_CONTENT)}`;
      const page = await api.get(
        `/threads/${this.run.thread_id}/runs/${this.run.id}/steps?${query}`,
      );
      // Steps the stream already showed are newer than this page: keep them.
      for (const step of page.data) if (!this.steps.has(step.id)) this.showStep(step);
    });
  }

  showStep(step) {
    const node = renderStep(step);
    const old = this.steps.get(step.id);
    if (old) old.node.replaceWith(node);
    else this.stepList.append(node);
    this.steps.set(step.id, { step, node });
  }

  onStepEvent(event, data) {
    if (event === "thread.run.step.delta") {
      const known = this.steps.get(data.id);
      if (known) this.showStep(mergeStepDelta(known.step, data.delta));
    } else {
      this.showStep(data);
    }
  }
}

/** Fold a thread.run.step.delta into the step: strings concatenate, outputs append. */
function mergeStepDelta(step, delta) {
  const merged = structuredClone(step);
  const calls = delta.step_details?.tool_calls;
  if (!calls || merged.step_details.type !== "tool_calls") return merged;
  const list = merged.step_details.tool_calls;
  for (const part of calls) {
    const current = list[part.index];
    if (!current) {
      list[part.index] = structuredClone(part);
      continue;
    }
    if (part.function) {
      current.function.name = current.function.name || part.function.name;
      current.function.arguments =
        (current.function.arguments || "") + (part.function.arguments || "");
      if (part.function.output != null) current.function.output = part.function.output;
    }
    if (part.code_interpreter) {
      const ci = current.code_interpreter;
      ci.input = (ci.input || "") + (part.code_interpreter.input || "");
      ci.outputs = [...(ci.outputs || []), ...(part.code_interpreter.outputs || [])];
    }
    if (part.file_search) current.file_search = { ...current.file_search, ...part.file_search };
  }
  return merged;
}

function renderStep(step) {
  const head = h(
    "div",
    { class: "step-head" },
    h("span", { class: `status status-${step.status}`, text: step.status }),
    ` ${step.type.replace("_", " ")}`,
  );
  const body = [];
  if (step.step_details.type === "message_creation") {
    body.push(
      h("div", {
        class: "muted small",
        text: `message ${step.step_details.message_creation.message_id}`,
      }),
    );
  } else {
    for (const call of step.step_details.tool_calls || []) body.push(renderToolCall(call));
  }
  if (step.last_error) body.push(h("div", { class: "error-text", text: step.last_error.message }));
  return h("li", { class: `step step-${step.type}`, "data-step-id": step.id }, head, body);
}

function renderToolCall(call) {
  if (call.type === "code_interpreter") {
    const ci = call.code_interpreter || {};
    return h(
      "div",
      { class: "tool-call code-interpreter" },
      h("div", { class: "label", text: "code_interpreter input" }),
      h("pre", { class: "code code-input", text: ci.input || "" }),
      (ci.outputs || []).map((out) =>
        out.type === "logs"
          ? h(
              "div",
              {},
              h("div", { class: "label", text: "logs" }),
              h("pre", { class: "code code-logs", text: out.logs }),
            )
          : imageOf(out.image.file_id),
      ),
    );
  }
  if (call.type === "file_search") {
    const results = call.file_search?.results || [];
    return h(
      "div",
      { class: "tool-call file-search" },
      h("div", { class: "label", text: `file_search: ${results.length} result(s)` }),
      call.file_search?.ranking_options &&
        h("div", {
          class: "muted small",
          text: `ranking ${JSON.stringify(call.file_search.ranking_options)}`,
        }),
      results.map((r) =>
        h(
          "div",
          { class: "search-result" },
          fileLink(r.file_id, r.file_name || r.file_id),
          ` score ${Number(r.score).toFixed(3)}`,
          (r.content || []).map((c) => h("pre", { class: "code", text: c.text })),
        ),
      ),
    );
  }
  const fn = call.function || {};
  return h(
    "div",
    { class: "tool-call function-call" },
    h("div", { class: "label" }, "function ", h("code", { text: fn.name || "" })),
    h("pre", { class: "code", text: pretty(fn.arguments || "") }),
    h("div", { class: "label", text: "output" }),
    h("pre", { class: "code function-output", text: fn.output ?? "(waiting for the output)" }),
  );
}

// ------------------------------------------------------------------------ files and vector stores

async function renderFiles() {
  const page = await api.get("/files?limit=100");
  const upload = h(
    "form",
    { id: "upload-form", class: "inline-form", hidden: !features.upload },
    h("input", { type: "file", name: "file", required: true }),
    h(
      "select",
      { name: "purpose" },
      ["assistants", "vision", "user_data"].map((p) => h("option", { value: p, text: p })),
    ),
    h("button", { type: "submit", text: "Upload" }),
  );
  upload.addEventListener("submit", (event) => {
    event.preventDefault();
    guarded(async () => {
      const form = new FormData(upload);
      await api.post("/files", form);
      await renderFiles();
    });
  });
  const rows = page.data.map((f) =>
    h(
      "tr",
      { "data-id": f.id },
      h("td", {}, fileLink(f.id, f.filename)),
      h("td", { text: f.purpose }),
      h("td", { text: `${f.bytes} B` }),
      h("td", { text: f.status || "" }),
      h("td", { text: formatTime(f.created_at) }),
      h(
        "td",
        {},
        h("button", {
          class: "danger",
          text: "Delete",
          onclick: () =>
            guarded(async () => {
              await api.delete(`/files/${f.id}`);
              await renderFiles();
            }),
        }),
      ),
    ),
  );
  $("#view").replaceChildren(
    h(
      "section",
      { class: "card", id: "files-view" },
      h("h2", { text: "Files" }),
      upload,
      h(
        "table",
        {},
        h(
          "tr",
          {},
          ["file", "purpose", "size", "status", "created", ""].map((t) => h("th", { text: t })),
        ),
        rows,
      ),
      !rows.length && h("p", { class: "muted", text: "No files yet." }),
    ),
  );
}

async function renderVectorStores() {
  const page = await api.get("/vector_stores?limit=100");
  const files = features.files ? (await api.get("/files?limit=100")).data : [];
  const names = new Map(files.map((f) => [f.id, f.filename]));
  const create = h(
    "form",
    { id: "vector-store-form", class: "inline-form" },
    h("input", { name: "name", placeholder: "name" }),
    h(
      "select",
      { name: "file_ids", multiple: true, title: "files to add" },
      files.map((f) => h("option", { value: f.id, text: f.filename })),
    ),
    h("button", { type: "submit", text: "Create" }),
  );
  create.addEventListener("submit", (event) => {
    event.preventDefault();
    guarded(async () => {
      const fileIds = [...create.elements.file_ids.selectedOptions].map((o) => o.value);
      await api.post("/vector_stores", {
        name: create.elements.name.value || null,
        file_ids: fileIds,
      });
      await renderVectorStores();
    });
  });
  const stores = page.data.map((store) => {
    const detail = h("ul", { class: "muted small" });
    const counts = store.file_counts || {};
    return h(
      "details",
      {
        class: "card",
        "data-id": store.id,
        ontoggle: (event) =>
          event.target.open &&
          guarded(async () => {
            const list = await api.get(`/vector_stores/${store.id}/files?limit=100`);
            detail.replaceChildren(
              ...list.data.map((f) =>
                h(
                  "li",
                  {},
                  fileLink(f.id, names.get(f.id) || f.id),
                  ` ${f.status}`,
                  f.last_error ? ` (${f.last_error.message})` : "",
                ),
              ),
            );
          }),
      },
      h(
        "summary",
        {},
        h("span", { class: `status status-${store.status}`, text: store.status }),
        ` ${store.name || store.id} · ${counts.completed ?? 0}/${counts.total ?? 0} files ingested,`,
        ` ${counts.in_progress ?? 0} in progress, ${counts.failed ?? 0} failed`,
      ),
      detail,
      h("button", {
        class: "danger",
        text: "Delete",
        onclick: () =>
          guarded(async () => {
            await api.delete(`/vector_stores/${store.id}`);
            await renderVectorStores();
          }),
      }),
    );
  });
  $("#view").replaceChildren(
    h(
      "section",
      { id: "vector-stores-view" },
      h("h2", { text: "Vector stores" }),
      create,
      h("button", {
        id: "refresh-vector-stores",
        text: "Refresh",
        onclick: () => guarded(renderVectorStores),
      }),
      stores,
    ),
  );
}

// ------------------------------------------------------------------------ routing and start-up

async function route() {
  const [, kind, id] = location.hash.split("/");
  await guarded(async () => {
    if (kind === "assistants" && id === "new") renderAssistantEditor(null);
    else if (kind === "assistants" && id) renderAssistantEditor(await api.get(`/assistants/${id}`));
    else if (kind === "threads" && id) await openThread(id);
    else if (kind === "files" && features.files) await renderFiles();
    else if (kind === "vector_stores" && features.vectorStores) await renderVectorStores();
    else if (!assistants.length) renderAssistantEditor(null);
    else
      $("#view").replaceChildren(
        h("p", { class: "muted", text: "Pick an assistant or a thread, or create one." }),
      );
  });
}

async function start() {
  clearError();
  const ok = await guarded(async () => {
    await loadAssistants();
    return true;
  });
  if (!ok) return; // a 401 opened the key prompt; start() runs again with the key
  await probeFeatures();
  renderThreadList();
  await route();
}

function wire() {
  $("#error-close").addEventListener("click", clearError);
  $("#key-button").addEventListener("click", () => askForKey());
  $("#key-form").addEventListener("submit", () => {
    const key = $("#key-input").value.trim();
    // Another key may be another project: what is on screen may not be its to see.
    if (apiKey.get() && key !== apiKey.get()) history.replaceState(null, "", location.pathname);
    apiKey.set(key, $("#key-remember").checked);
    start();
  });
  $("#new-assistant").addEventListener("click", () => {
    location.hash = "#/assistants/new";
    renderAssistantEditor(null);
  });
  $("#new-thread").addEventListener("click", () => {
    const [, kind, id] = location.hash.split("/");
    newThread(kind === "assistants" && id !== "new" ? id : assistants[0]?.id);
  });
  $("#open-thread").addEventListener("submit", (event) => {
    event.preventDefault();
    const id = $("#open-thread-id").value.trim();
    if (!id) return;
    clearError();
    guarded(async () => {
      await openThread(id); // an unknown id shows the server's 404 message
      $("#open-thread-id").value = "";
      history.replaceState(null, "", `#/threads/${id}`);
    });
  });
  window.addEventListener("hashchange", route);
}

wire();
start();
