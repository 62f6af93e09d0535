// The zhkg explorer: search the name index, open an entity, follow its edges, read its sources.
// Every name and sentence comes from articles and is untrusted: it reaches the page only through
// textContent and text nodes, never as HTML. The state (query, open entity) is in the URL fragment.
"use strict";

const PAGE = 50;          // edges per page of a relation
const MENTIONS = 10;      // sentences per page of mentions
const DEBOUNCE = 80;      // ms after the last keystroke before searching
const $ = (id) => document.getElementById(id);
let schema = { classes: {}, relations: {} };
const schemaReady = api("schema", {}).then((s) => { schema = s; }, () => {});  // names and colours only
let searchSeq = 0, entitySeq = 0, current = null, timer = 0;

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

async function api(op, params) {
  const r = await fetch("api/" + op + "?" + new URLSearchParams(params));
  const body = await r.json().catch(() => ({ error: r.status + " " + r.statusText }));
  if (!r.ok) throw new Error(body.error || r.statusText);
  return body;
}

function state() { return new URLSearchParams(location.hash.slice(1)); }

function fragment(q, e) {
  const s = new URLSearchParams();
  if (q) s.set("q", q);
  if (e) s.set("e", e);
  return "#" + s;
}

function typeBadge(iri) {
  const c = schema.classes[iri];
  const b = el("span", c ? c.label : (iri ? iri.replace(/^.*[#/]/, "") : "?"), "type");
  if (c && c.color) b.style.background = c.color;  // CSSOM, allowed by the page's CSP
  return b;
}

function relationName(iri) {
  const r = schema.relations[iri];
  return r ? r.label + " " + r.name : iri.replace(/^.*[#/]/, "");
}

function entityLink(node) {
  const a = el("a", node.label || node.iri, "node");
  a.href = fragment($("q").value.trim(), node.iri);
  a.dataset.iri = node.iri;
  a.title = node.iri;
  return a;
}

// text with every occurrence of one of `names` in <mark>, as text nodes only
function marked(text, names) {
  const span = el("span", null, "sentence");
  const words = names.filter((n) => n).sort((a, b) => b.length - a.length);
  let i = 0;
  while (i < text.length) {
    let best = -1, word = "";
    for (const w of words) {
      const j = text.indexOf(w, i);
      if (j >= 0 && (best < 0 || j < best)) { best = j; word = w; }
    }
    if (best < 0) break;
    span.append(document.createTextNode(text.slice(i, best)), el("mark", word));
    i = best + word.length;
  }
  span.append(document.createTextNode(text.slice(i)));
  return span;
}

function where(ev) {
  const a = ev.article || {};
  const parts = [a.file, a.title ? "《" + a.title + "》" : "", a.date,
                 ev.index !== null ? "第 " + ev.index + " 句" : "",
                 ev.begin !== null ? "字符 " + ev.begin + "–" + ev.end : ""];
  return el("div", parts.filter((p) => p).join(" · "), "muted");
}

// --- search -----------------------------------------------------------------------------------
async function search(q) {
  const seq = ++searchSeq;
  const hits = $("hits");
  if (!q) { hits.replaceChildren(); $("status").textContent = ""; $("more-hits").hidden = true; return; }
  $("status").textContent = "…";
  let data;
  try { data = await api("search", { q, limit: 30 }); }
  catch (err) { if (seq === searchSeq) $("status").textContent = "搜索失败: " + err.message; return; }
  await schemaReady;
  if (seq !== searchSeq) return;  // a later keystroke has its own answer coming
  hits.replaceChildren(...data.results.map((h) => {
    const li = el("li");
    li.dataset.iri = h.iri;
    li.append(entityLink(h), " ", typeBadge(h.type), " ", el("span", h.degree + " 边", "muted"));
    if (h.match !== h.label) li.append(el("div", "别名: " + h.match, "match"));
    if (current === h.iri) li.classList.add("current");
    return li;
  }));
  $("more-hits").hidden = !data.more;
  $("status").textContent = data.results.length ? "" : "没有结果 (no match)";
  hits.dataset.query = q;  // the results on screen answer this query
}

// --- an entity ----------------------------------------------------------------------------------
function edgeItem(entity, group, node) {
  const li = el("li");
  li.append(entityLink(node), " ", typeBadge(node.type));
  const button = el("button", "来源", "source-button");
  button.type = "button";
  const [s, o] = group.dir === "out" ? [entity.iri, node.iri] : [node.iri, entity.iri];
  button.addEventListener("click", () => toggleSources(li, s, group.predicate, o, [entity, node]));
  li.append(button);
  return li;
}

async function toggleSources(li, s, p, o, ends) {
  const open = li.querySelector(".sources");
  if (open) { open.remove(); return; }
  const box = el("div", "…", "sources");
  li.append(box);
  let data;
  try { data = await api("sources", { s, p, o }); }
  catch (err) { box.textContent = "失败: " + err.message; return; }
  box.replaceChildren();
  const words = ends.flatMap((n) => [n.label, ...(n.aliases || [])]);
  for (const st of data.statements) {
    const facts = [st.role ? "职务 " + st.role : "", st.amount !== null ? "金额 " + st.amount + " 元" : "",
                   st.confidence !== null ? "置信度 " + st.confidence : ""].filter((f) => f);
    if (facts.length) box.append(el("div", facts.join(" · "), "muted"));
    for (const ev of st.evidence) {
      const d = el("div", null, "evidence");
      d.append(marked(ev.sentence, words), where(ev));
      box.append(d);
    }
  }
  if (!box.childNodes.length) box.textContent = "没有记录来源 (no recorded source)";
}

function groupBlock(entity, group) {
  const details = el("details");
  details.open = true;
  details.dataset.dir = group.dir;
  details.dataset.predicate = group.predicate;
  const arrow = group.dir === "out" ? "→ " : "← ";
  details.append(el("summary", arrow + relationName(group.predicate) + " (" + group.count + ")"));
  const list = el("ul", null, "edges");
  const more = el("button", "更多", "more");
  more.type = "button";
  let next = group.next;
  const add = (edges) => list.append(...edges.map((n) => edgeItem(entity, group, n)));
  add(group.edges);
  more.hidden = next === null;
  more.addEventListener("click", async () => {
    more.disabled = true;
    try {
      const page = await api("edges", { iri: entity.iri, dir: group.dir, p: group.predicate, offset: next, limit: PAGE });
      add(page.edges);
      next = page.next;
    } finally { more.disabled = false; more.hidden = next === null; }
  });
  details.append(list, more);
  return details;
}

async function loadMentions(entity, offset) {
  const data = await api("mentions", { iri: entity.iri, offset, limit: MENTIONS });
  if (current !== entity.iri) return;
  const words = [entity.label, ...entity.aliases];
  $("mentions").append(...data.mentions.map((m) => {
    const li = el("li");
    li.append(marked(m.sentence, words), where(m));
    return li;
  }));
  const more = $("more-mentions");
  more.hidden = data.next === null;
  more.onclick = () => { more.hidden = true; loadMentions(entity, data.next); };
}

async function open(iri) {
  const seq = ++entitySeq;
  current = iri;
  for (const li of $("hits").children) li.classList.toggle("current", li.dataset.iri === iri);
  if (!iri) { $("entity").hidden = true; $("help").hidden = false; return; }
  $("status").textContent = "…";
  let e;
  try { e = await api("entity", { iri, limit: PAGE }); }
  catch (err) { if (seq === entitySeq) $("status").textContent = "打开失败: " + err.message; return; }
  await schemaReady;
  if (seq !== entitySeq) return;
  $("status").textContent = "";
  $("name").textContent = e.label || e.iri;
  $("name").title = e.iri;
  $("type").replaceWith(Object.assign(typeBadge(e.type), { id: "type" }));
  const facts = [e.articles + " 篇文章", e.confidence !== null ? "置信度 " + e.confidence : ""];
  $("facts").textContent = facts.filter((f) => f).join(" · ");
  $("aliases").textContent = e.aliases.length ? "别名: " + e.aliases.join("、") : "";
  $("groups").replaceChildren(...e.groups.map((g) => groupBlock(e, g)));
  if (!e.groups.length) $("groups").append(el("p", "没有关系 (no relations)", "muted"));
  $("mention-count").textContent = "(" + e.mentions + ")";
  $("mentions").replaceChildren();
  $("more-mentions").hidden = true;
  $("entity").hidden = false;
  $("help").hidden = true;
  document.title = (e.label || e.iri) + " — zhkg";
  $("entity").dataset.iri = e.iri;  // the entity on screen (tests and benchmarks wait for it)
  loadMentions(e, 0).catch((err) => $("mentions").append(el("li", "失败: " + err.message)));
}

// --- the fragment is the state --------------------------------------------------------------------
function follow() {
  const s = state();
  const q = s.get("q") || "";
  if ($("q").value.trim() !== q) { $("q").value = q; search(q); }
  if ((s.get("e") || null) !== current) open(s.get("e"));
}

function start() {
  $("q").focus();
  $("q").addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      const q = $("q").value.trim();
      history.replaceState(null, "", fragment(q, current));
      search(q);
    }, DEBOUNCE);
  });
  $("q").addEventListener("keydown", (ev) => {
    const first = $("hits").querySelector("a.node");
    if (ev.key === "Enter" && first) location.hash = fragment($("q").value.trim(), first.dataset.iri);
  });
  window.addEventListener("hashchange", follow);
  const s = state();
  $("q").value = s.get("q") || "";
  search($("q").value.trim());
  open(s.get("e"));
}

start();
