"""Exports written while the merged graph streams past: Turtle, CSV, GraphML, a capped HTML view.

Turtle goes straight from records and merged nodes to pyoxigraph's serializer, never through an
rdflib Graph; it has the same triples as kg.graph.to_rdf. Its order is fixed by the data alone
(articles in doc-id order, each with its mention and evidence nodes; then entities in IRI order, each
followed by its statements), so the same input gives the same bytes, whatever the partitioning.
The CSV files have the bytes of kg.export.files.write_csvs; GraphML reads back (networkx) as
kg.graph.to_networkx's graph; the HTML page shows the most connected entities.
"""
from __future__ import annotations

import csv
import io
import json
import shutil
from collections.abc import Iterable, Iterator
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import IO
from xml.sax.saxutils import escape, quoteattr

import networkx as nx
import pyoxigraph as ox
from rdflib import RDF, RDFS, XSD
from rdflib.namespace import DCTERMS, PROV, SKOS

from kg.export import html
from kg.export.files import SafeWriter, atomic_path, write_text
from kg.graph import ID, RECORD_KINDS, _hash, article_iri, entity_iri
from kg.schema import load as load_schema
from kg.stream.merge import EntityTable, MergedEdge, MergedNode, kept_relations, local_nodes
from kg.stream.records import Record
from kg.vocab import KG, Names


@lru_cache(maxsize=1)
def prefixes() -> dict[str, str]:
    """The prefixes kg.export.files.write_turtle binds (one per entity class of the schema in use)."""
    kinds = (*(t.lower() for t in load_schema().entity_types), *RECORD_KINDS)
    return dict(sorted({"kg": str(KG._NS), "id": str(ID), "rdf": str(RDF), "rdfs": str(RDFS), "xsd": str(XSD),
                        "skos": str(SKOS), "prov": str(PROV), "dcterms": str(DCTERMS),
                        **{kind: f"{ID}{kind}/" for kind in kinds}}.items()))

# Triples are written as N-Triples text, which pyoxigraph parses and serializes as Turtle: a third
# less CPU than building pyoxigraph terms one by one in Python, for the same bytes.
def _iri(iri: object) -> str:
    return f"<{iri}>"


A, LABEL, PREF, ALT = _iri(RDF.type), _iri(RDFS.label), _iri(SKOS.prefLabel), _iri(SKOS.altLabel)
DERIVED, TITLE, DATE = _iri(PROV.wasDerivedFrom), _iri(DCTERMS.title), _iri(DCTERMS.date)
SUBJ, PRED, OBJ = _iri(RDF.subject), _iri(RDF.predicate), _iri(RDF.object)
K = {name: _iri(KG[name]) for name in KG.__annotations__}


@lru_cache(maxsize=256)
def _schema_term(name: str) -> str:
    """An entity class or relation, by the schema in use (as kg.graph.to_rdf names them)."""
    return _iri(load_schema().iri(name))
_STRING, _INT, _DEC = f"^^{_iri(XSD.string)}", f"^^{_iri(XSD.integer)}", f"^^{_iri(XSD.decimal)}"


def _text(text: str) -> str:
    """An N-Triples string: JSON's escapes (quote, backslash, control characters) are N-Triples' too."""
    return json.dumps(text, ensure_ascii=False)


def _zh(text: str) -> str:
    return _text(text) + "@zh"


def _int(n: int) -> str:
    return f'"{n}"{_INT}'


@lru_cache(maxsize=256)
def _conf(c: float) -> str:
    return f'"{Decimal(str(round(c, 2)))}"{_DEC}'   # as kg.graph.to_rdf


@lru_cache(maxsize=1 << 16)
def _article(doc: str) -> str:
    return _iri(article_iri(doc))


def article_triples(record: Record, table: EntityTable) -> list[str]:
    """N-Triples lines: an article node, then its mention and evidence nodes in IRI order (all local to it)."""
    doc, sents = record["doc"], record["sents"]
    art = _article(doc)
    out = [f"{art} {A} {K['Article']} .\n", f"{art} {K['fileName']} {_text(doc)}{_STRING} .\n",
           f"{art} {K['sha256']} {_text(record['sha256'])}{_STRING} .\n"]
    if record["title"]:
        out.append(f"{art} {TITLE} {_zh(record['title'])} .\n")
    if record["date"]:
        out.append(f"{art} {DATE} {_text(record['date'])}{_STRING} .\n")
    for name in record["reporters"]:
        out.append(f"{art} {K['reporter']} {_iri(entity_iri(Names.Person, name))} .\n")
    # mention and evidence nodes, as kg.graph._ev_node makes them
    local = local_nodes(record, table)
    nodes: dict[str, tuple[int, int, int, str | None]] = {}
    for (etype, _name, _aliases, _conf, spans, _label, key, _joins) in record["ents"]:
        node = table.iris[table.node(etype, key)]
        for start, end, ev in spans:
            nodes.setdefault(f"{ID}mention/{_hash(doc, start, end, node)}", (ev, start, end, node))
    for _h, _t, row in kept_relations(record, local):
        _sentence, _index, start, end = sents[row[3]]
        nodes.setdefault(f"{ID}evidence/{_hash(doc, start, end)}", (row[3], start, end, None))
    sentence_lit = [_zh(s[0]) for s in sents]
    mention, evidence, sentence = K["Mention"], K["Evidence"], K["sentence"]
    index, begin, finish, of = K["sentenceIndex"], K["beginIndex"], K["endIndex"], K["mentionOf"]
    for iri in sorted(nodes):
        ev, start, end, entity = nodes[iri]
        s = f"<{iri}>"
        out.append(f"{s} {A} {evidence if entity is None else mention} .\n{s} {DERIVED} {art} .\n"
                   f"{s} {sentence} {sentence_lit[ev]} .\n{s} {index} {_int(sents[ev][1])} .\n"
                   f"{s} {begin} {_int(start)} .\n{s} {finish} {_int(end)} .\n")
        if entity is not None:
            out.append(f"{s} {of} <{entity}> .\n")
    return out


def node_triples(node: MergedNode, edges: list[MergedEdge], table: EntityTable) -> list[str]:
    """N-Triples lines: an entity with its facts and outgoing relations, then each relation's statement node."""
    s, name = _iri(node.iri), _zh(node.name)
    out = [f"{s} {A} {_schema_term(node.type)} .\n{s} {LABEL} {name} .\n{s} {PREF} {name} .\n"
           f"{s} {K['confidence']} {_conf(node.confidence)} .\n"]
    out += [f"{s} {ALT} {_zh(alias)} .\n" for alias in node.aliases]
    out += [f"{s} {DERIVED} {_article(doc)} .\n" for doc in node.docs]
    tails = [table.iri_at(e.tail) for e in edges]
    out += [f"{s} {_schema_term(e.relation)} <{o}> .\n" for e, o in zip(edges, tails)]
    for e, o in zip(edges, tails):
        st = f"<{ID}statement/{_hash(node.iri, e.relation, o)}>"
        out.append(f"{st} {A} {K['Statement']} .\n{st} {SUBJ} {s} .\n{st} {PRED} {_schema_term(e.relation)} .\n"
                   f"{st} {OBJ} <{o}> .\n{st} {K['confidence']} {_conf(e.confidence)} .\n")
        if e.role:
            out.append(f"{st} {K['role']} {_zh(e.role)} .\n")
        if e.amount:
            out.append(f"{st} {K['amount']} {_int(e.amount)} .\n")
        out += [f"{st} {K['evidence']} <{ID}evidence/{ev}> .\n" for ev in e.evidence]
    return out


def turtle_chunk(lines: Iterable[list[str]], path: Path) -> int:
    """One piece of graph.ttl from batches of N-Triples lines: pyoxigraph's Turtle with the shared
    prefixes (`assemble` joins the pieces). Returns the number of triples."""
    count = 0

    def triples() -> Iterator[ox.Triple]:
        nonlocal count
        for batch in lines:
            text = "".join(batch)
            count += text.count(" .\n")
            yield from ox.parse(text, format=ox.RdfFormat.N_TRIPLES)
    ox.serialize(triples(), str(path), ox.RdfFormat.TURTLE, prefixes=prefixes())
    return count


@lru_cache(maxsize=1)
def turtle_header() -> bytes:
    """What pyoxigraph writes before the first triple (it writes nothing for no triple)."""
    probe = ox.NamedNode("urn:x:probe")
    text = ox.serialize([ox.Triple(probe, probe, probe)], format=ox.RdfFormat.TURTLE, prefixes=prefixes()) or b""
    return text[:text.index(b"<urn:x:probe>")]


class Chunks:
    """One merge partition's pieces of the CSV, GraphML and HTML outputs, written as its merged
    nodes stream past (in IRI order); `assemble` joins every partition's pieces in order."""

    def __init__(self, table: EntityTable, folder: Path, part: int, page_sources: int = html.MAX_PAGE_SOURCES):
        self.table, self.page_sources = table, page_sources
        self.degree: dict[int, int] = {}
        self.nodes = self.edges = 0
        names = ("entities.csv", "relations.csv", "nodes.graphml", "edges.graphml", "html.jsonl")
        self.files = [chunk_path(folder, name, part).open("w", encoding="utf-8", newline="") for name in names]
        self.ents, self.rels = SafeWriter(self.files[0]), SafeWriter(self.files[1])

    def add(self, node: MergedNode, edges: list[MergedEdge]) -> None:
        name_at, iri_at = self.table.name_at, self.table.iri_at
        self.nodes += 1
        self.edges += len(edges)
        # CSV, as kg.export.files.write_csvs
        self.ents.writerow([node.iri, node.type, node.name, "|".join(node.aliases), "|".join(node.docs),
                            round(node.confidence, 2)])
        for e in edges:
            self.rels.writerow([node.name, e.relation, name_at(e.tail), e.role or "", e.amount or "",
                                round(e.confidence, 2), e.doc, e.sentence])
        # GraphML, read back by networkx as kg.graph.to_networkx's graph
        sources = [{"doc": d, "sentence": s} for d, s in node.sources]
        self.files[2].write(f"    <node id={quoteattr(node.iri)}>" + _data("n", (
            node.type, node.name, json.dumps(node.aliases, ensure_ascii=False), repr(float(node.confidence)),
            json.dumps(sources, ensure_ascii=False),
            node.sources_total if node.sources_total > len(sources) else None)) + "</node>\n")
        for e in edges:
            self.files[3].write(f"    <edge source={quoteattr(node.iri)} target={quoteattr(iri_at(e.tail))} "
                                f"id={quoteattr(e.relation)}>" + _data("e", (
                                    e.relation, repr(float(e.confidence)), e.doc, e.sentence, e.role or None,
                                    e.amount or None)) + "</edge>\n")
        # HTML candidates: every node and edge, in short; `assemble` keeps the most connected
        self.degree[node.rank] = self.degree.get(node.rank, 0) + len(edges)
        self.files[4].write(json.dumps(["n", node.rank, node.iri, node.type, node.name, node.aliases,
                                        node.confidence, sources[:self.page_sources], node.sources_total],
                                       ensure_ascii=False) + "\n")
        for e in edges:
            self.degree[e.tail] = self.degree.get(e.tail, 0) + 1
            self.files[4].write(json.dumps(["e", e.head, e.tail, e.relation, e.confidence, e.doc, e.sentence,
                                            e.role, e.amount], ensure_ascii=False) + "\n")

    def close(self) -> None:
        for f in self.files:
            f.close()


def chunk_path(folder: Path, name: str, part: int) -> Path:
    return Path(folder) / f"{name}.{part:05d}"


def _data(prefix: str, values: Iterable[object]) -> str:
    return "".join(f'<data key="{prefix}{i}">{escape(str(v))}</data>' for i, v in enumerate(values) if v is not None)


# sources: the first kg.stream.merge.MAX_SOURCES; sources_total only where there are more
_NODE_KEYS = (("type", "string"), ("label", "string"), ("aliases", "string"), ("confidence", "double"),
              ("sources", "string"), ("sources_total", "long"))
_EDGE_KEYS = (("relation", "string"), ("confidence", "double"), ("doc", "string"), ("sentence", "string"),
              ("role", "string"), ("amount", "long"))
GRAPHML_HEADER = ("<?xml version='1.0' encoding='utf-8'?>\n"
                  '<graphml xmlns="http://graphml.graphdrawing.org/xmlns" '
                  'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
                  'xsi:schemaLocation="http://graphml.graphdrawing.org/xmlns '
                  'http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd">\n'
                  + "".join(f'  <key id="{prefix}{i}" for="{kind}" attr.name="{name}" attr.type="{typ}" />\n'
                            for prefix, kind, keys in (("n", "node", _NODE_KEYS), ("e", "edge", _EDGE_KEYS))
                            for i, (name, typ) in enumerate(keys))
                  + '  <graph edgedefault="directed">\n')
GRAPHML_FOOTER = "  </graph>\n</graphml>\n"


def _copy(parts: Iterable[Path], out: IO[bytes], skip: bytes = b"") -> None:
    for path in parts:
        with path.open("rb") as f:
            if skip and f.read(len(skip)) not in (skip, b""):
                raise ValueError(f"{path}: does not start with the shared Turtle prefixes")
            shutil.copyfileobj(f, out, 1 << 20)


def assemble(out: Path, work: Path, groups: int, parts: int, degree: dict[int, int], totals: tuple[int, int],
             title: str, max_nodes: int = html.MAX_NODES) -> None:
    """Join the pieces into the five output files, each replaced atomically."""
    with atomic_path(out / "graph.ttl") as tmp, tmp.open("wb") as f:
        f.write(turtle_header())
        _copy([chunk_path(work, "articles.ttl", g) for g in range(groups)], f, turtle_header())
        _copy([chunk_path(work, "nodes.ttl", k) for k in range(parts)], f, turtle_header())
    header = io.StringIO()
    csv.writer(header).writerow(["iri", "type", "name", "aliases", "articles", "confidence"])
    csv.writer(header).writerow(["head", "relation", "tail", "role", "amount", "confidence", "article", "sentence"])
    heads = header.getvalue().encode("utf-8").split(b"\r\n")
    for name, head in (("entities.csv", heads[0]), ("relations.csv", heads[1])):
        with atomic_path(out / name) as tmp, tmp.open("wb") as f:
            f.write(head + b"\r\n")
            _copy([chunk_path(work, name, k) for k in range(parts)], f)
    with atomic_path(out / "graph.graphml") as tmp, tmp.open("wb") as f:
        f.write(GRAPHML_HEADER.encode("utf-8"))
        _copy([chunk_path(work, "nodes.graphml", k) for k in range(parts)], f)
        _copy([chunk_path(work, "edges.graphml", k) for k in range(parts)], f)
        f.write(GRAPHML_FOOTER.encode("utf-8"))
    write_html(out / "graph.html", [chunk_path(work, "html.jsonl", k) for k in range(parts)], degree, totals,
               title, max_nodes)


def write_html(path: Path, chunks: list[Path], degree: dict[int, int], totals: tuple[int, int], title: str,
               max_nodes: int) -> None:
    """The overview page: the `max_nodes` most connected entities (ties: IRI order) and the edges
    among them; only those are read back from the chunks."""
    keep = set(sorted(degree, key=lambda r: (-degree[r], r))[:max_nodes])
    g, iri = nx.MultiDiGraph(), {}
    for line in _lines(chunks):  # a node's row comes before its outgoing edges
        row = json.loads(line)
        if row[0] == "n" and row[1] in keep:
            _, rank, node_iri, typ, name, aliases, conf, sources, total = row
            iri[rank] = node_iri
            g.add_node(node_iri, type=typ, label=name, aliases=aliases, confidence=conf, sources=sources,
                       sources_total=total)
    rows = (json.loads(line) for line in _lines(chunks))
    edges = (row for row in rows if row[0] == "e" and row[1] in keep and row[2] in keep)
    # as kg.export.html.cap: the most confident, ties by head IRI, tail IRI, relation
    for _, head, tail, relation, conf, doc, sentence, role, amount in html.strongest(
            edges, html.EDGES_PER_NODE * max_nodes, lambda r: (r[4], iri[r[1]], iri[r[2]], r[3])):
        attrs = {"relation": relation, "confidence": conf, "doc": doc, "sentence": sentence}
        if role:
            attrs["role"] = role
        if amount:
            attrs["amount"] = amount
        g.add_edge(iri[head], iri[tail], key=relation, **attrs)
    write_text(path, html.page(g, title, totals))


def _lines(paths: list[Path]) -> Iterator[str]:
    for p in paths:
        with p.open(encoding="utf-8") as f:
            yield from f
