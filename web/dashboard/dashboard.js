// The offline dashboard: renders window.DASHBOARD (local/dashboard.py) with Chart.js.
"use strict";

const DATA = window.DASHBOARD || { models: [], datasets: [], drift: [], active: {} };
const KINDS = { classifier: "classifier", entity_recognizer: "entity recognizer" };
const COLOURS = { promote: "#1e8e3e", reject: "#c5221f", other: "#8a96a3", live: "#1a73e8", base: "#9aa5b1" };
const DRIFT_THRESHOLD = 0.2; // the template's DriftAlarmThreshold default

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) {
    node.append(child instanceof Node ? child : document.createTextNode(child == null ? "" : String(child)));
  }
  return node;
}

const fmt = (value, digits = 3) =>
  typeof value === "number" && Number.isFinite(value) ? value.toFixed(digits) : "–";
const short = (version) => (version || "").replace(/^v(\d{8})-(\d{6})-.*$/, "$1-$2");
const selection = () => DATA.selection_metric || "F1Score";

function decision(model) {
  const d = (model.selection || {}).decision;
  if (d === "promote" || d === "reject") return d;
  return "other";
}

function scoreOf(model) {
  const evaluations = model.evaluations || {};
  const metrics = evaluations[model.test_version] || Object.values(evaluations)[0] || {};
  const value = metrics[selection()];
  return typeof value === "number" ? value : null; // 1 (an int in JSON) is a number like 0.93
}

function chart(id, config) {
  const canvas = document.getElementById(id);
  if (!canvas) return null;
  config.options = Object.assign({ responsive: true, maintainAspectRatio: false, animation: false }, config.options);
  return new Chart(canvas, config);
}

// --- cards ------------------------------------------------------------------------------------------
function cards() {
  const monitor = DATA.monitor || {};
  const drift = monitor.drift || (DATA.drift.length ? DATA.drift[DATA.drift.length - 1] : null);
  const items = [];
  for (const kind of Object.keys(KINDS)) {
    items.push([`active ${KINDS[kind]}`, short(DATA.active[kind]) || "none"]);
  }
  for (const figure of monitor.kinds || []) {
    items.push([`${KINDS[figure.kind]} endpoint`, `${figure.inference_units} IU · $${fmt(figure.cost_per_day, 2)}/day`]);
  }
  const score = drift ? drift.drift_score : null;
  items.push(["drift score (PSI)", fmt(score), score != null && score > DRIFT_THRESHOLD]);
  items.push(["live accuracy", monitor.live_accuracy == null ? "–" : fmt(monitor.live_accuracy, 2)]);
  items.push(["open reviews", monitor.open_reviews == null ? "–" : monitor.open_reviews]);
  const box = document.getElementById("cards");
  for (const [label, value, alarm] of items) {
    box.append(el("div", { class: "card" }, el("div", { class: "label" }, label),
      el("div", { class: alarm ? "value alarm" : "value" }, value)));
  }
}

// --- metric per version, one chart per kind ---------------------------------------------------------------
function metricCharts() {
  for (const kind of Object.keys(KINDS)) {
    const models = DATA.models.filter((m) => m.kind === kind && scoreOf(m) !== null);
    const colours = models.map((m) => COLOURS[decision(m)]);
    chart(`metric-${kind}`, {
      type: "line",
      data: {
        labels: models.map((m) => short(m.version)),
        datasets: [{
          label: `${KINDS[kind]}: ${selection()}`,
          data: models.map(scoreOf),
          borderColor: COLOURS.live,
          pointBackgroundColor: colours,
          pointBorderColor: colours,
          pointRadius: 6,
          tension: 0,
        }],
      },
      options: {
        plugins: {
          title: { display: true, text: `${KINDS[kind]} (${models.length} versions)` },
          tooltip: { callbacks: { afterLabel: (ctx) => decision(models[ctx.dataIndex]) } },
        },
        scales: { y: { min: 0, max: 1 } },
      },
    });
  }
}

// --- registry and lineage --------------------------------------------------------------------------------
function registry() {
  const datasets = Object.fromEntries(DATA.datasets.map((d) => [`${d.kind}/${d.version}`, d]));
  const table = document.getElementById("registry");
  table.append(el("tr", {}, ...["kind", "version", "status", "decision", selection(), "dataset (parent)",
    "documents", "uploads", "endpoint"].map((h) => el("th", {}, h))));
  for (const model of DATA.models) {
    const dataset = datasets[`${model.kind}/${model.dataset_version}`] || {};
    const uploads = (dataset.uploads || []).map((u) => u.split("/").filter(Boolean).pop()).join(", ");
    const status = model.status || "";
    table.append(el("tr", {},
      el("td", {}, KINDS[model.kind] || model.kind),
      el("td", {}, short(model.version)),
      el("td", {}, el("span", { class: `badge ${status}` }, status)),
      el("td", {}, el("span", { class: `badge ${decision(model)}` }, (model.selection || {}).decision || "–")),
      el("td", { class: "num" }, fmt(scoreOf(model))),
      el("td", {}, `${short(model.dataset_version)}${dataset.parent ? ` ← ${short(dataset.parent)}` : ""}`),
      el("td", { class: "num" }, dataset.documents ?? model.dataset_documents ?? "–"),
      el("td", {}, uploads || "–"),
      el("td", {}, (model.endpoint_arn || "–").split("/").pop())));
  }
}

// --- confusion matrices and per-label metrics --------------------------------------------------------------
function evaluationOf(model) {
  if (!model) return null;
  const evaluations = model.evaluations || {};
  return evaluations[model.test_version] || Object.values(evaluations)[0] || null;
}

function confusion(targetId, titleId, model, title) {
  const box = document.getElementById(targetId);
  const metrics = evaluationOf(model);
  const matrix = metrics && metrics.confusion_matrix;
  document.getElementById(titleId).textContent = model ? `${title}: ${short(model.version)}` : title;
  if (!matrix || !Object.keys(matrix).length) {
    box.append(el("p", { class: "empty" }, "no evaluation yet"));
    return;
  }
  const labels = metrics.labels && metrics.labels.length ? metrics.labels : Object.keys(matrix).sort();
  const max = Math.max(1, ...labels.flatMap((g) => labels.map((p) => (matrix[g] || {})[p] || 0)));
  const table = el("table", { class: "cm" });
  table.append(el("tr", {}, el("th", {}, "gold \\ predicted"), ...labels.map((l) => el("th", {}, l))));
  for (const gold of labels) {
    const row = el("tr", {}, el("th", { class: "gold" }, gold));
    for (const predicted of labels) {
      const n = (matrix[gold] || {})[predicted] || 0;
      const hue = gold === predicted ? "30, 142, 62" : "197, 34, 31";
      const cell = el("td", {}, n || "");
      cell.style.background = n ? `rgba(${hue}, ${0.12 + 0.6 * (n / max)})` : "";
      row.append(cell);
    }
    table.append(row);
  }
  box.append(table);
}

function perLabel(kind, model) {
  const metrics = evaluationOf(model);
  let labels = [];
  let rows = [];
  if (metrics && metrics.per_type) {
    labels = Object.keys(metrics.per_type).sort();
    rows = labels.map((l) => metrics.per_type[l]);
  } else if (metrics && metrics.confusion_matrix) {
    const m = metrics.confusion_matrix;
    labels = metrics.labels && metrics.labels.length ? metrics.labels : Object.keys(m).sort();
    rows = labels.map((label) => {
      const tp = (m[label] || {})[label] || 0;
      const gold = Object.values(m[label] || {}).reduce((a, b) => a + b, 0);
      const predicted = labels.reduce((a, g) => a + ((m[g] || {})[label] || 0), 0);
      return { Precision: predicted ? tp / predicted : 0, Recall: gold ? tp / gold : 0,
        F1Score: gold + predicted ? (2 * tp) / (gold + predicted) : 0 };
    });
  }
  const series = [["Precision", "#9aa5b1"], ["Recall", "#5b9bd5"], ["F1Score", "#1e8e3e"]];
  chart(`per-label-${kind}`, {
    type: "bar",
    data: {
      labels,
      datasets: series.map(([name, colour]) => ({ label: name, data: rows.map((r) => r[name]), backgroundColor: colour })),
    },
    options: {
      plugins: { title: { display: true, text: `active ${KINDS[kind]}: per ${kind === "classifier" ? "label" : "entity type"}` } },
      scales: { y: { min: 0, max: 1 } },
    },
  });
}

function models() {
  const byVersion = (kind, version) => DATA.models.find((m) => m.kind === kind && m.version === version);
  const active = byVersion("classifier", DATA.active.classifier);
  const challengers = DATA.models.filter((m) => m.kind === "classifier" && m.version !== DATA.active.classifier
    && evaluationOf(m));
  confusion("cm-active", "cm-active-title", active, "Active classifier");
  confusion("cm-challenger", "cm-challenger-title", challengers[challengers.length - 1], "Latest challenger");
  perLabel("classifier", active);
  perLabel("entity_recognizer", byVersion("entity_recognizer", DATA.active.entity_recognizer));
}

// --- drift ------------------------------------------------------------------------------------------------
function drift() {
  const reports = DATA.drift || [];
  const latest = reports[reports.length - 1];
  const note = document.getElementById("drift-note");
  if (!latest) {
    note.textContent = "No live traffic yet: classify some texts (python -m local.cli classify --text ...).";
  } else {
    note.textContent = `Latest: ${latest.predictions} predictions in the window, drift score ${fmt(latest.drift_score)}`
      + ` (alarm above ${DRIFT_THRESHOLD}); moved: ${latest.moved.length ? latest.moved.join(", ") : "none"}.`;
  }
  const time = (r) => (r.sk || "").slice(5, 16).replace("T", " ");
  chart("drift-history", {
    type: "line",
    data: {
      labels: reports.map(time),
      datasets: [
        ["drift score", "drift_score", "#c5221f"], ["label PSI", "label_psi", "#1a73e8"],
        ["confidence PSI", "confidence_psi", "#f9ab00"], ["label JS", "label_js", "#8a96a3"],
      ].map(([label, key, colour]) => ({ label, data: reports.map((r) => r[key]), borderColor: colour,
        backgroundColor: colour, tension: 0 })).concat([{ label: "alarm threshold",
        data: reports.map(() => DRIFT_THRESHOLD), borderColor: "#c5221f", borderDash: [6, 4], pointRadius: 0 }]),
    },
    options: { plugins: { title: { display: true, text: "drift over time" } }, scales: { y: { min: 0 } } },
  });
  const shifts = latest ? latest.labels.slice().sort((a, b) => a.label.localeCompare(b.label)) : [];
  chart("drift-labels", {
    type: "bar",
    data: {
      labels: shifts.map((s) => s.label),
      datasets: [
        { label: "baseline share", data: shifts.map((s) => s.baseline_share), backgroundColor: COLOURS.base },
        { label: "live share", data: shifts.map((s) => s.live_share), backgroundColor: COLOURS.live },
      ],
    },
    options: { plugins: { title: { display: true, text: "predicted labels: baseline vs live" } } },
  });
  const share = (h) => { const n = h.reduce((a, b) => a + b, 0); return h.map((c) => (n ? c / n : 0)); };
  const bins = latest ? latest.confidence.map((_, i) => (i / latest.confidence.length).toFixed(2)) : [];
  chart("drift-confidence", {
    type: "bar",
    data: {
      labels: bins,
      datasets: latest ? [
        { label: "baseline", data: share(latest.baseline_confidence), backgroundColor: COLOURS.base },
        { label: "live", data: share(latest.confidence), backgroundColor: COLOURS.live },
      ] : [],
    },
    options: { plugins: { title: { display: true, text: "top score (confidence) histogram" } } },
  });
}

// --- review queue and waiting labels --------------------------------------------------------------------
function queue() {
  const monitor = DATA.monitor || {};
  const table = document.getElementById("queue");
  table.append(el("tr", {}, ...["what", "now"].map((h) => el("th", {}, h))));
  const rows = [
    ["human reviews waiting", monitor.open_reviews ?? "–"],
    ["oldest review waiting (days)", fmt(monitor.oldest_review_days, 2)],
    ["labels in the live-accuracy window", monitor.live_labels ?? "–"],
  ];
  for (const figure of monitor.kinds || []) {
    rows.push([`${KINDS[figure.kind]}: labels waiting without a promotion (days)`, fmt(figure.labels_waiting_days, 2)]);
  }
  for (const [what, value] of rows) table.append(el("tr", {}, el("td", {}, what), el("td", { class: "num" }, value)));
}

function main() {
  document.getElementById("generated").textContent =
    `Offline stack · data of ${DATA.generated_at || "?"} · selection metric ${selection()}`;
  cards();
  metricCharts();
  registry();
  models();
  drift();
  queue();
}

main();
