"""What the explorer page asks for, answered in a query worker: search (the name index), an
entity's neighbourhood (its relation edges, grouped and paged) and the sources of an edge or an
entity (the sentences it was read from), all as JSON.

Every lookup from the store has its subject or object bound (pyoxigraph's quad indexes), so an
entity with 10^5 edges costs one page of them plus a count per relation, not a scan of the graph.
The relation properties are the ones the graph's statements name (kept in the name index).
"""
from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from typing import Any

import pyoxigraph as ox
from rdflib.namespace import DCTERMS, PROV, RDF, RDFS, SKOS

from kg.sparql import names
from kg.sparql.results import Answer
from kg.vocab import KG

MAX_LIMIT = 200  # items per page, whatever the client asks
JSON = "application/json"


def _n(iri: object) -> ox.NamedNode:
    return ox.NamedNode(str(iri))


Node = ox.NamedNode | ox.BlankNode | ox.Triple  # what may stand as a subject


TYPE, LABEL, ALT, DERIVED = _n(RDF.type), _n(RDFS.label), _n(SKOS.altLabel), _n(PROV.wasDerivedFrom)
SUBJECT, PREDICATE, OBJECT = _n(RDF.subject), _n(RDF.predicate), _n(RDF.object)
TITLE, DATE = _n(DCTERMS.title), _n(DCTERMS.date)
MENTION_OF, EVIDENCE, SENTENCE = _n(KG.mentionOf), _n(KG.evidence), _n(KG.sentence)
INDEX, BEGIN, END = _n(KG.sentenceIndex), _n(KG.beginIndex), _n(KG.endIndex)
FILE, CONFIDENCE, ROLE, AMOUNT = _n(KG.fileName), _n(KG.confidence), _n(KG.role), _n(KG.amount)


class ExploreError(ValueError):
    """A bad request (missing or malformed parameter, unknown entity): status and message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class Explorer:
    """The store and the name index of one graph, as a worker holds them."""

    def __init__(self, store: ox.Store, index: sqlite3.Connection) -> None:
        self.store, self.index = store, index
        self.relations = [_n(p) for p in names.meta(index).get("relations", "").split("\n") if p]

    # -- small lookups ------------------------------------------------------------------------
    def _objects(self, s: Node, p: ox.NamedNode) -> Iterator[Any]:
        return (q.object for q in self.store.quads_for_pattern(s, p, None))

    def _one(self, s: Node, p: ox.NamedNode) -> Any:
        return next(self._objects(s, p), None)

    def _value(self, s: Node, p: ox.NamedNode) -> str | None:
        term = self._one(s, p)
        return None if term is None else term.value

    def _count(self, pattern: str) -> int:
        result = self.store.query(f"SELECT (COUNT(*) AS ?n) WHERE {{ {pattern} }}")
        assert isinstance(result, ox.QuerySolutions)
        return int(next(iter(result))[0].value)

    def _page(self, pattern: str, offset: int, limit: int) -> list[Any]:
        """?x of `pattern` from `offset`, limit + 1 of them (one more tells that a next page exists),
        in the store's index order, which is stable; pyoxigraph skips the offset without making terms."""
        result = self.store.query(f"SELECT ?x WHERE {{ {pattern} }} OFFSET {offset} LIMIT {limit + 1}")
        assert isinstance(result, ox.QuerySolutions)
        return [row[0] for row in result]

    def node(self, term: ox.NamedNode) -> dict[str, Any]:
        """An IRI with its label and class, as lists show it."""
        return {"iri": term.value, "label": self._value(term, LABEL) or "", "type": self._value(term, TYPE) or ""}

    # -- requests -----------------------------------------------------------------------------
    def search(self, q: str, limit: int) -> dict[str, Any]:
        hits, more = names.search(self.index, q, limit)
        return {"query": q, "more": more,
                "results": [{"iri": h.iri, "label": h.label, "type": h.type, "degree": h.degree,
                             "match": h.match, "rank": h.rank} for h in hits]}

    def entity(self, iri: str, limit: int) -> dict[str, Any]:
        e = _n(iri)
        labels = [t.value for t in self._objects(e, LABEL)]
        types = [t.value for t in self._objects(e, TYPE)]
        if not labels and not types:
            raise ExploreError(404, f"no entity {iri} in this graph")
        groups = []
        for direction in ("out", "in"):
            for p in self.relations:
                pattern = f"<{iri}> <{p.value}> ?x" if direction == "out" else f"?x <{p.value}> <{iri}>"
                count = self._count(pattern)
                if count:
                    groups.append({"dir": direction, "predicate": p.value, "count": count,
                                   **self.edges(iri, direction, p.value, 0, limit)})
        return {"iri": iri, "label": labels[0] if labels else "", "labels": labels, "type": types[0] if types else "",
                "aliases": sorted(t.value for t in self._objects(e, ALT)),
                "confidence": _number(self._value(e, CONFIDENCE)),
                "articles": self._count(f"<{iri}> <{DERIVED.value}> ?a"),
                "mentions": self._count(f"?m <{MENTION_OF.value}> <{iri}>"),
                "groups": groups}

    def edges(self, iri: str, direction: str, predicate: str, offset: int, limit: int) -> dict[str, Any]:
        """One page of an entity's edges of one relation, in the store's (stable) index order."""
        pattern = f"<{iri}> <{predicate}> ?x" if direction == "out" else f"?x <{predicate}> <{iri}>"
        page = self._page(pattern, offset, limit)
        return {"edges": [self.node(t) for t in page[:limit] if isinstance(t, ox.NamedNode)],
                "next": offset + limit if len(page) > limit else None}

    def _evidence(self, ev: Node) -> dict[str, Any]:
        article = self._one(ev, DERIVED)
        return {"sentence": self._value(ev, SENTENCE) or "", "index": _int(self._value(ev, INDEX)),
                "begin": _int(self._value(ev, BEGIN)), "end": _int(self._value(ev, END)),
                "article": self.article(article) if isinstance(article, ox.NamedNode) else None}

    def article(self, a: ox.NamedNode) -> dict[str, Any]:
        return {"iri": a.value, "file": self._value(a, FILE) or "", "title": self._value(a, TITLE) or "",
                "date": self._value(a, DATE) or ""}

    def sources(self, s: str, p: str, o: str) -> dict[str, Any]:
        """The statement(s) behind the edge s-p->o: role, confidence, amount and evidence sentences."""
        sn, pn, on = _n(s), _n(p), _n(o)
        if not any(True for _ in self.store.quads_for_pattern(sn, pn, on)):
            raise ExploreError(404, f"no edge {s} {p} {o} in this graph")
        # start from the rarer end: one of them may be a hub with 10^5 statements
        side, other = ((SUBJECT, sn), (OBJECT, on))
        if self._count(f"?st <{OBJECT.value}> <{o}>") < self._count(f"?st <{SUBJECT.value}> <{s}>"):
            side, other = other, side
        statements = []
        for quad in self.store.quads_for_pattern(None, side[0], side[1]):
            st = quad.subject
            if self._one(st, other[0]) != other[1] or self._one(st, PREDICATE) != pn:
                continue
            statements.append({
                "confidence": _number(self._value(st, CONFIDENCE)), "role": self._value(st, ROLE),
                "amount": _int(self._value(st, AMOUNT)),
                "evidence": sorted((self._evidence(ev) for ev in self._objects(st, EVIDENCE)),
                                   key=lambda d: (d["article"] or {}).get("file", ""))})
        return {"subject": self.node(sn), "predicate": p, "object": self.node(on), "statements": statements}

    def mentions(self, iri: str, offset: int, limit: int) -> dict[str, Any]:
        """One page of the sentences that name the entity (its kg:Mention nodes)."""
        page = self._page(f"?x <{MENTION_OF.value}> <{iri}>", offset, limit)
        return {"iri": iri, "count": self._count(f"?m <{MENTION_OF.value}> <{iri}>"),
                "mentions": [self._evidence(m) for m in page[:limit]],
                "next": offset + limit if len(page) > limit else None}


def _int(value: str | None) -> int | None:
    return None if value is None else int(value)


def _number(value: str | None) -> float | None:
    return None if value is None else float(value)


def _arg(params: dict[str, str], name: str) -> str:
    value = params.get(name, "").strip()
    if not value:
        raise ExploreError(400, f"give the '{name}' parameter")
    return value


def _count_arg(params: dict[str, str], name: str, default: int) -> int:
    try:
        value = int(params.get(name, default))
    except ValueError:
        raise ExploreError(400, f"'{name}' must be a whole number") from None
    if value < 0:
        raise ExploreError(400, f"'{name}' must not be negative")
    return value


def _iri(params: dict[str, str], name: str) -> str:
    value = _arg(params, name)
    try:
        ox.NamedNode(value)
    except ValueError:
        raise ExploreError(400, f"'{name}' is not an IRI: {value[:200]}") from None
    return value


def _direction(params: dict[str, str]) -> str:
    value = params.get("dir", "out")
    if value not in ("out", "in"):
        raise ExploreError(400, "'dir' is 'out' or 'in'")
    return value


def schema() -> dict[str, Any]:
    """Names, labels and colours of the classes and relations (kg.schema, the one in use), by IRI."""
    from kg.schema import load
    s = load()
    return {"classes": {str(t.iri): {"name": t.name, "label": t.label("zh"), "color": t.color}
                        for t in s.entities.values()},
            "relations": {str(t.iri): {"name": t.name, "label": t.label("zh"), "en": t.label("en")}
                          for t in s.relations.values()}}


OPS: dict[str, Callable[[Explorer, dict[str, str]], dict[str, Any]]] = {
    "schema": lambda x, a: schema(),
    "search": lambda x, a: x.search(_arg(a, "q"), min(_count_arg(a, "limit", 20), MAX_LIMIT)),
    "entity": lambda x, a: x.entity(_iri(a, "iri"), min(_count_arg(a, "limit", 50), MAX_LIMIT)),
    "edges": lambda x, a: x.edges(_iri(a, "iri"), _direction(a), _iri(a, "p"), _count_arg(a, "offset", 0),
                                  min(_count_arg(a, "limit", 50), MAX_LIMIT)),
    "sources": lambda x, a: x.sources(_iri(a, "s"), _iri(a, "p"), _iri(a, "o")),
    "mentions": lambda x, a: x.mentions(_iri(a, "iri"), _count_arg(a, "offset", 0),
                                        min(_count_arg(a, "limit", 20), MAX_LIMIT)),
}


def answer(explorer: Explorer, op: str, params: dict[str, str]) -> Answer:
    """The JSON answer to one explorer request (errors as JSON too: {"error": "..."})."""
    try:
        if op not in OPS:
            raise ExploreError(404, f"no explorer request '{op}'")
        return Answer(200, JSON, _json(OPS[op](explorer, params)))
    except ExploreError as err:
        return Answer(err.status, JSON, _json({"error": str(err)}))
    except (OSError, RuntimeError, ValueError, sqlite3.Error) as err:
        return Answer(500, JSON, _json({"error": f"{type(err).__name__}: {' '.join(str(err).split())}"}))


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
