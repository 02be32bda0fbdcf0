// edgedns operator console. Plain JavaScript, no framework, no build step: every view is
// drawn from ordinary admin API calls (the browser's network panel shows each one, and curl
// can make the same), sent with the token the operator typed, kept in sessionStorage.
"use strict";

const TOKEN_KEY = "edgedns-admin-token";
const $ = (selector) => document.querySelector(selector);

/** An element with attributes (on*: listeners) and children (strings become text). */
function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name === "class") node.className = value;
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function say(text, isError = false) {
  const status = $("#status");
  status.textContent = text;
  status.classList.toggle("error", isError);
}

function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

/** One admin API call: JSON in and out, the token as a bearer credential. */
async function api(method, path, body) {
  const headers = { authorization: `Bearer ${token()}` };
  if (body !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: "no-store" });
  const text = await response.text();
  let value;
  try { value = text ? JSON.parse(text) : {}; } catch { value = { error: text }; }
  if (response.status === 401) {
    sessionStorage.removeItem(TOKEN_KEY);
    showLogin("The token was refused (401): type it again.");
    throw new Error("unauthorized");
  }
  if (!response.ok) {
    const details = Array.isArray(value.details) ? `: ${value.details.join("; ")}` : "";
    const error = new Error(`${method} ${path}: ${response.status} ${value.error || ""}${details}`);
    error.status = response.status;
    error.reason = value.error || "";
    error.details = Array.isArray(value.details) ? value.details : [];
    throw error;
  }
  return value;
}

function time(seconds) {
  return seconds ? new Date(seconds * 1000).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC") : "?";
}

function duration(ms) {
  if (ms === undefined || ms === null || ms < 0) return "";
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  if (s < 172800) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86400)} days`;
}

// ------------------------------------------------------------------ login and views

function showLogin(message) {
  $("#login").hidden = false;
  $("#tabs").hidden = true;
  $("#logout").hidden = true;
  for (const view of document.querySelectorAll(".view")) view.hidden = true;
  if (message) say(message, true);
  $("#token").focus();
}

const VIEWS = { zones: loadZones, health: loadHealth, policies: loadPolicies, traffic: loadTraffic, firewall: loadFirewall };

async function show(view) {
  if (!VIEWS[view]) view = "zones";
  $("#login").hidden = true;
  $("#tabs").hidden = false;
  $("#logout").hidden = false;
  for (const tab of document.querySelectorAll(".tab")) {
    if (tab.dataset.view === view) tab.setAttribute("aria-current", "page");
    else tab.removeAttribute("aria-current");
  }
  for (const section of document.querySelectorAll(".view")) section.hidden = section.id !== `view-${view}`;
  if (location.hash !== `#${view}`) history.replaceState(null, "", `#${view}`);
  say("");
  try {
    await VIEWS[view]();
  } catch (error) {
    if (error.message !== "unauthorized") say(error.message, true);
  }
}

// ------------------------------------------------------------------ zones and versions

let listing = null;

async function loadZones() {
  listing = await api("GET", "/admin/zones");
  $("#current-version").textContent = listing.current || "(nothing published)";
  const zones = $("#zones-table tbody");
  zones.replaceChildren(...listing.zones.map((zone) => el("tr", { "data-apex": zone.apex },
    el("td", {}, el("code", {}, zone.apex), " ", el("button", { type: "button", class: "quiet edit", "aria-label": `Edit ${zone.apex}`, onclick: () => openEditor(zone.apex) }, "Edit")),
    el("td", {}, zone.records),
    el("td", {}, zone.routed.length === 0 ? el("span", { class: "muted" }, "none") :
      el("ul", { class: "plain" }, zone.routed.map((set) => el("li", {},
        el("button", { type: "button", class: "quiet", onclick: () => drawSet(`${set.name} ${set.type}`) }, `${set.name} ${set.type}`))))))));
  const history = $("#history-table tbody");
  history.replaceChildren(...listing.history.map((entry, index) => {
    const current = entry.version === listing.current;
    return el("tr", { class: current ? "current" : "", "data-version": entry.version },
      el("td", {}, el("code", {}, entry.version), current ? el("strong", {}, " (current)") : ""),
      el("td", {}, time(entry.published_at)),
      el("td", {}, entry.zones),
      el("td", {},
        el("label", {}, el("input", { type: "radio", name: "diff-from", value: entry.version, checked: index === 1 }), " from"), " ",
        el("label", {}, el("input", { type: "radio", name: "diff-to", value: entry.version, checked: index === 0 }), " to")),
      el("td", {}, current ? "" : el("button", { type: "button", class: "danger rollback", onclick: () => confirmRollback(entry.version) }, "Roll back to this")));
  }));
}

/** The confirmation dialog: `action` runs only after the operator presses `okLabel`. */
function confirmAction(text, okLabel, action) {
  const dialog = $("#confirm");
  $("#confirm-text").textContent = text;
  const ok = $("#confirm-ok");
  const cancel = $("#confirm-cancel");
  ok.textContent = okLabel;
  const close = () => { ok.onclick = null; cancel.onclick = null; dialog.close(); };
  cancel.onclick = close;
  ok.onclick = async () => {
    close();
    try {
      await action();
    } catch (error) {
      if (error.message !== "unauthorized") say(error.message, true);
    }
  };
  dialog.showModal();
  cancel.focus();
}

function confirmRollback(version) {
  confirmAction(`Serve version ${version} again instead of ${listing.current}? Every isolate picks it up at its next pointer check.`, "Roll back", async () => {
    const rolled = await api("POST", "/admin/rollback", { to: version });
    await loadZones();
    say(`Rolled back: ${rolled.previous} → ${rolled.version} (${rolled.zones} zones).`);
  });
}

// ------------------------------------------------------------------ zone editor

/** The zone being edited and the upload its last clean dry run checked (`null`: none). */
let editing = null;

function editorUpload() {
  const routes = $("#editor-routes").value;
  return { zone: $("#editor-zone").value, routes: routes.trim() ? routes : null };
}

async function openEditor(apex) {
  try {
    const sources = await api("GET", `/admin/zones/${encodeURIComponent(apex)}`);
    editing = { apex: sources.apex, checked: null };
    $("#editor").hidden = false;
    $("#editor-apex").textContent = sources.apex;
    $("#editor-from").textContent = `From version ${sources.version} (${sources.files.join(", ")}). Check runs a dry run; Publish is offered once the same text checks clean.`;
    $("#editor-zone-name").textContent = `${sources.apex.replace(/\.$/, "")}.zone`;
    $("#editor-zone").value = sources.zone;
    $("#editor-routes").value = sources.routes || "";
    $("#editor-result").replaceChildren();
    $("#editor-publish").disabled = true;
    $("#editor").scrollIntoView();
    $("#editor-zone").focus();
  } catch (error) {
    if (error.message !== "unauthorized") say(error.message, true);
  }
}

/** Any edit after a check asks for a new one before publishing. */
function editorChanged() {
  if (editing && editing.checked !== JSON.stringify(editorUpload())) $("#editor-publish").disabled = true;
}

/** Selects line `line` (from 1) of `area` and moves the focus there. */
function goToLine(area, line) {
  const lines = area.value.split("\n");
  const start = lines.slice(0, line - 1).reduce((sum, text) => sum + text.length + 1, 0);
  area.focus();
  area.setSelectionRange(start, start + (lines[line - 1] || "").length);
}

function changesList(changes) {
  return changes.length === 0 ? el("p", {}, "No change in what is served.") : el("pre", { class: "diff changes" }, changes.join("\n"));
}

async function checkEdit() {
  if (!editing) return;
  const upload = editorUpload();
  const out = $("#editor-result");
  $("#editor-publish").disabled = true;
  try {
    const result = await api("PUT", `/admin/zones/${encodeURIComponent(editing.apex)}?dry_run=1`, upload);
    editing.checked = JSON.stringify(upload);
    $("#editor-publish").disabled = false;
    out.replaceChildren(el("h4", { class: "ok" }, `Checked: no error; ${result.zones} zones would be published. Changes:`), changesList(result.changes));
    say("");
  } catch (error) {
    if (error.message === "unauthorized") return;
    editing.checked = null;
    const messages = error.details.length ? error.details : [error.reason || error.message];
    out.replaceChildren(el("h4", { class: "failure" }, error.reason || "The check failed"),
      el("ul", { id: "editor-errors" }, messages.map((message) => {
        const at = message.match(/^(.*?):(\d+): /);
        const area = at && at[1].endsWith(".routes.toml") ? $("#editor-routes") : $("#editor-zone");
        return el("li", { "data-file": at ? at[1] : null, "data-line": at ? at[2] : null }, el("code", {}, message),
          at ? [" ", el("button", { type: "button", class: "quiet goto", onclick: () => goToLine(area, Number(at[2])) }, `Go to line ${at[2]}`)] : "");
      })));
  }
}

function publishEdit() {
  if (!editing || editing.checked !== JSON.stringify(editorUpload())) { $("#editor-publish").disabled = true; return; }
  const { apex, checked } = editing;
  confirmAction(`Publish the edit of ${apex} as a new version? This isolate serves it at once, the others at their next pointer check.`, "Publish", async () => {
    const result = await api("PUT", `/admin/zones/${encodeURIComponent(apex)}`, JSON.parse(checked));
    editing.checked = null;
    $("#editor-publish").disabled = true;
    $("#editor-result").replaceChildren(el("h4", { class: "ok", "data-version": result.version }, `Published ${result.version} (was ${result.previous || "nothing"}). Changes:`), changesList(result.changes));
    await loadZones();
    say(`Published ${apex}: ${result.previous || "nothing"} → ${result.version}.`);
  });
}

async function showDiff() {
  const from = document.querySelector("input[name=diff-from]:checked");
  const to = document.querySelector("input[name=diff-to]:checked");
  const out = $("#diff");
  if (!from || !to) { out.replaceChildren(el("p", {}, "Pick a version to compare from and one to compare to.")); return; }
  try {
    const diff = await api("GET", `/admin/diff?from=${encodeURIComponent(from.value)}&to=${encodeURIComponent(to.value)}`);
    out.replaceChildren(el("h3", {}, `${diff.from} → ${diff.to}`),
      diff.changes.length === 0 ? el("p", {}, "No change in what is served.") : el("pre", { class: "diff" }, diff.changes.join("\n")));
  } catch (error) {
    if (error.message !== "unauthorized") say(error.message, true);
  }
}

// ------------------------------------------------------------------ health board

let healthReport = null;

async function loadHealth() {
  healthReport = await api("GET", "/admin/health");
  const report = healthReport;
  const age = report.updated_at ? `measured ${duration(report.age_ms)} ago${report.stale ? " (stale: every check counts as healthy)" : ""}` : "no measurement written yet: checks count as healthy";
  const down = report.checks.filter((check) => !check.healthy).length;
  $("#health-summary").textContent = `${report.checks.length} checks, ${down} down; ${age}.` + ((report.problems || []).length ? ` Problems: ${report.problems.join("; ")}` : "");
  const now = Date.now();
  $("#health-table tbody").replaceChildren(...report.checks.map((check) => {
    const measured = check.measured;
    const reason = el("input", { type: "text", placeholder: "reason", "aria-label": `Reason for ${check.id}`, maxlength: 500, class: "reason" });
    const change = async (healthy) => {
      const path = `/admin/health/overrides/${encodeURIComponent(check.id)}`;
      try {
        if (healthy === null) await api("DELETE", path);
        else await api("PUT", path, { healthy, reason: reason.value });
        await loadHealth();
        say(healthy === null ? `Override of ${check.id} cleared.` : `${check.id} forced ${healthy ? "up" : "down"}.`);
      } catch (error) {
        if (error.message !== "unauthorized") say(error.message, true);
      }
    };
    return el("tr", { "data-check": check.id, "data-healthy": String(check.healthy) },
      el("td", {}, el("code", {}, check.id), el("br"), el("span", { class: "muted" }, `${check.type} ${check.target}, every ${check.interval_s} s`)),
      el("td", {}, el("span", { class: `state ${check.healthy ? "up" : "down"}` }, check.healthy ? "up" : "down"),
        measured && measured.since ? el("span", { class: "muted" }, ` for ${duration(now - measured.since)}`) : ""),
      el("td", {}, measured ? `${measured.healthy ? "up" : "down"}${measured.latency_ms !== null && measured.latency_ms !== undefined ? `, ${measured.latency_ms} ms` : ""}${measured.checked_at ? `, ${duration(now - measured.checked_at)} ago` : ""}` : el("span", { class: "muted" }, "no data")),
      el("td", { class: "override" }, check.override ? `forced ${check.override.healthy ? "up" : "down"}${check.override.reason ? `: ${check.override.reason}` : ""}` : el("span", { class: "muted" }, "none")),
      el("td", {}, el("div", { class: "controls" }, reason,
        el("button", { type: "button", class: "force-up", onclick: () => change(true) }, "Force up"),
        el("button", { type: "button", class: "danger force-down", onclick: () => change(false) }, "Force down"),
        el("button", { type: "button", class: "clear", disabled: !check.override, onclick: () => change(null) }, "Clear"))));
  }));
}

// ------------------------------------------------------------------ policies drawn

const COUNTRIES = ["US", "CA", "MX", "BR", "AR", "GB", "IE", "FR", "DE", "NL", "ES", "IT", "SE", "PL", "ZA", "NG", "EG", "IN", "SG", "JP", "KR", "CN", "AU", "NZ"];

async function loadPolicies() {
  if (!listing) listing = await api("GET", "/admin/zones");
  const select = $("#policy-set");
  const chosen = select.value;
  const sets = listing.zones.flatMap((zone) => zone.routed.map((set) => `${set.name} ${set.type}`));
  select.replaceChildren(...sets.map((set) => el("option", { value: set, selected: set === chosen }, set)));
  if ($("#countries").childElementCount === 0) $("#countries").replaceChildren(...COUNTRIES.map((code) => el("option", { value: code })));
}

async function drawSet(set) {
  await show("policies");
  $("#policy-set").value = set;
  await explainSet();
}

/** The `/explain` parameters of the client the form describes (none: this browser). */
function clientParameters() {
  const parameters = new URLSearchParams();
  const fields = { country: "#client-country", region: "#client-region", continent: "#client-continent", lat: "#client-lat", lon: "#client-lon", colo: "#client-colo", edns_client_subnet: "#client-subnet", asn: "#client-asn" };
  for (const [name, selector] of Object.entries(fields)) {
    const value = $(selector).value.trim();
    if (value) parameters.set(name, ["country", "region", "colo"].includes(name) ? value.toUpperCase() : value);
  }
  return parameters;
}

async function explainSet() {
  const [name, type] = $("#policy-set").value.split(" ");
  if (!name) return;
  const parameters = clientParameters();
  parameters.set("name", name);
  parameters.set("type", type);
  try {
    const [tree, explained, health] = await Promise.all([
      api("GET", `/admin/policy?name=${encodeURIComponent(name)}&type=${encodeURIComponent(type)}`),
      api("GET", `/explain?${parameters}`),
      api("GET", "/admin/health").catch(() => null),
    ]);
    drawTree(tree, explained, health);
  } catch (error) {
    if (error.message !== "unauthorized") say(error.message, true);
  }
}

/**
 * Marks the path the trace reports: each node's `state` becomes `on-path`, `dropped` (with
 * `why`) or `not-taken`. The trace lines are the policy engine's (src/policy/mod.rs), in the
 * order it decided, depth first; each line is used once.
 */
function markPath(root, trace) {
  const used = new Set();
  const take = (pattern) => {
    for (let i = 0; i < trace.length; i++) {
      if (used.has(i)) continue;
      const match = trace[i].match(pattern);
      if (match) { used.add(i); return match; }
    }
    return null;
  };
  const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const label = (node) => node.label || "(unnamed)";
  const visit = (node) => {
    node.state = "on-path";
    const children = node.children || [];
    for (const branch of children) branch.node.state = branch.node.state || "not-taken";
    const pick = (branch) => { if (branch) visit(branch.node); };
    const drop = (branch, why) => { if (branch) { branch.node.state = "dropped"; branch.node.why = why; } };
    switch (node.kind) {
      case "failover": {
        const [primary, secondary] = children;
        const line = take(/^failover: (primary .* healthy|primary .* unhealthy, secondary .* healthy|both unhealthy)/);
        if (!line) break;
        if (line[1].startsWith("both")) { drop(secondary, "unhealthy"); primary.node.why = "both unhealthy: answering the primary"; pick(primary); }
        else if (line[1].includes("unhealthy, secondary")) { drop(primary, "unhealthy"); pick(secondary); }
        else pick(primary);
        break;
      }
      case "geolocation": {
        for (const branch of children) {
          if (take(new RegExp(`^geolocation: ${escape(branch.edge)} does not match the client$`))) drop(branch, "does not match the client");
        }
        const line = take(/^geolocation: matched (\S+)/);
        if (line) pick(children.find((branch) => branch.edge === line[1]));
        break;
      }
      case "latency": {
        const line = take(/^latency: nearest usable region (\S+)/);
        if (line) pick(children.find((branch) => branch.edge === line[1]));
        break;
      }
      case "weighted":
      case "multivalue": {
        const prefix = node.kind;
        for (const branch of children) {
          const line = take(new RegExp(`^${prefix}: dropped ${escape(label(branch.node))} \\((.*)\\)$`));
          if (line) drop(branch, line[1]);
        }
        if (node.kind === "multivalue") { for (const branch of children) if (branch.node.state !== "dropped") pick(branch); break; }
        const line = take(/^weighted: picked (.*) \(weight \d+ of \d+\)/);
        if (line) pick(children.find((branch) => label(branch.node) === line[1] && branch.node.state !== "dropped"));
        break;
      }
      case "geoproximity": {
        const line = take(/^geoproximity: (?:smallest biased distance (.*) \(\d+ km\)|client location unknown)/);
        if (line) pick(line[1] === undefined ? children[0] : children.find((branch) => label(branch.node) === line[1]));
        break;
      }
      case "cidr": {
        const line = take(/^cidr: (?:client .* → (.*) \(scope|client network unknown)/);
        if (line) pick(line[1] === undefined ? children.find((branch) => branch.edge === "*") : children.find((branch) => branch.edge === line[1]));
        break;
      }
      case "asn": {
        const line = take(/^asn: client AS\S+ → (.*)$/);
        if (line) pick(children.find((branch) => label(branch.node) === line[1]));
        break;
      }
      default:
        break;
    }
  };
  visit(root);
}

function drawTree(tree, explained, health) {
  const checks = new Map((health ? health.checks : []).map((check) => [check.id, check.healthy]));
  markPath(tree.root, explained.trace || []);
  const drawNode = (node, edge) => {
    const title = [node.label ? node.label : null].filter(Boolean);
    const box = el("div", { class: `node ${node.state || ""}`, "data-kind": node.kind, "data-label": node.label, "data-state": node.state },
      el("span", { class: "kind" }, node.kind), node.label ? ` ${node.label}` : "",
      node.health_check ? el("span", { class: `badge ${checks.get(node.health_check) === false ? "down" : "up"}`, title: `health check ${node.health_check}` },
        `${node.health_check}: ${checks.get(node.health_check) === false ? "down" : "up"}`) : "",
      node.force === true || node.force === false ? el("span", { class: "badge" }, `forced ${node.force ? "up" : "down"}`) : "",
      node.values && node.values.length ? el("div", { class: "mono" }, node.values.join(", ")) : "",
      node.detail ? el("div", { class: "muted" }, node.detail) : "",
      node.state === "dropped" ? el("span", { class: "why" }, `dropped: ${node.why}`) : "",
      node.state === "on-path" && node.why ? el("span", { class: "why" }, node.why) : "");
    box.setAttribute("aria-label", `${node.kind} ${title.join(" ")}: ${node.state === "on-path" ? "on the path" : node.state === "dropped" ? `dropped, ${node.why}` : "not taken"}`);
    const item = el("li", { class: node.state === "on-path" ? "branch-on-path" : "" }, edge ? el("span", { class: "edge" }, edge) : "", box);
    if (node.children && node.children.length) item.append(el("ul", {}, node.children.map((branch) => drawNode(branch.node, branch.edge))));
    return item;
  };
  $("#policy-tree").replaceChildren(el("h3", {}, `${tree.name} ${tree.type}`, el("span", { class: "muted" }, ` TTL ${tree.ttl}`)), el("ul", { role: "tree" }, drawNode(tree.root, "")));
  const client = explained.client || {};
  const where = [client.country, client.subdivision, client.continent, client.coordinates ? client.coordinates.join(", ") : null, client.network, client.asn ? `AS${client.asn}` : null].filter(Boolean).join(" · ");
  const answers = (explained.answer || []).map((record) => `${record.name} ${record.TTL} ${record.type} ${record.data}`);
  $("#policy-answer").replaceChildren(
    el("p", {}, "Client taken as: ", el("strong", {}, where || "unknown")),
    el("p", { class: "answer" }, `${explained.status}: `, el("code", { id: "answer-data" }, answers.length ? answers.join("; ") : "(no records)")));
  $("#policy-trace ol").replaceChildren(...(explained.trace || []).map((line) => el("li", {}, line)));
}

// ------------------------------------------------------------------ traffic

const SVG = "http://www.w3.org/2000/svg";

/** An SVG element with attributes and children (strings become text). */
function svg(tag, attributes = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) if (value !== undefined && value !== null) node.setAttribute(name, String(value));
  for (const child of children.flat()) if (child !== undefined && child !== null) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

function clock(ms) {
  return new Date(ms).toISOString().slice(11, 16);
}

async function loadTraffic() {
  const minutes = $("#traffic-minutes").value;
  const traffic = await api("GET", `/admin/traffic?minutes=${encodeURIComponent(minutes)}`);
  drawTraffic(traffic);
}

function drawTraffic(traffic) {
  const totals = traffic.totals;
  const source = traffic.source === "analytics-engine" ? "Analytics Engine (every isolate, through the SQL API)" : "this isolate's own counters (Analytics Engine not configured)";
  const parts = [`${totals.queries} queries in the last ${traffic.minutes} min`, `${totals.blocked} blocked`];
  if (totals.forwarded > 0) parts.push(`${totals.forwarded} forwarded, cache hit rate ${Math.round(totals.cache_hit_rate * 1000) / 10}%`);
  if (traffic.sample_rate < 1) parts.push(`sampled at ${traffic.sample_rate}`);
  const summary = $("#traffic-summary");
  summary.replaceChildren(el("strong", { id: "traffic-total", "data-queries": totals.queries }, parts.join(", ")), el("br"), el("span", { class: "muted", id: "traffic-source", "data-source": traffic.source }, `From ${source}.`));
  if ((traffic.problems || []).length) summary.append(el("br"), el("span", { class: "state down" }, `Problems: ${traffic.problems.join("; ")}`));
  drawTimeline(traffic.timeline);
  const breakdowns = [
    ["zones", "By zone"], ["rcodes", "By RCODE"], ["names", "Top names"], ["policies", "By policy leaf"],
    ["countries", "By country"], ["colos", "By edge location"], ["record_types", "By question type"],
  ];
  $("#traffic-breakdowns").replaceChildren(...breakdowns.map(([key, title]) => drawBreakdown(key, title, traffic[key] || [])));
}

/** Queries per minute: all of them and the busiest zones, one line each. */
function drawTimeline(timeline) {
  const series = [{ key: "all queries", counts: timeline.total }, ...timeline.zones];
  const points = timeline.total.length;
  const peak = Math.max(1, ...timeline.total);
  // Stretched to the figure's width: the labels are HTML around it, so they keep their shape.
  const [width, height, left, bottom] = [600, 160, 1, 1];
  const x = (i) => left + (points <= 1 ? 0 : (i * (width - left - 4)) / (points - 1));
  const y = (count) => height - bottom - (count * (height - bottom - 8)) / peak;
  const end = timeline.start_ms + (points - 1) * timeline.step_ms;
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, preserveAspectRatio: "none", role: "img", "aria-labelledby": "traffic-chart-title" },
    svg("title", { id: "traffic-chart-title" }, `Queries per minute from ${clock(timeline.start_ms)} to ${clock(end)} UTC, at most ${peak} a minute`),
    svg("line", { class: "axis", x1: left, y1: height - bottom, x2: width, y2: height - bottom }),
    svg("line", { class: "axis", x1: left, y1: 4, x2: left, y2: height - bottom }),
    series.map((line, index) => svg("polyline", { class: `s${index % 7}`, "data-key": line.key, points: line.counts.map((count, i) => `${x(i).toFixed(1)},${y(count).toFixed(1)}`).join(" ") },
      svg("title", {}, `${line.key}: ${line.counts.reduce((a, b) => a + b, 0)} queries`))));
  $("#traffic-chart .chart-area").replaceChildren(
    el("div", { class: "chart-peak muted" }, `${peak} a minute`), chart,
    el("div", { class: "chart-axis muted" }, el("span", {}, clock(timeline.start_ms)), el("span", {}, `${clock(end)} UTC`)));
  $("#traffic-chart figcaption").replaceChildren(el("ul", {}, series.map((line, index) =>
    el("li", {}, el("span", { class: `swatch s${index % 7}`, "aria-hidden": "true" }), line.key, el("span", { class: "muted" }, ` ${line.counts.reduce((a, b) => a + b, 0)}`)))));
}

/** One breakdown as a table with a bar (a meter, against the busiest entry) per entry. */
function drawBreakdown(key, title, counts) {
  const most = Math.max(1, ...counts.map((count) => count.queries));
  const rows = counts.map((count) => el("tr", { "data-key": count.key },
    el("td", { class: "key" }, el("code", {}, count.key)),
    el("td", { class: "count" }, count.queries),
    el("td", {}, el("meter", { min: 0, max: most, value: count.queries, "aria-label": `${count.key}: ${count.queries} of ${most}` }))));
  return el("div", { class: "scroll" }, el("table", { id: `traffic-${key}` },
    el("caption", {}, title),
    el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Key"), el("th", { scope: "col" }, "Queries"), el("th", { scope: "col" }, el("span", { class: "muted" }, "share")))),
    el("tbody", {}, rows.length ? rows : el("tr", {}, el("td", { colspan: 3, class: "muted" }, "none in this window")))));
}

// ------------------------------------------------------------------ firewall

/** A table body's rows, or one row saying there is nothing. */
function rowsOrNone(rows, columns, none) {
  return rows.length ? rows : [el("tr", {}, el("td", { colspan: columns, class: "muted" }, none))];
}

async function loadFirewall() {
  // The mode first: in authoritative-only mode there is no firewall to show.
  const resolver = await api("GET", "/admin/resolver").catch((error) => { if (error.message === "unauthorized") throw error; return null; });
  const authoritative = resolver !== null && resolver.mode !== "resolver";
  $("#firewall-mode").textContent = authoritative
    ? "Authoritative only: this Worker has no upstreams (UPSTREAMS), so it forwards nothing and its firewall blocks nothing. Lists, profiles and subscriptions apply in resolver mode."
    : resolver ? `Resolver mode: ${resolver.firewall.rules} ${resolver.firewall.rules === 1 ? "rule" : "rules"} loaded in this isolate (${resolver.firewall.version ? `lists published with the CLI: ${resolver.firewall.version}` : "no list published with the CLI"}; subscriptions below).` : "";
  $("#firewall-mode").dataset.mode = authoritative ? "authoritative" : "resolver";
  $("#firewall-details").hidden = authoritative;
  if (authoritative) return;
  const [stats, subscribed] = await Promise.all([api("GET", "/admin/firewall/stats"), api("GET", "/admin/firewall/subscriptions")]);
  const blocked = $("#firewall-blocked");
  blocked.dataset.blocked = String(stats.blocked);
  blocked.textContent = `${stats.blocked} ${stats.blocked === 1 ? "query" : "queries"} blocked by this isolate since it started` +
    (stats.uncounted ? ` (${stats.uncounted} of them past the counters' bounds, in the total only).` : ".");
  const profile = (name) => name ? el("code", {}, name) : el("span", { class: "muted" }, "(default)");
  const list = (name) => name ? el("code", {}, name) : el("span", { class: "muted" }, "(unnamed)");
  const count = (n) => el("td", { class: "count" }, n);
  $("#firewall-profiles tbody").replaceChildren(...rowsOrNone(stats.profiles.map(([name, n]) => el("tr", { "data-profile": name }, el("td", {}, profile(name)), count(n))), 2, "nothing blocked yet"));
  $("#firewall-lists tbody").replaceChildren(...rowsOrNone(stats.lists.map((entry) => el("tr", { "data-profile": entry.profile, "data-list": entry.list },
    el("td", {}, profile(entry.profile)), el("td", {}, list(entry.list)), count(entry.blocked))), 3, "nothing blocked yet"));
  $("#firewall-rules tbody").replaceChildren(...rowsOrNone(stats.rules.map((rule) => el("tr", { "data-list": rule.list, "data-line": rule.line },
    el("td", { class: "key" }, el("code", {}, rule.rule)), el("td", {}, list(rule.list), ` line ${rule.line}`), el("td", {}, profile(rule.profile)), count(rule.blocked))), 4, "nothing blocked yet"));
  const now = Date.now() / 1000;
  const ago = (seconds) => seconds ? `${duration((now - seconds) * 1000)} ago` : "never";
  $("#firewall-subscriptions tbody").replaceChildren(...rowsOrNone(subscribed.subscriptions.map((entry) => {
    const status = entry.status;
    const error = status && status.error;
    const last = !status ? el("span", { class: "muted" }, "not fetched yet")
      : error ? el("div", { class: "failure" }, el("strong", {}, "failed: "), error, el("br"),
        `${status.failures} ${status.failures === 1 ? "failure" : "failures"} in a row, last checked ${ago(status.checked_at)}; ${status.version ? "the last good list keeps serving" : "no good download yet"}`)
      : el("span", {}, el("span", { class: "state up" }, "ok"), `, checked ${ago(status.checked_at)}, unchanged since ${ago(status.fresh_at)}, changed ${ago(status.changed_at)}`);
    return el("tr", { "data-list": entry.name, "data-failing": String(Boolean(error)), class: error ? "failing" : "" },
      el("td", { class: "key" }, el("code", {}, entry.name), el("br"), el("span", { class: "muted mono" }, entry.url), el("br"),
        el("span", { class: "muted" }, `${entry.format}, every ${duration(entry.refresh_seconds * 1000)}`)),
      el("td", {}, last),
      el("td", {}, status && status.version ? [el("code", {}, status.version), el("br"), `${status.rules} ${status.rules === 1 ? "rule" : "rules"}`, status.skipped ? `, ${status.skipped} lines not expressible` : "",
        entry.held === status.version ? "" : el("div", { class: "muted" }, entry.held ? `this isolate still holds ${entry.held}` : "not loaded in this isolate yet")] : el("span", { class: "muted" }, "nothing")),
      el("td", {}, entry.next_check_at ? `in ${duration(entry.next_check_in_seconds * 1000) || "0 s"} (${time(entry.next_check_at)})` : el("span", { class: "muted" }, "at the next run")));
  }), 4, "no list subscribed (SUBSCRIPTIONS)"));
}

// ------------------------------------------------------------------ start

document.addEventListener("DOMContentLoaded", () => {
  $("#login-form").addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, $("#token").value.trim());
    $("#token").value = "";
    show(location.hash.slice(1));
  });
  $("#logout").addEventListener("click", () => { sessionStorage.removeItem(TOKEN_KEY); listing = null; showLogin(); say("The token is forgotten."); });
  for (const tab of document.querySelectorAll(".tab")) tab.addEventListener("click", () => show(tab.dataset.view));
  $("#diff-button").addEventListener("click", showDiff);
  $("#editor-form").addEventListener("submit", (event) => { event.preventDefault(); checkEdit(); });
  $("#editor-publish").addEventListener("click", publishEdit);
  $("#editor-close").addEventListener("click", () => { editing = null; $("#editor").hidden = true; });
  for (const area of ["#editor-zone", "#editor-routes"]) $(area).addEventListener("input", editorChanged);
  $("#policy-form").addEventListener("submit", (event) => { event.preventDefault(); explainSet(); });
  $("#traffic-form").addEventListener("submit", (event) => { event.preventDefault(); loadTraffic().catch((error) => { if (error.message !== "unauthorized") say(error.message, true); }); });
  window.addEventListener("hashchange", () => { if (token()) show(location.hash.slice(1)); });
  if (token()) show(location.hash.slice(1));
  else showLogin();
});
