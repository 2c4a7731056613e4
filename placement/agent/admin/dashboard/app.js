"use strict";
// The placer dashboard: the ring, the members with their traffic, a live
// feed over server-sent events, "what moves if" and a lookup box. Every
// figure comes from the node's JSON API (relative URLs, so the page works
// under a prefix); nothing is loaded from elsewhere.
const $ = id => document.getElementById(id);
const SVGNS = "http://www.w3.org/2000/svg";
const state = {members: [], ringSum: "", colors: {}, samples: {}, shares: {}};

function esc(s) { return String(s).replace(/[&<>"']/g, c => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c])); }
// get fetches a JSON endpoint; the integer fields named in exact are read
// as strings (a uint64 such as a fencing token loses digits as a JS number).
async function get(path, exact) {
  const r = await fetch(path, {cache: "no-store"});
  let text = await r.text();
  for (const f of exact || []) text = text.replace(new RegExp('"' + f + '":(\\d+)', "g"), '"' + f + '":"$1"');
  let j = {};
  try { j = JSON.parse(text); } catch (e) { /* not JSON: the status says what failed */ }
  if (!r.ok) { const e = new Error(j.error || r.statusText); e.status = r.status; throw e; }
  return j;
}
function pct(x) { return (100 * x).toFixed(1) + " %"; }
// swatch is a colour square; paint sets its colour (the CSP allows no
// inline style attributes, but the page's script may set styles).
function swatch(name) { return '<span class="swatch" data-color="' + esc(colorOf(name)) + '"></span>'; }
function paint(root) { for (const el of root.querySelectorAll(".swatch[data-color]")) el.style.background = el.dataset.color; }

function colorOf(name) {
  if (!(name in state.colors)) {
    const i = Object.keys(state.colors).length;
    state.colors[name] = "hsl(" + Math.round((i * 137.508) % 360) + ",62%,48%)";
  }
  return state.colors[name];
}

// arcPath is the SVG path of the arcs [start, end) (fractions of the circle).
function arcPath(arcs, r) {
  let d = "";
  const pt = f => { const a = 2 * Math.PI * f - Math.PI / 2; return (r * Math.cos(a)).toFixed(2) + " " + (r * Math.sin(a)).toFixed(2); };
  for (const a of arcs) {
    let s = a.start, e = a.end;
    if (e - s >= 0.999999) { d += "M" + pt(s) + "A" + r + " " + r + " 0 1 1 " + pt(s + 0.5) + "A" + r + " " + r + " 0 1 1 " + pt(e - 1e-9); continue; }
    d += "M" + pt(s) + "A" + r + " " + r + " 0 " + (e - s > 0.5 ? 1 : 0) + " 1 " + pt(e);
  }
  return d;
}

// drawRing draws one arc set (a <g class="arcset">) per key of groups.
function drawRing(svg, groups, colorFor, label) {
  svg.replaceChildren();
  const bg = document.createElementNS(SVGNS, "circle");
  bg.setAttribute("r", "120"); bg.setAttribute("fill", "none"); bg.setAttribute("stroke", "#eee"); bg.setAttribute("stroke-width", "30");
  svg.appendChild(bg);
  for (const [name, arcs] of Object.entries(groups)) {
    const g = document.createElementNS(SVGNS, "g");
    g.setAttribute("class", "arcset"); g.dataset.member = name;
    const p = document.createElementNS(SVGNS, "path");
    p.setAttribute("d", arcPath(arcs, 120)); p.setAttribute("fill", "none");
    p.setAttribute("stroke", colorFor(name)); p.setAttribute("stroke-width", "30");
    const title = document.createElementNS(SVGNS, "title"); title.textContent = name;
    p.appendChild(title); g.appendChild(p); svg.appendChild(g);
  }
  const t = document.createElementNS(SVGNS, "text");
  t.setAttribute("text-anchor", "middle"); t.setAttribute("dy", "5"); t.setAttribute("font-size", "13"); t.textContent = label;
  svg.appendChild(t);
}

async function refreshRing() {
  const ri = await get("api/ring");
  if (ri.checksum === state.ringSum) return;
  state.ringSum = ri.checksum;
  const groups = {};
  for (const m of ri.members) groups[m.name] = [];
  for (const a of ri.arcs) (groups[a.owner] = groups[a.owner] || []).push(a);
  state.shares = Object.fromEntries(ri.members.map(m => [m.name, m.share]));
  drawRing($("ring"), groups, colorOf, ri.strategy + (ri.approximate ? " (coarsened)" : ""));
  $("legend").innerHTML = ri.members.map(m => "<li>" + swatch(m.name) +
    esc(m.name) + " " + pct(m.share) + " (weight " + m.weight + ")</li>").join("") +
    (ri.excluded.length ? '<li class="bad">excluded (other strategy): ' + esc(ri.excluded.join(", ")) + "</li>" : "");
  paint($("legend"));
}

function sparkline(values) {
  const max = Math.max(1e-9, ...values), w = 110, h = 22;
  const pts = values.map((v, i) => (values.length < 2 ? 0 : (i * w / (values.length - 1))).toFixed(1) + "," + (h - 1 - (h - 2) * v / max).toFixed(1));
  return '<svg class="spark" viewBox="0 0 110 22"><polyline points="' + pts.join(" ") + '"/></svg><span class="dim"> ' + max.toFixed(max < 10 ? 2 : 0) + "</span>";
}

function memberRow(m, samples) {
  const last = samples && samples.length ? samples[samples.length - 1] : null;
  const num = (col, v) => '<td class="num" data-col="' + col + '">' + (last ? v : "–") + "</td>";
  const status = '<span class="' + (m.status === "alive" ? "ok" : "bad") + '">' + esc(m.status) + "</span>";
  const ring = m.ring ? "yes" : (m.draining ? "draining" : "no");
  return "<tr data-member=\"" + esc(m.name) + "\"><td>" + swatch(m.name) + esc(m.name) + "</td>" +
    "<td>" + status + "</td><td>" + ring + "</td>" + '<td class="num">' + m.weight + "</td>" +
    '<td class="num">' + (m.name in state.shares ? pct(state.shares[m.name]) : "–") + "</td>" +
    num("primaries", last && last.hosted) + num("backups", last && last.backups) + num("msgs", last && last.msgs_per_s.toFixed(1)) +
    num("mailbox", last && last.mailbox) + num("handoffs", last && last.handoffs_in_flight) +
    "<td>" + (samples ? sparkline(samples.map(s => s.msgs_per_s)) : "") + "</td>" +
    "<td>" + (samples ? sparkline(samples.map(s => s.call_p99_ms)) + '<span class="dim"> ms</span>' : "") + "</td></tr>";
}

async function refresh() {
  try {
    const [m, v, n] = await Promise.all([get("api/members"), get("api/view"), get("api/nodes").catch(() => [])]);
    state.members = m.members;
    for (const ns of n) state.samples[ns.node] = ns.samples;
    $("node").textContent = m.node;
    $("summary").innerHTML = m.members.filter(x => x.status === "alive").length + " alive of " + m.members.length + " members" +
      (m.alone ? ' — <span class="bad">ALONE: it had peers (' + esc(m.previous_peers.join(", ")) + ") and reaches none</span>" : "");
    $("view").innerHTML = "view epoch " + v.epoch + ' <span class="dim">(epochs are local to each node: compare checksums)</span>, checksum <code>' +
      esc(v.checksum) + "</code>, " + (v.converged ? '<span class="ok">converged</span>' : '<span class="warn">not converged</span>') +
      (v.quorum ? "" : ' — <span class="bad">no quorum</span>') + (v.draining.length ? ", draining: " + esc(v.draining.join(", ")) : "");
    await refreshRing();
    $("members").tBodies[0].innerHTML = m.members.map(x => memberRow(x, state.samples[x.name])).join("");
    paint($("members"));
    $("hidden").textContent = m.hidden.length ? m.hidden.join(", ") : "none";
    fillMemberSelect();
  } catch (e) {
    $("summary").innerHTML = '<span class="bad">' + esc(e.message) + "</span>";
  }
}

function fillMemberSelect() {
  const sel = $("whatif-member"), cur = sel.value;
  const names = state.members.filter(x => x.ring).map(x => x.name);
  if (sel.options.length === names.length && names.every((n, i) => sel.options[i].value === n)) return;
  sel.innerHTML = names.map(n => "<option>" + esc(n) + "</option>").join("");
  if (names.includes(cur)) sel.value = cur;
}

function feed(ev) {
  const li = document.createElement("li");
  const t = new Date(ev.time || Date.now());
  const hh = t.toTimeString().slice(0, 8) + "." + String(t.getMilliseconds()).padStart(3, "0");
  let text = ev.type;
  if (ev.node) text += " " + ev.node + (ev.reason ? " (" + ev.reason + ")" : "");
  if (ev.type === "view") text += " epoch " + ev.epoch + ", " + (ev.members || 0) + " members, checksum " + ev.checksum;
  if (ev.key) text += " {" + ev.kind + ", " + ev.key + "} " + (ev.from || "") + " → " + (ev.to || "") + (ev.error ? ": " + ev.error : "");
  if (ev.type === "quorum") text += (ev.majority ? " majority" : " NO majority") + " " + ev.alive + "/" + ev.full;
  li.dataset.type = ev.type;
  li.innerHTML = '<span class="t">' + hh + "</span>" + esc(text);
  const ol = $("feed");
  ol.insertBefore(li, ol.firstChild);
  while (ol.children.length > 200) ol.removeChild(ol.lastChild);
}

let pending = null;
function soon() { if (!pending) pending = setTimeout(() => { pending = null; refresh(); }, 250); }

function live() {
  const es = new EventSource("api/events");
  es.onopen = () => { $("live").textContent = "live"; };
  es.onerror = () => { $("live").textContent = "reconnecting…"; };
  es.onmessage = m => {
    const ev = JSON.parse(m.data);
    feed(ev);
    if (!ev.type.startsWith("handoff")) soon();
  };
}

async function whatIf(e) {
  e.preventDefault();
  const op = $("whatif-op").value;
  const member = op === "add" ? $("whatif-name").value.trim() : $("whatif-member").value;
  const q = new URLSearchParams({op: op, member: member, weight: $("whatif-weight").value});
  try {
    const w = await get("api/whatif?" + q);
    $("whatif-share").textContent = "moves " + pct(w.moved_share) + " of the keys";
    $("whatif-share").dataset.share = w.moved_share;
    const groups = {};
    for (const a of w.arcs) (groups[a.from + " → " + a.to] = groups[a.from + " → " + a.to] || []).push(a);
    const svg = $("whatif-ring"); svg.hidden = false;
    drawRing(svg, groups, k => colorOf(k.split(" → ")[1]), pct(w.moved_share) + " moves");
    $("whatif-flows").innerHTML = "<tr><th>from</th><th>to</th><th>share of the keys</th></tr>" +
      w.flows.map(f => "<tr><td>" + swatch(f.from) + esc(f.from) + "</td><td>" + swatch(f.to) + esc(f.to) + '</td><td class="num">' + pct(f.share) + "</td></tr>").join("");
    paint($("whatif-flows"));
  } catch (err) {
    $("whatif-share").innerHTML = '<span class="bad">' + esc(err.message) + "</span>";
  }
}

function whatIfInputs() {
  const op = $("whatif-op").value;
  $("whatif-member").hidden = op === "add";
  $("whatif-name").hidden = op !== "add";
  $("whatif-weight-label").hidden = op !== "add" && op !== "weight";
}

async function lookup(e) {
  e.preventDefault();
  const key = $("lookup-key").value;
  try {
    const lk = await get("api/lookup?" + new URLSearchParams({key: key, n: "3", state: "1"}));
    const procs = (lk.processes || []).map(p => esc(p.kind) + " " + esc(pidText(p.pid)) + " " + esc(p.state));
    $("lookup-out").innerHTML = "<p><b>" + esc(lk.key) + "</b> → " + esc(lk.owner) + "</p><p>next owners: " + esc(lk.owners.slice(1).join(", ") || "none") +
      "</p><p>processes on the owner: " + (procs.length ? procs.join("; ") : "none running") + "</p>";
  } catch (err) {
    $("lookup-out").innerHTML = '<span class="bad">' + esc(err.message) + "</span>";
  }
}

function pidText(p) { return p && p.node ? "<" + p.node + "." + p.id + "." + p.creation + ">" : "–"; }

// services shows global names, groups and locks where the node serves them
// (an endpoint answering 404 hides its part).
const serviceTables = [
  ["svc-names", "api/names", v => v.names, ["name", "holder", "registered", "authority"],
    n => [n.name, pidText(n.pid), n.registered, n.authority || "(claim due)"]],
  ["svc-groups", "api/groups", v => v.groups, ["group", "members", "on this node", "pids"],
    g => [g.name, g.size, g.local, (g.members || []).map(pidText).join(" ")]],
  ["svc-locks", "api/locks", v => v.locks, ["lock", "holder", "count", "token", "last token", "waiters", "authority"],
    l => [l.id, l.holder && l.holder.node ? pidText(l.holder) : "free", l.count, l.token, l.last_token,
      (l.waiters || []).map(w => pidText(w.requester)).join(" ") || "none", l.authority]],
];
async function services() {
  let any = false;
  for (const [id, path, rowsOf, head, cells] of serviceTables) {
    try {
      const rows = rowsOf(await get(path, ["token", "last_token", "version"])) || [];
      const html = "<tr>" + head.map(h => "<th>" + esc(h) + "</th>").join("") + "</tr>" +
        rows.map(r => "<tr>" + cells(r).map(c => "<td>" + esc(c) + "</td>").join("") + "</tr>").join("");
      $(id).hidden = false; $(id).querySelector("table").innerHTML = rows.length ? html : "<tr><td class=\"dim\">none</td></tr>";
      any = true;
    } catch (e) { $(id).hidden = true; }
  }
  $("services-section").hidden = !any;
}

$("whatif-form").addEventListener("submit", whatIf);
$("whatif-op").addEventListener("change", whatIfInputs);
$("lookup-form").addEventListener("submit", lookup);
refresh().then(services);
live();
setInterval(refresh, 2000);
setInterval(services, 10000);
