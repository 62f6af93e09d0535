"""Self-contained interactive HTML view of the knowledge graph (pyvis + vis-network, inlined).

Everything the page needs (vis-network JS/CSS, our CSS/JS, the data) is in the one file: no CDN,
no web fonts, no `lib/` folder. All article text is untrusted: it reaches the page only as JSON
with `<`, `>`, `&` and U+2028/2029 escaped, and the page turns it into DOM text (textContent).
"""
from __future__ import annotations

import heapq
import json
import math
import numbers
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import networkx as nx
import numpy as np
import pyvis
from jinja2 import ChoiceLoader, Environment, FileSystemLoader
from markupsafe import Markup

from kg.export import Views, exporter
from kg.export.files import write_text
from kg.schema import Schema, load

T = TypeVar("T")
ASSETS = Path(__file__).parent / "assets"
TEMPLATE = "zhkg_template.html"
FONT = '"Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", "WenQuanYi Micro Hei", sans-serif'
OTHER = ("#9c9c9c", "其他")  # a node whose type the schema does not know
MAX_NODES = 2000   # default cap: a browser draws this many nodes smoothly
EDGES_PER_NODE = 3  # and at most this many edges a node on average
SMALL = 500        # below: networkx spring layout + a short in-browser stabilisation
MAX_TIP_SOURCES = 3
MAX_PAGE_SOURCES = 20  # a hub is named in thousands of sentences; the page lists the first few
SEED = 7


def _js(value: Any) -> Markup:
    """JSON safe inside <script>: nothing in it can close the tag or start markup."""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    for ch, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                    ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(ch, esc)
    return Markup(text)


def _number(value: Any) -> float | None:
    return None if isinstance(value, bool) or not isinstance(value, numbers.Real) else float(value)


def _amount(yuan: Any) -> str:
    if (yuan := _number(yuan)) is None:
        return ""
    if abs(yuan) >= 1e8:
        return f"{yuan / 1e8:g}亿元"
    if abs(yuan) >= 1e4:
        return f"{yuan / 1e4:g}万元"
    return f"{yuan:g}元"


def _clip(text: str, n: int = 140) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _spring(n: int, src: np.ndarray, dst: np.ndarray, iterations: int = 50, block: int = 1024) -> np.ndarray:
    """Fruchterman-Reingold in numpy (networkx needs scipy above 500 nodes); seeded.
    Repulsion is computed a block of rows at a time, so memory stays O(n·block), not O(n²);
    big graphs get fewer iterations (time is O(n²) per iteration)."""
    rng = np.random.default_rng(SEED)
    x, y = rng.random((2, n), dtype=np.float32)
    k2, inv_k = np.float32(1 / n), np.float32(math.sqrt(n))
    iterations = max(10, min(iterations, int(iterations * (3000 / n) ** 2)))
    t, dt = 0.1, 0.1 / (iterations + 1)
    for _ in range(iterations):
        fx, fy = np.empty(n, np.float32), np.empty(n, np.float32)
        for lo in range(0, n, block):
            dx = np.subtract.outer(x[lo:lo + block], x)
            dy = np.subtract.outer(y[lo:lo + block], y)
            d2 = np.maximum(dx * dx + dy * dy, 1e-4)
            np.divide(k2, d2, out=d2)                  # repulsion k²/d, times the unit vector
            fx[lo:lo + block], fy[lo:lo + block] = np.einsum("ij,ij->i", dx, d2), np.einsum("ij,ij->i", dy, d2)
        ex, ey = x[src] - x[dst], y[src] - y[dst]      # attraction d²/k along edges only
        a = np.hypot(ex, ey) * inv_k
        np.add.at(fx, src, -ex * a)
        np.add.at(fx, dst, ex * a)
        np.add.at(fy, src, -ey * a)
        np.add.at(fy, dst, ey * a)
        length = np.hypot(fx, fy)
        length[length < 0.01] = 0.1
        x += fx * (t / length)
        y += fy * (t / length)
        t -= dt
    return np.stack([x, y], axis=1).astype(np.float64)


def _layout(nodes: list[str], pairs: list[tuple[str, str]]) -> dict[str, tuple[int, int]]:
    """Deterministic positions in vis pixels (sorted input, fixed seed, rounded to integers)."""
    n = len(nodes)
    if n == 0:
        return {}
    if n < SMALL:
        g = nx.Graph()
        g.add_nodes_from(nodes)
        g.add_edges_from(pairs)
        pos = nx.spring_layout(g, seed=SEED)
        xy = np.array([pos[v] for v in nodes], dtype=np.float64)
    else:
        index = {v: i for i, v in enumerate(nodes)}
        e = np.array([(index[u], index[v]) for u, v in pairs], dtype=np.int64).reshape(-1, 2)
        xy = _spring(n, e[:, 0], e[:, 1])
    xy -= np.median(xy, axis=0)
    # repulsion flings isolated nodes far out; pull them onto a ring so the fit view stays useful
    r = np.hypot(xy[:, 0], xy[:, 1])
    cap = float(np.percentile(r, 95)) * 1.15 or 1.0
    xy *= (np.minimum(r, cap) / np.maximum(r, 1e-9))[:, None]
    extent = float(np.abs(xy).max()) or 1.0
    xy *= max(250.0, 80.0 * math.sqrt(n)) / extent   # ~ a node's width between neighbours
    return {v: (int(round(px)), int(round(py))) for v, (px, py) in zip(nodes, xy)}


def _node_tip(iri: str, kind: str, zh: str, label: str, aliases: list[str], sources: list[dict], total: int) -> str:
    lines = [label, f"{zh} {kind}"]
    if aliases:
        lines.append("别名 aliases: " + "、".join(aliases))
    lines.append(iri)
    for s in sources[:MAX_TIP_SOURCES]:
        lines.append(f"[{s.get('doc', '')}] {_clip(str(s.get('sentence', '')))}")
    if total > MAX_TIP_SOURCES:
        lines.append(f"… +{total - MAX_TIP_SOURCES}")
    return "\n".join(lines)


def _edge_tip(src: str, dst: str, d: dict, zh: str) -> str:
    rel = str(d.get("relation", ""))
    lines = [f"{src} —{rel} {zh}→ {dst}"]
    if d.get("role"):
        lines.append(f"角色 role: {d['role']}")
    if _amount(d.get("amount")):
        lines.append(f"金额 amount: {_amount(d.get('amount'))}")
    if (conf := _number(d.get("confidence"))) is not None:
        lines.append(f"置信度 confidence: {conf:.2f}")
    if d.get("sentence"):
        lines.append(f"[{d.get('doc', '')}] {_clip(str(d['sentence']))}")
    return "\n".join(lines)


def _options(small: bool) -> dict[str, Any]:
    return {
        "nodes": {"shape": "dot", "borderWidth": 1,
                  "font": {"face": FONT, "size": 14, "strokeWidth": 3, "strokeColor": "#ffffff"},
                  "scaling": {"label": {"drawThreshold": 6}}},
        "edges": {"arrows": {"to": {"enabled": True, "scaleFactor": 0.5}},
                  "color": {"color": "#a3a9b3", "highlight": "#333333", "hover": "#333333"},
                  "font": {"face": FONT, "size": 10, "align": "middle", "color": "#555555"},
                  "smooth": {"enabled": True, "type": "continuous"} if small else False,
                  "width": 1},
        "interaction": {"hover": True, "tooltipDelay": 150,
                        "hideEdgesOnDrag": not small, "hideEdgesOnZoom": not small},
        "layout": {"improvedLayout": False, "randomSeed": SEED},  # positions are precomputed
        # small graphs polish the precomputed layout briefly, then the page turns physics off
        "physics": {"enabled": small, "solver": "barnesHut",
                    "barnesHut": {"springLength": 120, "avoidOverlap": 0.2},
                    "stabilization": {"enabled": True, "iterations": 150, "fit": True}},
    }


def _environment(meta: dict[str, Any]) -> Environment:
    # our template first; pyvis's own folder supplies the vis-network files it inlines
    pyvis_templates = Path(pyvis.__file__).parent / "templates"
    env = Environment(loader=ChoiceLoader([FileSystemLoader(str(ASSETS)),
                                           FileSystemLoader(str(pyvis_templates))]),
                      autoescape=True, keep_trailing_newline=True)
    env.filters["js"] = _js
    env.globals["meta"] = meta
    env.globals["font"] = FONT
    return env


def cap(graph: nx.MultiDiGraph, max_nodes: int, max_edges: int | None = None) -> nx.MultiDiGraph:
    """The `max_nodes` most connected nodes (ties: smaller id first) and the edges among them, at
    most `max_edges` (default EDGES_PER_NODE × max_nodes) of them, the most confident first:
    hubs are densely linked, and a page of 100,000 edges is no overview."""
    max_edges = EDGES_PER_NODE * max_nodes if max_edges is None else max_edges
    if graph.number_of_nodes() <= max_nodes and graph.number_of_edges() <= max_edges:
        return graph
    keep = sorted(graph.nodes, key=lambda v: (-graph.degree(v), str(v)))[:max_nodes]
    shown = nx.MultiDiGraph()
    shown.add_nodes_from((v, graph.nodes[v]) for v in keep)
    edges = graph.subgraph(keep).edges(keys=True, data=True)
    shown.add_edges_from(strongest(edges, max_edges, lambda e: (e[3].get("confidence"), e[0], e[1], e[2])))
    return shown


def strongest(edges: Iterable[T], n: int, key: Callable[[T], tuple]) -> list[T]:
    """The `n` edges of highest confidence; ties by the rest of `key` (ends, relation), for a
    page that does not depend on input order. `key` gives (confidence, *tie-breakers)."""
    def order(e: T) -> tuple:
        conf, *rest = key(e)
        return (-(_number(conf) or 0.0), *map(str, rest))
    return heapq.nsmallest(n, edges, key=order)


def page(graph: nx.MultiDiGraph, title: str = "zhkg", total: tuple[int, int] | None = None,
         schema: Schema | None = None) -> str:
    """The HTML page for `graph`. `total` = (nodes, edges) of the whole graph when `graph` is a
    capped view of it: the page then says how much it shows. Type colours, Chinese names and the
    legend's order come from the schema (default: the ontology in use). Node and edge records are
    built directly (pyvis's add_node/add_edge scan a list per call); pyvis supplies the vis-network files."""
    schema = schema or load()
    types = {t.name: (t.color, t.label("zh")) for t in schema.entities.values()}
    relations = {r.name: r.label("zh") for r in schema.relations.values()}
    nodes = sorted(graph.nodes, key=str)
    edges = sorted(graph.edges(keys=True, data=True),
                   key=lambda e: (str(e[0]), str(e[1]), str(e[3].get("relation", "")), str(e[2])))
    pairs = sorted({(min(str(u), str(v)), max(str(u), str(v))) for u, v, _, _ in edges if u != v})
    pos = _layout([str(v) for v in nodes], pairs)
    small = len(nodes) < SMALL

    records: list[dict[str, Any]] = []
    labels: dict[str, str] = {}
    for v in nodes:
        d, iri = graph.nodes[v], str(v)
        raw_kind = str(d.get("type", "Other"))
        kind = raw_kind if raw_kind in types else "Other"
        label = str(d.get("label") or iri.rsplit("/", 1)[-1])
        aliases = [str(a) for a in d.get("aliases") or [] if str(a) != label]
        all_sources = [s for s in d.get("sources") or [] if isinstance(s, dict)]
        sources = [{"doc": str(s.get("doc", "")), "sentence": str(s.get("sentence", ""))}
                   for s in all_sources[:MAX_PAGE_SOURCES]]
        n_sources = int(d.get("sources_total", len(all_sources)))  # set when the caller pre-clipped them
        labels[iri] = label
        x, y = pos[iri]
        # explicit colour, no `group`: vis drops `color` when a group is set
        records.append({"id": iri, "label": label, "shape": "dot", "color": types.get(kind, OTHER)[0],
                        "size": round(8 + 4 * math.sqrt(graph.degree(v)), 1), "x": x, "y": y,
                        "title": _node_tip(iri, raw_kind, types.get(kind, OTHER)[1], label, aliases, sources,
                                           n_sources),
                        "kind": kind, "aliases": aliases, "sources": sources, "sources_total": n_sources})
    links: list[dict[str, Any]] = []
    parallel: dict[tuple[str, str], int] = {}
    for i, (u, v, _key, d) in enumerate(edges):
        su, sv = str(u), str(v)
        rel = str(d.get("relation", ""))
        link: dict[str, Any] = {"from": su, "to": sv, "arrows": "to", "id": f"e{i}", "label": rel,
                                "title": _edge_tip(labels[su], labels[sv], d, relations.get(rel, "")),
                                "relation": rel, "role": str(d.get("role") or ""), "amount": _amount(d.get("amount")),
                                "confidence": _number(d.get("confidence")), "doc": str(d.get("doc") or ""),
                                "sentence": str(d.get("sentence") or "")}
        k = parallel[(su, sv)] = parallel.get((su, sv), -1) + 1
        if k:  # fan out parallel edges so each label stays readable
            link["smooth"] = {"enabled": True, "type": "curvedCW", "roundness": 0.15 * k}
        links.append(link)
    meta: dict[str, Any] = {"title": title,
                            "types": [{"key": t, "color": c, "zh": zh} for t, (c, zh) in types.items()]
                            + [{"key": "Other", "color": OTHER[0], "zh": OTHER[1]}],
                            "relations": relations, "physics": small}
    if total is not None and (total[0] > len(records) or total[1] > len(links)):
        meta["cap"] = {"nodes": len(records), "edges": len(links), "total_nodes": total[0], "total_edges": total[1]}
    template = _environment(meta).get_template(TEMPLATE)
    return template.render(nodes=records, edges=links, options=json.dumps(_options(small)))


def write_html(graph: nx.MultiDiGraph, path: Path, title: str = "zhkg", schema: Schema | None = None,
               max_nodes: int = MAX_NODES) -> None:
    """Write the interactive view of `graph` to `path`, atomically (kg.export.files); a graph of
    more than `max_nodes` nodes shows its most connected ones, and the page says so."""
    total = (graph.number_of_nodes(), graph.number_of_edges())
    write_text(Path(path), page(cap(graph, max_nodes), title, total, schema))


@exporter("html")
def export_html(views: Views, out: Path) -> list[Path]:
    write_html(views.nx, out / "graph.html", title=views.title, schema=views.schema, max_nodes=views.html_max_nodes)
    return [out / "graph.html"]
