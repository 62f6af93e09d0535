"""Query speed on a synthetic graph of ~1M triples shaped like `kg build`'s output.

    python benchmarks/query_benchmark.py [--scale 1.0] [--runs 3] [--seed 7]

Districts in a province > city > district tree, organizations, enterprises, projects and
people; every relation is a direct triple plus a kg:Statement with role/amount, confidence
and kg:Evidence; every entity has labels, articles and kg:Mention nodes. The graph is written
as Turtle by pyoxigraph, then loaded the way `kg query` loads it (in memory) and the way
`kg build --store` does (on disk). Each ready query in queries/ and a two-hop join
(person -> organization -> district) runs `--runs` times on both; the table shows the best
time, results fully read.
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterator

import pyoxigraph as ox

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from kg.sparql import query, store  # noqa: E402  (after the path tweak, for a plain checkout)
from kg.vocab import KG as KG_TERMS  # noqa: E402
from kg.vocab import Names  # noqa: E402

ID = "https://w3id.org/zhkg/id/"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
PROV = "http://www.w3.org/ns/prov#"
XSD = "http://www.w3.org/2001/XMLSchema#"

TWO_HOP = """SELECT ?person ?organization ?district WHERE {
  ?p kg:worksFor|kg:leads ?o . ?o kg:locatedIn ?d .
  ?p rdfs:label ?person . ?o rdfs:label ?organization . ?d rdfs:label ?district . }"""

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志海鹏"
ROLES = ["书记", "主任", "局长", "董事长", "总经理", "副主任", "副局长", "委员", "副书记", "处长"]
LEADING = {"书记", "主任", "局长", "董事长", "总经理"}


def nn(iri: str) -> ox.NamedNode:
    return ox.NamedNode(iri)


TYPE, LABEL, PREF, ALT = nn(RDF + "type"), nn(RDFS + "label"), nn(SKOS + "prefLabel"), nn(SKOS + "altLabel")
DERIVED = nn(PROV + "wasDerivedFrom")
K = {name: nn(str(KG_TERMS[name])) for name in KG_TERMS.__annotations__}  # the ontology's terms
SUBJ, PRED, OBJ = nn(RDF + "subject"), nn(RDF + "predicate"), nn(RDF + "object")


def zh(text: str) -> ox.Literal:
    return ox.Literal(text, language="zh")


def integer(n: int) -> ox.Literal:
    return ox.Literal(str(n), datatype=nn(XSD + "integer"))


class Synth:
    """Triples of the synthetic graph, streamed (nothing but names is kept in memory)."""

    def __init__(self, scale: float, seed: int) -> None:
        self.rng = random.Random(seed)
        self.scale = scale
        self.n_articles = max(10, int(3500 * scale))
        self.labels: dict[str, str] = {}  # iri -> name, to write evidence sentences
        self.counter = 0

    def _n(self, base: int) -> int:
        return max(3, int(base * self.scale))

    def _article(self) -> ox.NamedNode:
        return nn(f"{ID}article/{self.rng.randrange(self.n_articles):05d}.txt")

    def _evidence(self, kind: ox.NamedNode, sentence: str) -> Iterator[ox.Triple]:
        self.counter += 1
        node = nn(f"{ID}{'mention' if kind == K['Mention'] else 'evidence'}/{self.counter:x}")
        start = self.rng.randrange(5000)
        yield from (ox.Triple(node, TYPE, kind), ox.Triple(node, DERIVED, self._article()),
                    ox.Triple(node, K["sentence"], zh(sentence)),
                    ox.Triple(node, K["sentenceIndex"], integer(self.rng.randrange(80))),
                    ox.Triple(node, K["beginIndex"], integer(start)),
                    ox.Triple(node, K["endIndex"], integer(start + len(sentence))))

    def entity(self, etype: str, name: str) -> Iterator[ox.Triple]:
        iri = nn(f"{ID}{etype.lower()}/{name}")
        self.labels[iri.value] = name
        yield from (ox.Triple(iri, TYPE, K[etype]), ox.Triple(iri, LABEL, zh(name)), ox.Triple(iri, PREF, zh(name)),
                    ox.Triple(iri, K["confidence"], ox.Literal("0.9", datatype=nn(XSD + "decimal"))))
        if self.rng.random() < 0.3:
            yield ox.Triple(iri, ALT, zh(name[:1] + "某" + name[1:]))
        for _ in range(self.rng.choice((1, 1, 2))):
            mention = None
            for t in self._evidence(K["Mention"], f"据报道，{name}今年以来持续推进各项工作。"):
                mention = t.subject
                yield t
            yield ox.Triple(mention, K["mentionOf"], iri)
            yield ox.Triple(iri, DERIVED, self._article())

    def relation(self, head: str, rel: str, tail: str, role: str | None = None,
                 amount: int | None = None) -> Iterator[ox.Triple]:
        h, t, p = nn(head), nn(tail), K[rel]
        yield ox.Triple(h, p, t)
        self.counter += 1
        st = nn(f"{ID}statement/{self.counter:x}")
        confidence = ox.Literal("0.8", datatype=nn(XSD + "decimal"))
        yield from (ox.Triple(st, TYPE, K["Statement"]), ox.Triple(st, SUBJ, h), ox.Triple(st, PRED, p),
                    ox.Triple(st, OBJ, t), ox.Triple(st, K["confidence"], confidence))
        if role:
            yield ox.Triple(st, K["role"], zh(role))
        if amount:
            yield ox.Triple(st, K["amount"], integer(amount))
        for _ in range(self.rng.choice((1, 1, 1, 2))):
            ev = None
            sentence = f"{self.labels[head]}{role or ''}表示，{self.labels[tail]}建设进展顺利。"
            for tr in self._evidence(K["Evidence"], sentence):
                ev = tr.subject
                yield tr
            yield ox.Triple(st, K["evidence"], ev)

    def triples(self) -> Iterator[ox.Triple]:
        rng = self.rng
        for i in range(self.n_articles):
            a = nn(f"{ID}article/{i:05d}.txt")
            yield ox.Triple(a, TYPE, K["Article"])
            yield ox.Triple(a, K["fileName"], ox.Literal(f"{i:05d}.txt"))
        # districts: province > city > district, each located in its parent
        leaves: list[str] = []
        for p in range(self._n(27)):
            prov = f"第{p}省"
            yield from self.entity(Names.District, prov)
            for c in range(10):
                city = f"{prov}第{c}市"
                yield from self.entity(Names.District, city)
                yield from self.relation(f"{ID}district/{city}", Names.locatedIn, f"{ID}district/{prov}")
                for d in range(5):
                    dist = f"{city}第{d}区"
                    yield from self.entity(Names.District, dist)
                    yield from self.relation(f"{ID}district/{dist}", Names.locatedIn, f"{ID}district/{city}")
                    leaves.append(f"{ID}district/{dist}")
        employers: list[str] = []
        for etype, count, suffix in ((Names.Organization, 5300, "局"), (Names.Enterprise, 3500, "集团")):
            for i in range(self._n(count)):
                name = f"{rng.choice(SURNAMES)}{rng.choice(GIVEN)}{i}{suffix}"
                yield from self.entity(etype, name)
                iri = f"{ID}{etype.lower()}/{name}"
                yield from self.relation(iri, Names.locatedIn, rng.choice(leaves))
                employers.append(iri)
        for i in range(self._n(5300)):
            name = f"{rng.choice(SURNAMES)}{rng.choice(GIVEN)}{i}项目"
            yield from self.entity(Names.Project, name)
            iri = f"{ID}project/{name}"
            yield from self.relation(iri, Names.locatedIn, rng.choice(leaves))
            for _ in range(rng.choice((1, 1, 2))):
                investor = rng.choice(employers) if rng.random() < 0.9 else rng.choice(leaves)
                amount = rng.randrange(1, 500) * 10_000_000 if rng.random() < 0.7 else None
                yield from self.relation(investor, Names.invests, iri, amount=amount)
        for i in range(self._n(11500)):
            name = f"{rng.choice(SURNAMES)}{rng.choice(GIVEN)}{i}"
            yield from self.entity(Names.Person, name)
            for _ in range(rng.choice((1, 1, 2))):
                role = rng.choice(ROLES)
                rel = Names.leads if role in LEADING else Names.worksFor
                employer = rng.choice(employers) if rng.random() < 0.9 else rng.choice(leaves)
                yield from self.relation(f"{ID}person/{name}", rel, employer, role=role)


def best(store_: ox.Store, text: str, runs: int) -> tuple[int, float, float]:
    """(rows, best seconds, median seconds), reading every result."""
    times, rows = [], 0
    for _ in range(runs):
        t = time.perf_counter()
        result = query.run(store_, text)
        rows = len(list(result)) if not isinstance(result, ox.QueryBoolean) else 1
        times.append(time.perf_counter() - t)
    return rows, min(times), statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=1.0, help="1.0 is about a million triples")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        ttl = Path(tmp) / "graph.ttl"
        synth = Synth(args.scale, args.seed)
        t = time.perf_counter()
        with ttl.open("wb") as f:
            ox.serialize(synth.triples(), f, format=ox.RdfFormat.TURTLE,
                         prefixes={k: v for k, v in query.PREFIXES.items() if k != "id"})
        generate = time.perf_counter() - t
        t = time.perf_counter()
        memory = store.open_graph(ttl)
        load_memory = time.perf_counter() - t
        t = time.perf_counter()
        triples = store.load_store(ttl, Path(tmp) / "store")
        load_disk = time.perf_counter() - t
        disk = store.open_graph(Path(tmp) / "store")
        print(f"synthetic graph: {triples:,} triples, {ttl.stat().st_size / 1e6:.0f} MB Turtle "
              f"(generated and written in {generate:.1f} s)")
        print(f"load: in memory {load_memory:.2f} s, on-disk store {load_disk:.2f} s\n")

        org = next(v for v in synth.labels.values() if v.endswith("局"))
        cases = [(p.name, query.read_query(str(p))) for p in sorted((ROOT / "queries").glob("*.rq"))]
        cases = [(n, query.set_params(q, {"name": org}) if n == "entity.rq" else q) for n, q in cases]
        cases.append(("two-hop join (person>org>district)", TWO_HOP))
        rows_out = []
        for name, text in cases:
            rows, mem_best, mem_median = best(memory, text, args.runs)
            _, disk_best, _ = best(disk, text, args.runs)
            rows_out.append([name, f"{rows:,}", f"{mem_best:.3f}", f"{mem_median:.3f}", f"{disk_best:.3f}"])
        print(query.table(["query", "rows", "memory best s", "memory median s", "disk best s"], rows_out), end="")
        del memory, disk


if __name__ == "__main__":
    main()
