// The annotation tool: entity spans (select text, press a type's key), adjudication (versions side by
// side, one final answer) and classification (choose a class). Plain JavaScript, no build step.
// Every piece of task data reaches the page through textContent or attributes, never an HTML sink.
// Offsets count code points (as Python's str and Comprehend do), not UTF-16 units.
"use strict";

const PALETTE = ["#0972d3", "#d45b07", "#037f0c", "#b3261e", "#7d3cb5", "#00819e", "#a0770a", "#c33d69", "#5f6b7a"];
const state = { worker: "", task: null, items: [], active: 0, tasks: [] };
// Inside the A2I worker template (review/annotation-worker-template.liquid.html) the task comes from the
// page (#task-input's data-input: task.input as JSON) and the answer goes to crowd-form's hidden field.
const EMBEDDED = () => document.getElementById("task-input") !== null;

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key === "text") node.textContent = value;
    else if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "style") for (const [p, v] of Object.entries(value)) node.style.setProperty(p, v);
    else node.setAttribute(key, value);
  }
  for (const child of children) if (child != null) node.append(child);
  return node;
}

async function api(path, options) {
  const response = await fetch(path, options);
  let body = {};
  try { body = await response.json(); } catch (e) { body = { message: response.statusText }; }
  if (!response.ok) {
    const error = new Error(body.message || `HTTP ${response.status}`);
    error.status = response.status;
    throw error;
  }
  return body;
}

function say(text) {
  const box = document.getElementById("message");
  box.textContent = text; box.hidden = !text;
}
function complain(text) {
  const box = document.getElementById("error");
  box.textContent = text; box.hidden = !text;
}

// --- task list and quality table -------------------------------------------------------------------
async function loadTasks() {
  const list = document.getElementById("tasks");
  if (!state.worker) { list.replaceChildren(el("li", { class: "hint", text: "Name yourself to see your tasks." })); return; }
  const data = await api(`/annotate/api/tasks?worker=${encodeURIComponent(state.worker)}`);
  state.tasks = data.tasks;
  list.replaceChildren(...data.tasks.map(t => el("li", {},
    el("button", { type: "button", "data-task": t.name, class: state.task && state.task.name === t.name ? "current" : "",
                   onclick: () => openTask(t.name) },
       t.name, el("span", { class: "kind", text: `${t.kind} \u00b7 ${t.items} item${t.items === 1 ? "" : "s"} \u00b7 ${t.answeredBy.length}/${t.required} answered` })))));
  if (!data.tasks.length) list.replaceChildren(el("li", { class: "hint", text: "Nothing waiting for you." }));
}

async function loadQuality() {
  const data = await api("/annotate/api/quality");
  const body = document.querySelector("#quality tbody");
  body.replaceChildren(...data.annotators.map(a => el("tr", { class: a.held ? "held" : "", "data-worker": a.worker },
    el("td", { text: a.worker + (a.held ? " (held)" : "") }),
    el("td", { text: a.gold_accuracy == null ? "\u2013" : a.gold_accuracy.toFixed(2) }),
    el("td", { text: String(a.gold_answers) }), el("td", { text: String(a.documents) }),
    el("td", { text: a.agreement_f1 == null ? "\u2013" : a.agreement_f1.toFixed(2) }),
    el("td", { text: a.agreement_kappa == null ? "\u2013" : a.agreement_kappa.toFixed(2) }))));
  document.getElementById("quality-note").textContent =
    `Gold accuracy: mean span F1 on gold documents; agree F1 and kappa: against the co-annotators of each document. Below ${data.threshold} after ${data.minGold} gold answers, an annotator's work is held for adjudication.`;
}

// --- one task ------------------------------------------------------------------------------------------
async function openTask(name) {
  complain(""); say("");
  showTask(await api(`/annotate/api/tasks/${encodeURIComponent(name)}`));
}

function showTask(task) {
  task.opened = Date.now();
  state.task = task; state.active = 0;
  const input = task.input || {};
  const types = Array.isArray(input.types) ? input.types.map(String) : [];
  state.types = types;
  state.items = (input.items || []).map(item => ({
    id: String(item.id), text: String(item.text ?? ""), chars: Array.from(String(item.text ?? "")),
    spans: task.kind === "adjudication" ? agreedSpans(item) : (item.entities || []).map(spanOf).filter(Boolean).map(s => ({ ...s, model: true })),
    versions: item.versions || [], agreement: item.agreement, reason: item.reason,
    scores: item.scores || [], label: null, selected: -1, pending: null,
  }));
  const section = document.getElementById("task");
  const box = el("div", { class: "task", "data-loop": task.name, "data-kind": task.kind },
    el("h2", { text: task.name }),
    el("p", { class: "hint", text: hintFor(task) }));
  if (task.kind !== "classifier") box.append(typeButtons(types), guidelines(input.guidelines, types));
  state.items.forEach((item, index) => box.append(task.kind === "classifier" ? classifierItem(item, index, input) : entityItem(item, index, task.kind)));
  if (!EMBEDDED()) box.append(el("div", { class: "actions" },
    el("button", { type: "button", class: "accept", onclick: submit }, task.kind === "adjudication" ? "Accept final version" : "Accept document"),
    el("span", { class: "hint", text: "Ctrl+Enter accepts." })));
  section.replaceChildren(box);
  document.querySelectorAll("#tasks button").forEach(b => b.classList.toggle("current", b.dataset.task === task.name));
}

function hintFor(task) {
  if (task.kind === "classifier") return "Choose a class for each text (keys 1-9 choose for the first unanswered one).";
  const how = "Select text, then press a type's key (1-9 or its initial) or click the type. Click a span to select it: Delete removes it, a type key retypes it, Shift+\u2190/\u2192 moves its end, Alt+\u2190/\u2192 its start.";
  return task.kind === "adjudication" ? `Adjudication: the annotators disagreed. Compare their versions, then edit the final answer. ${how}` : how;
}

function spanOf(raw) {
  if (!raw || !Number.isInteger(raw.BeginOffset) || !Number.isInteger(raw.EndOffset) || typeof raw.Type !== "string") return null;
  return { b: raw.BeginOffset, e: raw.EndOffset, t: raw.Type };
}

function agreedSpans(item) {
  // The final answer starts from what every trusted version shares.
  const trusted = (item.versions || []).filter(v => !v.held);
  const versions = (trusted.length ? trusted : item.versions || []).map(v => (v.entities || []).map(spanOf).filter(Boolean));
  if (!versions.length) return [];
  const key = s => `${s.b}:${s.e}:${s.t}`;
  return versions[0].filter(s => versions.every(v => v.some(o => key(o) === key(s))));
}

function colorOf(type) {
  const index = state.types.indexOf(type);
  return PALETTE[(index >= 0 ? index : state.types.length) % PALETTE.length];
}

function shortcutOf(index) { return index < 9 ? String(index + 1) : ""; }

function typeButtons(types) {
  return el("div", { class: "types", role: "toolbar", "aria-label": "entity types" },
    ...types.map((type, index) => el("button", { type: "button", "data-type": type, style: { "--c": colorOf(type) },
      title: `key ${shortcutOf(index)} or ${type[0]}`, onclick: () => applyType(type) },
      el("kbd", { text: shortcutOf(index) || type[0] }), type)));
}

function guidelines(raw, types) {
  if (!raw || typeof raw !== "object") return el("span");
  const rows = types.filter(t => typeof raw[t] === "string").map(t =>
    el("div", {}, el("dt", { text: t }), el("dd", { text: raw[t] })));
  return rows.length ? el("dl", { class: "guidelines", "aria-label": "guidelines" }, ...rows) : el("span");
}

// --- entity items ------------------------------------------------------------------------------------
function entityItem(item, index, kind) {
  const box = el("div", { class: "item", "data-item": item.id });
  box.append(el("h3", { text: `item ${index + 1} of ${state.items.length} \u00b7 id ${item.id}${item.reason ? " \u00b7 " + item.reason : ""}` }));
  if (kind === "adjudication") {
    if (item.agreement) box.append(el("p", { class: "figures", text: `span F1 ${Number(item.agreement.span_f1).toFixed(2)} \u00b7 kappa ${Number(item.agreement.kappa).toFixed(2)}` }));
    box.append(el("div", { class: "versions" }, ...item.versions.map(v => {
      const spans = (v.entities || []).map(spanOf).filter(Boolean);
      const text = el("div", { class: "text" });
      renderSpans(text, item.chars, spans, -1, null);
      return el("div", { class: "version" + (v.held ? " held" : ""), "data-worker": String(v.worker) },
        el("h4", {}, el("span", { text: String(v.worker) }), v.held ? el("span", { class: "badge", text: "held" }) : null,
          el("button", { type: "button", onclick: () => { item.spans = spans.map(s => ({ ...s })); item.selected = -1; item.pending = null; redraw(index); } }, "Use this version")),
        text);
    })));
    box.append(el("div", { class: "final-label", text: "Final answer" }));
  }
  const text = el("div", { class: "text editable", "data-role": "editor", tabindex: "0" });
  text.addEventListener("mouseup", () => selectionMade(index, text));
  text.addEventListener("click", event => {
    const mark = event.target.closest("mark.ent");
    if (mark && window.getSelection().isCollapsed) { item.selected = Number(mark.dataset.index); item.pending = null; state.active = index; redraw(index); }
  });
  box.append(text, el("div", { class: "spanbar", "data-role": "spanbar" }));
  item.box = box;
  redraw(index);
  return box;
}

function renderSpans(container, chars, spans, selected, pending) {
  const marks = spans.map((s, i) => ({ ...s, i })).sort((a, b) => a.b - b.b);
  if (pending) marks.push({ b: pending.b, e: pending.e, pending: true });
  marks.sort((a, b) => a.b - b.b);
  const parts = [];
  let at = 0;
  for (const m of marks) {
    if (m.b > at) parts.push(document.createTextNode(chars.slice(at, m.b).join("")));
    const text = chars.slice(m.b, m.e).join("");
    if (m.pending) parts.push(el("span", { class: "pending", text }));
    else parts.push(el("mark", { class: "ent" + (m.i === selected ? " selected" : "") + (m.model ? " model" : ""),
      "data-index": String(m.i), "data-type": m.t, "data-begin": String(m.b), "data-end": String(m.e), style: { "--c": colorOf(m.t) }, text }));
    at = Math.max(at, m.e);
  }
  if (at < chars.length) parts.push(document.createTextNode(chars.slice(at).join("")));
  container.replaceChildren(...parts);
}

function redraw(index) {
  const item = state.items[index];
  if (!item.box) return;
  if (EMBEDDED()) fillAnswerField();
  renderSpans(item.box.querySelector("[data-role=editor]"), item.chars, item.spans, item.selected, item.pending);
  const bar = item.box.querySelector("[data-role=spanbar]");
  const parts = [];
  if (item.pending) parts.push(el("span", { text: `Selected \u201c${item.chars.slice(item.pending.b, item.pending.e).join("")}\u201d: press a type's key or click a type.` }));
  else if (item.selected >= 0) {
    const s = item.spans[item.selected];
    const move = (db, de) => () => resize(index, db, de);
    parts.push(el("span", { text: `${s.t} \u201c${item.chars.slice(s.b, s.e).join("")}\u201d (${s.b}-${s.e})` }),
      el("button", { type: "button", title: "start earlier (Alt+\u2190)", onclick: move(-1, 0) }, "\u25c0 start"),
      el("button", { type: "button", title: "start later (Alt+\u2192)", onclick: move(1, 0) }, "start \u25b6"),
      el("button", { type: "button", title: "end earlier (Shift+\u2190)", onclick: move(0, -1) }, "\u25c0 end"),
      el("button", { type: "button", title: "end later (Shift+\u2192)", onclick: move(0, 1) }, "end \u25b6"),
      el("button", { type: "button", title: "Delete", onclick: () => removeSpan(index) }, "delete"));
  } else parts.push(el("span", { class: "hint", text: `${item.spans.length} span${item.spans.length === 1 ? "" : "s"}` }));
  bar.replaceChildren(...parts);
}

function codePoints(text) { return Array.from(text).length; }

function selectionMade(index, container) {
  const selection = window.getSelection();
  if (!selection.rangeCount || selection.isCollapsed) return;
  const range = selection.getRangeAt(0);
  if (!container.contains(range.startContainer) || !container.contains(range.endContainer)) return;
  const before = document.createRange();
  before.setStart(container, 0);
  before.setEnd(range.startContainer, range.startOffset);
  const item = state.items[index];
  let b = codePoints(before.toString());
  let e = b + codePoints(range.toString());
  while (b < e && /\s/.test(item.chars[b])) b++;
  while (e > b && /\s/.test(item.chars[e - 1])) e--;
  selection.removeAllRanges();
  state.active = index;
  if (b >= e) return;
  if (item.spans.some(s => s.b < e && b < s.e)) { complain(`The selection ${b}-${e} overlaps a span: delete or resize that span first.`); return; }
  complain("");
  item.pending = { b, e }; item.selected = -1;
  redraw(index);
}

function applyType(type) {
  const item = state.items[state.active];
  if (!item || !state.types.includes(type)) return;
  if (item.pending) {
    item.spans.push({ b: item.pending.b, e: item.pending.e, t: type });
    item.spans.sort((x, y) => x.b - y.b);
    item.selected = item.spans.findIndex(s => s.b === item.pending.b);
    item.pending = null;
  } else if (item.selected >= 0) {
    item.spans[item.selected] = { ...item.spans[item.selected], t: type, model: false };
  } else return;
  redraw(state.active);
}

function resize(index, db, de) {
  const item = state.items[index];
  const s = item.spans[item.selected];
  if (!s) return;
  const b = s.b + db, e = s.e + de;
  const clash = item.spans.some((o, i) => i !== item.selected && o.b < e && b < o.e);
  if (b < 0 || e > item.chars.length || b >= e || clash) return;
  item.spans[item.selected] = { ...s, b, e, model: false };
  state.active = index;
  redraw(index);
}

function removeSpan(index) {
  const item = state.items[index];
  if (item.selected < 0) return;
  item.spans.splice(item.selected, 1);
  item.selected = -1;
  redraw(index);
}

function typeForKey(key) {
  if (/^[1-9]$/.test(key)) return state.types[Number(key) - 1];
  if (/^[a-z]$/i.test(key)) return state.types.find(t => t[0].toLowerCase() === key.toLowerCase());
  return undefined;
}

document.addEventListener("keydown", event => {
  if (!state.task) return;
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) { event.preventDefault(); submit(); return; }
  if (event.target instanceof HTMLInputElement) return;
  if (state.task.kind === "classifier") {
    const labels = (state.task.input.labels || []).map(String);
    const index = /^[1-9]$/.test(event.key) ? Number(event.key) - 1 : -1;
    const item = state.items.find(i => i.label === null);
    if (item && index >= 0 && index < labels.length) { choose(item, labels[index]); event.preventDefault(); }
    return;
  }
  const item = state.items[state.active];
  if (!item) return;
  if (event.key === "Escape") { item.pending = null; item.selected = -1; redraw(state.active); return; }
  if ((event.key === "Delete" || event.key === "Backspace") && item.selected >= 0) { removeSpan(state.active); event.preventDefault(); return; }
  if ((event.key === "ArrowLeft" || event.key === "ArrowRight") && item.selected >= 0 && (event.shiftKey || event.altKey)) {
    const step = event.key === "ArrowLeft" ? -1 : 1;
    resize(state.active, event.altKey ? step : 0, event.altKey ? 0 : step);
    event.preventDefault();
    return;
  }
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  const type = typeForKey(event.key);
  if (type && (item.pending || item.selected >= 0)) { applyType(type); event.preventDefault(); }
});

// --- classifier items ----------------------------------------------------------------------------------
function classifierItem(item, index, input) {
  const labels = (input.labels || []).map(String);
  const box = el("div", { class: "item", "data-item": item.id },
    el("h3", { text: `item ${index + 1} of ${state.items.length} \u00b7 id ${item.id}` }),
    el("div", { class: "text", text: item.text }));
  if (item.scores.length) box.append(el("ul", { class: "scores", "aria-label": "model scores" },
    ...item.scores.slice(0, 5).map(s => el("li", { text: `${String(s.Name)}: ${Number(s.Score).toFixed(3)}` }))));
  const name = `label-${item.id}`;
  box.append(el("div", { class: "choices", role: "radiogroup" }, ...labels.map((label, i) =>
    el("label", {}, el("input", { type: "radio", name, value: label, onchange: () => { item.label = label; } }), ` ${shortcutOf(i) ? shortcutOf(i) + " \u00b7 " : ""}${label}`))));
  item.box = box;
  return box;
}

function choose(item, label) {
  item.label = label;
  if (EMBEDDED()) fillAnswerField();
  for (const radio of item.box.querySelectorAll("input[type=radio]")) radio.checked = radio.value === label;
}

// --- submit ----------------------------------------------------------------------------------------------
function collectAnswers(task) {
  const answers = {};
  for (const item of state.items) {
    if (task.kind === "classifier") {
      if (item.label === null) { complain(`Choose a class for item ${item.id}.`); return null; }
      answers[item.id] = item.label;
    } else {
      answers[item.id] = item.spans.map(s => ({ BeginOffset: s.b, EndOffset: s.e, Type: s.t }));
    }
  }
  return answers;
}

function fillAnswerField() {
  // A2I's answerContent gets {"entities": "<JSON of {item id: spans}>"} from this hidden field.
  const field = document.getElementById("answer-field");
  const answers = state.task && state.task.kind !== "classifier" ? collectAnswers(state.task) : null;
  if (field && answers) field.value = JSON.stringify(answers);
}

async function submit() {
  const task = state.task;
  if (!task || EMBEDDED()) return;
  if (!state.worker) { complain("Name yourself (Annotator, top of the page) before you submit."); return; }
  const answers = collectAnswers(task);
  if (!answers) return;
  try {
    const result = await api(`/annotate/api/tasks/${encodeURIComponent(task.name)}`, {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ worker: state.worker, answers, opened: task.opened }),
    });
    complain("");
    say(result.status === "Completed" ? `Submitted ${task.name}: the loop is complete.` : `Submitted ${task.name}: waiting for the other annotator(s).`);
    state.task = null;
    document.getElementById("task").replaceChildren(el("p", { class: "hint", text: "Pick the next task." }));
  } catch (error) {
    say("");
    complain(error.status === 409 ? `Conflict: ${error.message}` : `Not recorded: ${error.message}`);
  }
  await Promise.all([loadTasks(), loadQuality()]).catch(error => complain(String(error.message)));
}

// --- start --------------------------------------------------------------------------------------------
document.addEventListener("DOMContentLoaded", () => {
  const embedded = document.getElementById("task-input");
  if (embedded) {
    const input = JSON.parse(embedded.dataset.input);
    const kind = ["entities", "adjudication"].includes(input.kind) ? input.kind : "classifier";
    showTask({ name: embedded.dataset.name || "task", kind, input });
    fillAnswerField();
    return;
  }
  const input = document.getElementById("worker");
  const fromUrl = new URLSearchParams(location.search).get("worker");
  state.worker = (fromUrl || localStorage.getItem("annotate.worker") || "").trim();
  input.value = state.worker;
  input.addEventListener("change", () => {
    state.worker = input.value.trim();
    localStorage.setItem("annotate.worker", state.worker);
    loadTasks().catch(error => complain(error.message));
  });
  document.getElementById("refresh").addEventListener("click", () => loadTasks().catch(error => complain(error.message)));
  Promise.all([loadTasks(), loadQuality()]).catch(error => complain(String(error.message)));
});
