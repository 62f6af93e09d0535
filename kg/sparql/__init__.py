"""SPARQL over the built graph, in one place: the store (store.py), reading and running
queries (query.py), the HTTP endpoint (serve.py) and the killable query workers behind it
(workers.py). pyoxigraph evaluates every query.
"""
from __future__ import annotations

from rdflib.namespace import DCTERMS, OWL, PROV, RDF, RDFS, SKOS, XSD

from kg.graph import ID
from kg.vocab import KG

# Declared for every query, so inline queries can use kg:, rdfs:… without PREFIX lines;
# a query's own PREFIX declarations win.
PREFIXES: dict[str, str] = {
    "kg": str(KG._NS), "id": str(ID), "rdf": str(RDF), "rdfs": str(RDFS), "xsd": str(XSD),
    "owl": str(OWL), "skos": str(SKOS), "prov": str(PROV), "dcterms": str(DCTERMS),
}


def one_line(err: BaseException) -> str:
    """An exception's message on one line (pyoxigraph's span several)."""
    return " ".join(str(err).split())


def written(data: bytes | None) -> bytes:
    """pyoxigraph's serialize() returns the bytes when given no output file (typed `| None`)."""
    assert data is not None
    return data
