"""The explorer of `kg serve` on a big graph, timed in headless Chromium.

    python benchmarks/explore_benchmark.py GRAPH [--store DIR] [--runs 3] [--query NAME ...]
    python benchmarks/explore_benchmark.py --names 1000000 --store DIR    # search at 10^6 names

GRAPH is a store folder (`kg build --store`) or a graph.ttl; a Turtle file is first loaded into
the store folder `--store` (kept, so a second run starts at once). Prints, each in wall and CPU
seconds where it applies: the store load, the name index build, then per query (the best of
`--runs`) in Chromium: page load (navigation to the load event), typing the query -> first
results on screen (the page's 80 ms debounce included), and clicking the first result -> the
entity with its first page of edges on screen. Also the biggest entity (most edges) opened,
and the JSON requests alone over HTTP. Without --query, the queries are picked from the index
(see `queries`). With --names N instead of GRAPH: a graph of N invented names (people, firms,
places from synth.py's character tables; one in ten with an alias) and one district with 10^5
incoming edges, each with its statement and sentence.
"""
from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode
from urllib.request import urlopen

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
from browser import Browser, Page, find_chromium  # noqa: E402

from kg.sparql import names, serve, store  # noqa: E402
from kg.sparql.query import width  # noqa: E402

# resolves, with the page's own clock, once `cond` holds (checked on every DOM change)
WAIT = """new Promise((resolve) => {
  const ok = () => { try { return %s; } catch (e) { return false; } };
  if (ok()) return resolve(performance.now());
  const mo = new MutationObserver(() => { if (ok()) { mo.disconnect(); resolve(performance.now()); } });
  mo.observe(document, {subtree: true, childList: true, attributes: true, characterData: true});
})"""


def invented(n: int, path: Path) -> None:
    """N-Triples of `n` entities with invented names (synth.py's tables), one in ten with an alias,
    the first HUB_EDGES located in one district."""
    import random

    from synth import FIRM, FIRM_FORM, GIVEN, INDUSTRY, PLACE, PROJECT_KIND, SURNAMES
    rng = random.Random(7)
    kinds = [("Person", lambda: rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.choice((1, 2))))),
             ("Enterprise", lambda: "".join(rng.choices(PLACE, k=2)) + "".join(rng.choices(FIRM, k=2))
              + rng.choice(INDUSTRY) + rng.choice(FIRM_FORM)),
             ("Project", lambda: "".join(rng.choices(PLACE + FIRM, k=3)) + rng.choice(PROJECT_KIND))]
    with path.open("w", encoding="utf-8") as f:
        for i in range(n):
            kind, make = kinds[i % 3]
            iri = f"<{ID}{kind.lower()}/n{i}>"
            f.write(f"{iri} <{RDF}type> <{KG}{kind}> .\n"
                    f"{iri} <{LABEL}> {json.dumps(make(), ensure_ascii=False)}@zh .\n")
            if i % 10 == 0:
                f.write(f"{iri} <{ALT}> {json.dumps(make(), ensure_ascii=False)}@zh .\n")
            if i < HUB_EDGES:  # a hub: the page of a district named in every article
                st, ev = f"<{ID}statement/h{i}>", f"<{ID}evidence/h{i}>"
                f.write(f"{iri} <{KG}locatedIn> {HUB} .\n{st} <{RDF}subject> {iri} .\n"
                        f"{st} <{RDF}predicate> <{KG}locatedIn> .\n{st} <{RDF}object> {HUB} .\n"
                        f"{st} <{KG}evidence> {ev} .\n{ev} <{KG}sentence> \"句子{i}位于中心区。\"@zh .\n")
        f.write(f"{HUB} <{RDF}type> <{KG}District> .\n{HUB} <{LABEL}> \"中心区\"@zh .\n")


ID, KG, RDF = "https://w3id.org/zhkg/id/", "https://w3id.org/zhkg/ontology#", "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
HUB, HUB_EDGES = f"<{ID}district/hub>", 100_000
LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
ALT = "http://www.w3.org/2004/02/skos/core#altLabel"


def timed(fn, *args):  # type: ignore[no-untyped-def]
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn(*args)
    return out, time.perf_counter() - wall, time.process_time() - cpu


def queries(con: sqlite3.Connection) -> tuple[list[str], str]:
    """Default queries, and the IRI of the entity with the most edges: the biggest entity's name,
    its first character, a rare name (degree one) and three characters of it, and the commonest
    two- and four-character endings of names (many matches: the slow case of each search path)."""
    big_iri, big = con.execute("SELECT iri, label FROM entity ORDER BY degree DESC LIMIT 1").fetchone()
    rare = con.execute("SELECT label FROM entity WHERE degree <= 1 AND length(label) >= 4 ORDER BY id LIMIT 1 "
                       "OFFSET (SELECT count(*) / 2 FROM entity WHERE degree <= 1 AND length(label) >= 4)").fetchone()
    rare = rare[0] if rare else big
    ends = [con.execute(f"SELECT substr(key, -{n}) AS e FROM name WHERE length(key) > {n} "
                        "GROUP BY e ORDER BY count(*) DESC LIMIT 1").fetchone()[0] for n in (2, 4)]
    return [big, big[:1], rare, rare[1:4], *ends], big_iri


def browse(page: Page, url: str, q: str) -> tuple[float, float, float, int]:
    """(page load, typing -> first results, click -> entity shown), seconds, and the hits shown."""
    page.send("Page.navigate", {"url": "about:blank"})
    page.b.events.clear()
    start = time.perf_counter()
    page.send("Page.navigate", {"url": url})
    page.b.wait_event("Page.loadEventFired", page.session)
    load = time.perf_counter() - start
    page.eval(WAIT % "document.activeElement.id === 'q'")
    t0 = page.eval("performance.now()")
    page.send("Input.insertText", {"text": q})
    t1 = page.eval(WAIT % f"document.getElementById('hits').dataset.query === {json.dumps(q)}")
    shown = page.eval("document.querySelectorAll('#hits li').length")
    if not shown:
        return load, (t1 - t0) / 1000, float("nan"), 0
    t2 = page.eval("performance.now()")
    iri = page.eval("(() => { const a = document.querySelector('#hits a.node'); a.click(); return a.dataset.iri; })()")
    t3 = page.eval(WAIT % f"document.getElementById('entity').dataset.iri === {json.dumps(iri)}")
    return load, (t1 - t0) / 1000, (t3 - t2) / 1000, shown


def http(url: str) -> float:
    start = time.perf_counter()
    with urlopen(url, timeout=60) as r:
        r.read()
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("graph", type=Path, nargs="?")
    ap.add_argument("--names", type=int, help="instead of GRAPH: this many invented names (needs --store)")
    ap.add_argument("--store", type=Path, help="where a Turtle graph is loaded (default: beside it, store/)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--query", action="append", default=[])
    ap.add_argument("--no-index-build", action="store_true", help="do not time a second build of the name index")
    args = ap.parse_args()
    exe = find_chromium()
    if exe is None:
        sys.exit("no chromium on PATH")
    if args.names:
        if not args.store:
            sys.exit("--names needs --store")
        args.graph = args.store.with_name(f"names{args.names}.nt")
        if not store.is_store(args.store):
            invented(args.names, args.graph)
    elif args.graph is None:
        sys.exit("give GRAPH or --names N")
    folder = args.graph
    if not store.is_store(folder):
        folder = args.store or args.graph.with_name("store")
        if not store.is_store(folder):
            count, wall, cpu = timed(store.load_store, args.graph, folder)
            print(f"store load         {wall:8.1f} s wall {cpu:8.1f} s CPU   {count} triples (name index included)")
    if not args.no_index_build:  # the name index alone, built again beside the real one
        db = store.open_graph(folder)
        trial = names.path_for(folder).with_name("bench.names.sqlite")
        n, wall, cpu = timed(names.build, db, trial, names.fingerprint(folder))
        del db
        print(f"name index build   {wall:8.1f} s wall {cpu:8.1f} s CPU   {n} names, "
              f"{trial.stat().st_size / 1e6:.0f} MB")
        trial.unlink()
    names.ensure(folder)
    con = names.connect(names.path_for(folder))
    m = names.meta(con)
    picked, big_iri = queries(con)
    qs = args.query or picked
    big_degree = con.execute("SELECT degree FROM entity WHERE iri = ?", (big_iri,)).fetchone()[0]
    print(f"graph: {m['entities']} entities, {m['names']} names; biggest entity: {big_iri} ({big_degree} edges)")

    server = serve.make_server(folder, "127.0.0.1", 0, serve.Limits(workers=1, explore_workers=2, timeout=60))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    while not server.server.started:
        time.sleep(0.05)
    base = server.explorer_url
    assert base
    browser = Browser(exe, timeout=120)
    try:
        page = browser.open("about:blank")
        print(f"\n{'query':<28} {'hits':>4} {'page load':>10} {'type->results':>14} {'click->entity':>14}"
              f"  (best of {args.runs}, s)")
        for q in qs:
            runs = [browse(page, base, q) for _ in range(args.runs)]
            best = [min((r[i] for r in runs), key=lambda x: (x != x, x)) for i in range(3)]  # NaN last
            shown = q[:12] + " " * (28 - width(q[:12]))
            print(f"{shown} {runs[0][3]:>4} {best[0]:>10.3f} {best[1]:>14.3f} {best[2]:>14.3f}")
        # the biggest entity, opened from its link
        frag = "#" + urlencode({"e": big_iri})
        t = []
        for _ in range(args.runs):
            page.send("Page.navigate", {"url": "about:blank"})
            start = time.perf_counter()
            page.send("Page.navigate", {"url": base + frag})
            page.eval(WAIT % f"document.getElementById('entity').dataset.iri === {json.dumps(big_iri)}")
            t.append(time.perf_counter() - start)
        print(f"open the biggest entity from a link (page load included): {min(t):.3f} s")
        print("\nJSON requests over HTTP (best of runs, s):")
        for label, url in [(f"search {q[:20]}", f"{base}api/search?{urlencode({'q': q, 'limit': 30})}") for q in qs] + [
                ("entity (biggest)", f"{base}api/entity?{urlencode({'iri': big_iri, 'limit': 50})}"),
                ("mentions (biggest)", f"{base}api/mentions?{urlencode({'iri': big_iri, 'limit': 10})}")]:
            print(f"  {label:<30} {min(http(url) for _ in range(args.runs)):.3f}")
        page.close()
    finally:
        browser.close()
        server.shutdown()
        thread.join(10)
        server.close()


if __name__ == "__main__":
    main()
