"""Merge across articles in bounded memory: kg.graph.merge's rules, as tasks over record groups.

Records come in groups (consecutive partitions, in doc-id order). Every step is a task on one group
or one merge partition, so the same functions run in a loop here or as Dask tasks (kg.stream.cluster).

1. first_keys (per group) + resolve: kg.graph.merge lets only the first occurrence of a
   (type, merge key) key decide its node, so each group reports its first occurrences, the
   earliest of each key wins, and the entity table is built from those alone, in order: the table
   grows with the vocabulary, not with the corpus. Keys, labels and joining aliases come in the
   records (kg.graph.merge_names, which qualifies relative names such as 区委 by the article's place).
2. spill (per group): each entity occurrence and relation becomes a small fact in the merge
   partition of its node (for a relation, of its head); partitions are ranges of node IRIs. Each
   group writes its own file per partition: this is the shuffle.
3. reduce (per partition): reads its facts from every group, in group order, and groups them by
   node and edge; partitions come out in IRI order.
"""
from __future__ import annotations

import json
from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from kg.graph import _hash, entity_iri
from kg.resolve import norm as _norm
from kg.stream.records import Record

SEP = "\x1f"
MAX_PARTS = 256
MAX_SOURCES = 1000  # (doc, sentence) sources a node keeps for GraphML; graph.ttl has every mention
norm = lru_cache(maxsize=1 << 18)(_norm)  # names recur across articles: normalise each once


@dataclass
class EntityTable:
    """Every node: its IRI, type and name; `keys` maps "type<SEP>merge key" to a node id."""
    keys: dict[str, int] = field(default_factory=dict)
    iris: list[str] = field(default_factory=list)
    types: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    rank: array = field(default_factory=lambda: array("l"))  # node id -> position in IRI order
    articles: int = 0
    _order: array | None = None

    def node(self, etype: str, key: str) -> int:
        return self.keys[etype + SEP + key]

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


First = tuple[tuple[int, int, int], str, str, str, list[str]]  # (position, type, key, label, joins)


def first_keys(records: Iterable[Record], group: int) -> tuple[int, dict[str, First]]:
    """(articles, each key's first occurrence in this group)."""
    firsts: dict[str, First] = {}
    n = -1
    for n, record in enumerate(records):
        for j, (etype, _name, _aliases, _conf, _mentions, label, key, joins) in enumerate(record["ents"]):
            if etype + SEP + key not in firsts:
                firsts[etype + SEP + key] = ((group, n, j), etype, key, label, joins)
    return n + 1, firsts


def resolve(groups: Iterable[tuple[int, dict[str, First]]]) -> EntityTable:
    """The entity table from every group's first occurrences, replayed in doc-id order: a key
    joins the node of one of its joining aliases already known, else becomes a new node
    (kg.graph.merge, exactly: later occurrences of a known key change nothing)."""
    table = EntityTable()
    earliest: dict[str, First] = {}
    for n, firsts in groups:
        table.articles += n
        for key, first in firsts.items():
            if key not in earliest or first[0] < earliest[key][0]:
                earliest[key] = first
    keys, iris = table.keys, table.iris
    for type_key, (_pos, etype, key, label, joins) in sorted(earliest.items(), key=lambda item: item[1][0]):
        node = next((keys[etype + SEP + a] for a in joins if etype + SEP + a in keys), None)
        if node is None:
            node = len(iris)
            iris.append(str(entity_iri(etype, key)))
            table.types.append(etype)
            table.names.append(label)
        keys[type_key] = node
    order = sorted(range(len(iris)), key=iris.__getitem__)
    table.rank = array("l", [0]) * len(iris)
    for pos, node in enumerate(order):
        table.rank[node] = pos
    return table


def n_parts(table: EntityTable, articles_per_part: int = 2000) -> int:
    """Merge partitions: more with more articles (each is reduced alone in memory)."""
    return max(1, min(MAX_PARTS, len(table), -(-table.articles // articles_per_part)))


def part_of(table: EntityTable, parts: int, rank: int) -> int:
    return rank * parts // max(1, len(table))


def fact_path(folder: Path, kind: str, part: int, group: int) -> Path:
    return Path(folder) / f"{kind}-{part:04d}-{group:05d}.jsonl"


def local_nodes(record: Record, table: EntityTable) -> dict[str, int]:
    """An article's entity names -> nodes (by name, as relations name their ends)."""
    return {name: table.node(etype, key) for etype, name, _a, _c, _m, _label, key, _j in record["ents"]}


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
    sources: list[tuple[str, str]]    # (doc, sentence) of its mentions: the first MAX_SOURCES
    sources_total: int                # how many there are


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
    evidence: list[str]               # evidence node hashes (see kg.graph._ev_node), sorted


def spill(table: EntityTable, records: Iterable[Record], group: int, folder: Path, parts: int) -> Iterator[Record]:
    """Write one group's node and edge facts to its file of each merge partition, yielding each
    record once spilled (so the article-level Turtle is written in the same pass)."""
    rank, dumps = table.rank, json.dumps
    files = [(fact_path(folder, "nodes", k, group).open("w", encoding="utf-8"),
              fact_path(folder, "edges", k, group).open("w", encoding="utf-8")) for k in range(parts)]
    try:
        for record in records:
            doc, sents = record["doc"], record["sents"]
            local = local_nodes(record, table)
            for etype, name, aliases, conf, mentions, _label, key, _joins in record["ents"]:
                node = table.node(etype, key)
                own = norm(table.names[node])
                fact = [rank[node], conf, [a for a in [*aliases, name] if norm(a) != own],
                        doc if mentions else None, sorted({sents[m[2]][0] for m in mentions})]
                files[part_of(table, parts, fact[0])][0].write(dumps(fact, ensure_ascii=False) + "\n")
            for h, t, (_head, relation, _tail, ev, role, amount, conf) in kept_relations(record, local):
                sentence, _index, start, end = sents[ev]
                fact = [rank[h], relation, rank[t], conf, role, amount, doc, sentence, _hash(doc, start, end)]
                files[part_of(table, parts, fact[0])][1].write(dumps(fact, ensure_ascii=False) + "\n")
            yield record
    finally:
        for nodes, edges in files:
            nodes.close()
            edges.close()


def merged(table: EntityTable, folder: Path, part: int, groups: int,
           keep_sources: int = MAX_SOURCES) -> Iterator[tuple[MergedNode, list[MergedEdge]]]:
    """One merge partition's nodes, in IRI order, each with its outgoing edges sorted by
    (relation, tail IRI). Facts are read in group order, so the first role, amount and evidence
    in doc-id order win, as in kg.graph.merge."""
    nodes = _reduce_nodes(table, [fact_path(folder, "nodes", part, g) for g in range(groups)], keep_sources)
    edges = _reduce_edges([fact_path(folder, "edges", part, g) for g in range(groups)])
    for rank in sorted(nodes):
        yield nodes[rank], sorted(edges.get(rank, ()), key=lambda e: (e.relation, e.tail))


def _lines(paths: list[Path]) -> Iterator[str]:
    for path in paths:
        with path.open(encoding="utf-8") as f:
            yield from f


class _Sources:
    """A node's (doc, sentence) sources: how many, and the first `keep` in sorted order. A hub
    (the city of a local paper) is named in a sentence of most articles; keeping them all would
    make memory grow with the corpus. Facts arrive in doc-id order, so distinct pairs are
    counted one doc at a time."""
    __slots__ = ("keep", "kept", "total", "doc", "seen")

    def __init__(self, keep: int):
        self.keep, self.total = keep, 0
        self.kept: set[tuple[str, str]] = set()
        self.doc: str | None = None
        self.seen: set[str] = set()

    def add(self, doc: str, sentences: list[str]) -> None:
        if doc != self.doc:
            self.doc, self.seen = doc, set()
        new = [s for s in sentences if s not in self.seen]
        self.seen.update(new)
        self.total += len(new)
        self.kept.update((doc, s) for s in new)
        if len(self.kept) > 2 * self.keep:
            self.kept = set(sorted(self.kept)[:self.keep])

    def first(self) -> list[tuple[str, str]]:
        return sorted(self.kept)[:self.keep]


def _reduce_nodes(table: EntityTable, paths: list[Path], keep_sources: int) -> dict[int, MergedNode]:
    acc: dict[int, tuple[list[float], set[str], set[str], _Sources]] = {}
    for line in _lines(paths):
        rank, conf, aliases, doc, sentences = json.loads(line)
        a = acc.get(rank)
        if a is None:
            a = acc[rank] = ([0.0], set(), set(), _Sources(keep_sources))
        a[0][0] = max(a[0][0], conf)
        a[1].update(aliases)
        if doc is not None:
            a[2].add(doc)
            a[3].add(doc, sentences)
    out = {}
    for rank, (conf, aliases, docs, sources) in acc.items():
        node = table.at(rank)
        out[rank] = MergedNode(rank, table.iris[node], table.types[node], table.names[node], sorted(aliases),
                               conf[0], sorted(docs), sources.first(), sources.total)
    return out


def _reduce_edges(paths: list[Path]) -> dict[int, list[MergedEdge]]:
    acc: dict[tuple[int, str, int], MergedEdge] = {}
    evidence: dict[tuple[int, str, int], set[str]] = {}
    for line in _lines(paths):
        head, relation, tail, conf, role, amount, doc, sentence, ev = json.loads(line)
        e = acc.get((head, relation, tail))
        if e is None:
            e = acc[(head, relation, tail)] = MergedEdge(head, relation, tail, 0.0, None, None, doc, sentence, [])
            evidence[(head, relation, tail)] = set()
        e.role = e.role or role
        e.amount = e.amount or amount
        e.confidence = max(e.confidence, conf)
        evidence[(head, relation, tail)].add(ev)
    out: dict[int, list[MergedEdge]] = {}
    for key, e in acc.items():
        e.evidence = sorted(evidence[key])
        out.setdefault(e.head, []).append(e)
    return out
