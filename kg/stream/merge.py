"""Merge across articles in bounded memory: kg.graph.merge's rules, as passes over records.

1. resolve: reads entity names only, in doc-id order, and builds the entity table: which
   (type, normalised name) key is which node. kg.graph.merge lets only the first article using a
   key decide its node, so the table grows with the vocabulary, not with the corpus.
2. spill: writes each entity occurrence and each relation as a small fact to the partition of its
   node (for a relation, of its head), partitions being ranges of node IRIs. This is the shuffle.
3. reduce: each partition alone groups its facts by node and edge. Partitions come out in IRI
   order, so nodes and edges stream out sorted like kg.graph's and nothing global stays in memory.
"""
from __future__ import annotations

import json
import shutil
import tempfile
from array import array
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import IO, Iterable, Iterator

from kg.graph import _hash, entity_iri
from kg.resolve import norm as _norm
from kg.stream.records import Record

SEP = "\x1f"
MAX_PARTS = 256
norm = lru_cache(maxsize=1 << 18)(_norm)  # names recur across articles: normalise each once


@dataclass
class EntityTable:
    """Every node: its IRI, type and name; `keys` maps "type<SEP>normalised name" to a node id."""
    keys: dict[str, int] = field(default_factory=dict)
    iris: list[str] = field(default_factory=list)
    types: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    rank: array = field(default_factory=lambda: array("l"))  # node id -> position in IRI order
    articles: int = 0
    _order: array | None = None

    def node(self, etype: str, name: str) -> int:
        return self.keys[etype + SEP + norm(name)]

    def __len__(self) -> int:
        return len(self.iris)

    def at(self, rank: int) -> int:
        """The node id at a rank (the inverse of `rank`, built on first use)."""
        if self._order is None:
            self._order = array("l", [0]) * len(self.iris)
            for node, r in enumerate(self.rank):
                self._order[r] = node
        return self._order[rank]

    def iri_at(self, rank: int) -> str:
        return self.iris[self.at(rank)]

    def name_at(self, rank: int) -> str:
        return self.names[self.at(rank)]


def resolve(records: Iterable[Record]) -> EntityTable:
    """Pass 1, in doc-id order: a key joins the node of its own name, else of an alias of more than
    two characters already known, else becomes a new node (kg.graph.merge, exactly)."""
    table = EntityTable()
    keys, iris = table.keys, table.iris
    for record in records:
        table.articles += 1
        for etype, name, aliases, _conf, _mentions in record["ents"]:
            key = etype + SEP + norm(name)
            node = keys.get(key)
            if node is None:
                for alias in aliases:
                    short = norm(alias)
                    if len(short) > 2 and (node := keys.get(etype + SEP + short)) is not None:
                        break
            if node is None:
                node = len(iris)
                iris.append(str(entity_iri(etype, name)))
                table.types.append(etype)
                table.names.append(name)
            keys.setdefault(key, node)
    order = sorted(range(len(iris)), key=iris.__getitem__)
    table.rank = array("l", [0]) * len(iris)
    for pos, node in enumerate(order):
        table.rank[node] = pos
    return table


def local_nodes(record: Record, table: EntityTable) -> dict[str, int]:
    """An article's entity names -> nodes (by name, as relations name their ends)."""
    return {name: table.node(etype, name) for etype, name, *_ in record["ents"]}


def kept_relations(record: Record, local: dict[str, int]) -> Iterator[tuple[int, int, list]]:
    """(head node, tail node, relation row) of the relations that survive the merge."""
    for row in record["rels"]:
        h, t = local.get(row[0]), local.get(row[2])
        if h is not None and t is not None and h != t:
            yield h, t, row


@dataclass
class MergedNode:
    rank: int
    iri: str
    type: str
    name: str
    aliases: list[str]
    confidence: float
    docs: list[str]                   # articles that mention it
    sources: list[tuple[str, str]]    # (doc, sentence) of every mention


@dataclass
class MergedEdge:
    head: int                         # ranks
    relation: str
    tail: int
    confidence: float
    role: str | None
    amount: int | None
    doc: str                          # the first evidence, in doc-id order
    sentence: str
    evidence: list[str]               # evidence node hashes (see kg.graph._ev_node)


class Spill:
    """Facts partitioned by node rank range, on disk under `folder` (a private temporary folder)."""

    def __init__(self, table: EntityTable, folder: Path, articles_per_part: int = 2000):
        self.table = table
        self.folder = Path(tempfile.mkdtemp(prefix=".merge-", suffix=".tmp", dir=folder))
        # facts grow with articles, so does the number of partitions (each reduced alone in memory);
        # at most MAX_PARTS, as each has two files open while spilling
        self.parts = max(1, min(MAX_PARTS, len(table), -(-table.articles // articles_per_part)))
        self._files: list[tuple[IO[str], IO[str]]] = [
            (self._path("nodes", k).open("w", encoding="utf-8"), self._path("edges", k).open("w", encoding="utf-8"))
            for k in range(self.parts)]

    def _path(self, kind: str, k: int) -> Path:
        return self.folder / f"{kind}-{k:04d}.jsonl"

    def part(self, rank: int) -> int:
        return rank * self.parts // max(1, len(self.table))

    def add(self, seq: int, record: Record) -> None:
        """Pass 2: one article's node and edge facts, each to the partition of its node."""
        table, rank, dumps = self.table, self.table.rank, json.dumps
        doc, sents = record["doc"], record["sents"]
        local = local_nodes(record, table)
        for etype, name, aliases, conf, mentions in record["ents"]:
            node = table.node(etype, name)
            own = norm(table.names[node])
            fact = [rank[node], seq, conf, [a for a in aliases if norm(a) != own],
                    doc if mentions else None, sorted({sents[m[2]][0] for m in mentions})]
            self._files[self.part(fact[0])][0].write(dumps(fact, ensure_ascii=False) + "\n")
        for h, t, (_head, relation, _tail, ev, role, amount, conf) in kept_relations(record, local):
            sentence, _index, start, end = sents[ev]
            fact = [rank[h], relation, rank[t], seq, conf, role, amount, doc, sentence, _hash(doc, start, end)]
            self._files[self.part(fact[0])][1].write(dumps(fact, ensure_ascii=False) + "\n")

    def close(self) -> None:
        for nodes, edges in self._files:
            nodes.close()
            edges.close()

    def remove(self) -> None:
        self.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    def merged(self) -> Iterator[tuple[MergedNode, list[MergedEdge]]]:
        """Pass 3: each node, in IRI order, with its outgoing edges sorted by (relation, tail IRI)."""
        for k in range(self.parts):
            nodes = self._reduce_nodes(self._path("nodes", k))
            edges = self._reduce_edges(self._path("edges", k))
            for rank in sorted(nodes):
                yield nodes[rank], sorted(edges.get(rank, ()), key=lambda e: (e.relation, e.tail))

    def _reduce_nodes(self, path: Path) -> dict[int, MergedNode]:
        table = self.table
        acc: dict[int, tuple[list[float], set[str], set[str], set[tuple[str, str]]]] = {}
        with path.open(encoding="utf-8") as f:
            for line in f:
                rank, _seq, conf, aliases, doc, sentences = json.loads(line)
                a = acc.get(rank)
                if a is None:
                    a = acc[rank] = ([0.0], set(), set(), set())
                a[0][0] = max(a[0][0], conf)
                a[1].update(aliases)
                if doc is not None:
                    a[2].add(doc)
                    a[3].update((doc, s) for s in sentences)
        out = {}
        for rank, (conf, aliases, docs, sources) in acc.items():
            node = table.at(rank)
            out[rank] = MergedNode(rank, table.iris[node], table.types[node], table.names[node], sorted(aliases),
                                   conf[0], sorted(docs), sorted(sources))
        return out

    @staticmethod
    def _reduce_edges(path: Path) -> dict[int, list[MergedEdge]]:
        # facts are in doc-id order within a partition: the first role, amount and evidence win
        acc: dict[tuple[int, str, int], MergedEdge] = {}
        with path.open(encoding="utf-8") as f:
            for line in f:
                head, relation, tail, _seq, conf, role, amount, doc, sentence, ev = json.loads(line)
                e = acc.get((head, relation, tail))
                if e is None:
                    e = acc[(head, relation, tail)] = MergedEdge(head, relation, tail, 0.0, None, None, doc, sentence, [])
                e.role = e.role or role
                e.amount = e.amount or amount
                e.confidence = max(e.confidence, conf)
                e.evidence.append(ev)
        out: dict[int, list[MergedEdge]] = {}
        for e in acc.values():
            e.evidence = sorted(set(e.evidence))
            out.setdefault(e.head, []).append(e)
        return out
