"""Turtle, GraphML, CSV and per-article JSON exports, each written atomically.

Atomic: content goes to a temporary file in the target folder, then os.replace() swaps it
in, so an interrupted build never leaves a half-written file behind.
"""
from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import networkx as nx
import pyoxigraph as ox
from rdflib import XSD, BNode, Graph, URIRef
from rdflib.term import Literal, Node

from kg.export import Views, exporter
from kg.graph import ID, KnowledgeGraph
from kg.types import Extraction

_PREFIXES = {"kg", "id", "rdf", "rdfs", "xsd", "skos", "prov", "dcterms"}


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success it replaces `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; outputs are for sharing
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_text(path: Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def _ox(term: Node) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, BNode):
        return ox.BlankNode(str(term))
    assert isinstance(term, Literal), term  # a parsed or built graph holds no other terms
    if term.language:
        return ox.Literal(str(term), language=term.language)
    return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype or XSD.string)))


def write_turtle(graph: Graph, path: Path) -> None:
    """Turtle through pyoxigraph's serializer (30x faster than rdflib's at 1M triples), fed
    the triples in sorted order: the same graph always gives the same bytes."""
    prefixes = dict(sorted((p, str(ns)) for p, ns in graph.namespaces()
                           if p in _PREFIXES or str(ns).startswith(str(ID))))  # person:, article:…
    triples = (ox.Triple(_ox(s), _ox(p), _ox(o)) for s, p, o in sorted(graph))  # type: ignore[arg-type]
    with atomic_path(path) as tmp:
        ox.serialize(triples, str(tmp), ox.RdfFormat.TURTLE, prefixes=prefixes)


def write_graphml(graph: nx.MultiDiGraph, path: Path) -> None:
    flat = nx.MultiDiGraph()
    for n, d in graph.nodes(data=True):  # GraphML holds scalars only: lists become JSON text
        flat.add_node(n, **{k: (json.dumps(v, ensure_ascii=False) if isinstance(v, (list, dict)) else v)
                            for k, v in d.items()})
    for u, v, k, d in graph.edges(keys=True, data=True):
        flat.add_edge(u, v, key=k, **d)
    with atomic_path(path) as tmp:
        nx.write_graphml(flat, tmp, encoding="utf-8")


_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> object:
    """Text a spreadsheet would run as a formula gets a leading ' (OWASP's CSV-injection advice)."""
    return f"'{value}" if isinstance(value, str) and value.startswith(_FORMULA) else value


class SafeWriter:
    """csv.writer whose cells cannot run as spreadsheet formulas (also kg.stream.write's)."""

    def __init__(self, out: IO[str]) -> None:
        self.writer = csv.writer(out)

    def writerow(self, row: list[object]) -> None:
        self.writer.writerow([_cell(v) for v in row])


def write_csvs(kgraph: KnowledgeGraph, entities_path: Path, relations_path: Path) -> None:
    ents = io.StringIO()
    w = SafeWriter(ents)
    w.writerow(["iri", "type", "name", "aliases", "articles", "confidence"])
    for iri in sorted(kgraph.nodes):
        n = kgraph.nodes[iri]
        docs = sorted({m.evidence.doc_id for m in n.mentions})
        w.writerow([iri, n.type, n.name, "|".join(sorted(n.aliases)), "|".join(docs), round(n.confidence, 2)])
    rels = io.StringIO()
    w = SafeWriter(rels)
    w.writerow(["head", "relation", "tail", "role", "amount", "confidence", "article", "sentence"])
    for key in sorted(kgraph.edges):
        e = kgraph.edges[key]
        w.writerow([kgraph.nodes[e.head].name, e.relation, kgraph.nodes[e.tail].name, e.role or "",
                    e.amount or "", round(e.confidence, 2), e.evidence[0].doc_id, e.evidence[0].sentence])
    write_text(entities_path, ents.getvalue())
    write_text(relations_path, rels.getvalue())


def write_json(extraction: Extraction, folder: Path) -> Path:
    """`<article path>.json` in the gold format of ANNOTATION.md: sub/a.txt -> folder/sub/a.json,
    so articles of one name in two subfolders keep two files."""
    path = folder / Path(extraction.article.doc_id).with_suffix(".json")
    write_text(path, json.dumps(extraction.to_gold(), ensure_ascii=False, indent=2) + "\n")
    return path


@exporter("turtle")
def export_turtle(views: Views, out: Path) -> list[Path]:
    write_turtle(views.rdf, out / "graph.ttl")
    return [out / "graph.ttl"]


@exporter("graphml")
def export_graphml(views: Views, out: Path) -> list[Path]:
    write_graphml(views.nx, out / "graph.graphml")
    return [out / "graph.graphml"]


@exporter("csv")
def export_csv(views: Views, out: Path) -> list[Path]:
    paths = [out / "entities.csv", out / "relations.csv"]
    write_csvs(views.kgraph, *paths)
    return paths
