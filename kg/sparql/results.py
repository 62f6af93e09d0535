"""What a query answers over HTTP: the media type the client prefers, and the result in it,
cut at a row limit.

pyoxigraph serializes results only whole, so a cut result is written as SPARQL JSON first and
read back with `parse_query_results`: every format then still comes from pyoxigraph's own writers.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from itertools import islice

import pyoxigraph as ox

from kg.sparql import one_line, written
from kg.sparql import query as q

RESULTS = {  # media type -> format; the first is the default
    "application/sparql-results+json": ox.QueryResultsFormat.JSON,
    "application/json": ox.QueryResultsFormat.JSON,
    "text/csv": ox.QueryResultsFormat.CSV,
    "text/tab-separated-values": ox.QueryResultsFormat.TSV,
    "application/sparql-results+xml": ox.QueryResultsFormat.XML,
}
GRAPHS = {
    "text/turtle": ox.RdfFormat.TURTLE,
    "application/n-triples": ox.RdfFormat.N_TRIPLES,
    "application/ld+json": ox.RdfFormat.JSON_LD,
    "application/rdf+xml": ox.RdfFormat.RDF_XML,
}
_PLAIN = {"http://www.w3.org/2001/XMLSchema#string", "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"}


def negotiate(accept: str | None, offers: dict) -> str:
    """The offered media type the client prefers most (q-values honoured); the first offer
    when nothing matches, so browsers and bare clients still get an answer."""
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate((accept or "").split(",")):
        media, *params = [p.strip() for p in part.split(";")]
        weight = 1.0
        for p in params:
            if p.startswith("q="):
                try:
                    weight = float(p[2:])
                except ValueError:
                    weight = 0.0
        ranked.append((-weight, i, media.lower()))
    for neg_weight, _, media in sorted(ranked):
        if neg_weight >= 0:  # q=0 means "not this"
            continue
        if media in offers:
            return media
        if media in ("*/*", "application/*"):
            return next(iter(offers))
    return next(iter(offers))


@dataclass
class Answer:
    status: int
    media: str
    body: bytes
    rows: int = 0
    truncated: bool = False  # more rows (or triples) than max_rows: the first max_rows are sent


def _term(t: object) -> dict:
    """One term in SPARQL 1.1 JSON results (RDF-star triples as in SPARQL 1.2)."""
    if isinstance(t, ox.NamedNode):
        return {"type": "uri", "value": t.value}
    if isinstance(t, ox.BlankNode):
        return {"type": "bnode", "value": t.value}
    if isinstance(t, ox.Literal):
        d: dict = {"type": "literal", "value": t.value}
        if t.language:
            d["xml:lang"] = t.language
        elif t.datatype.value not in _PLAIN:
            d["datatype"] = t.datatype.value
        return d
    assert isinstance(t, ox.Triple), t
    return {"type": "triple", "value": {"subject": _term(t.subject), "predicate": _term(t.predicate),
                                        "object": _term(t.object)}}


def _solutions(variables: list[ox.Variable], rows: list[ox.QuerySolution], fmt: ox.QueryResultsFormat) -> bytes:
    names = [v.value for v in variables]
    doc = {"head": {"vars": names},
           "results": {"bindings": [{n: _term(t) for n, t in zip(names, row) if t is not None} for row in rows]}}
    data = json.dumps(doc, ensure_ascii=False).encode("utf-8")
    if fmt == ox.QueryResultsFormat.JSON:
        return data
    return written(ox.parse_query_results(data, format=ox.QueryResultsFormat.JSON).serialize(format=fmt))


def answer(store: ox.Store, text: str, accept: str | None, max_rows: int) -> Answer:
    """Run `text` and serialize at most `max_rows` rows in the format `accept` prefers."""
    try:
        result = q.run(store, text)
        if isinstance(result, ox.QueryTriples):
            media = negotiate(accept, GRAPHS)
            triples = list(islice(result, max_rows + 1))
            body = written(ox.serialize(triples[:max_rows], format=GRAPHS[media]))
            return Answer(200, media, body, min(len(triples), max_rows), len(triples) > max_rows)
        media = negotiate(accept, RESULTS)
        media = "application/sparql-results+json" if media == "application/json" else media
        charset = "; charset=utf-8" if media.startswith("text/") else ""
        if isinstance(result, ox.QueryBoolean):
            return Answer(200, media + charset, written(result.serialize(format=RESULTS[media])), 1)
        rows = list(islice(result, max_rows + 1))
        body = _solutions(result.variables, rows[:max_rows], RESULTS[media])
        return Answer(200, media + charset, body, min(len(rows), max_rows), len(rows) > max_rows)
    except q.QueryError as err:
        return Answer(400, "text/plain; charset=utf-8", f"{err}\n".encode())
    except (OSError, RuntimeError, ValueError, SyntaxError) as err:  # evaluation failed half-way
        return Answer(400, "text/plain; charset=utf-8", f"query failed: {one_line(err)}\n".encode())
