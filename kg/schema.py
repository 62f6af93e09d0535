"""The schema, read once from the ontology (kg/ontology/kg.ttl): entity classes, relations,
their Chinese and English labels, allowed ends and display order.

Everything in kg that names a type or a relation takes it from here, or from kg.vocab (the
same terms as Python names, generated from the same file). An entity class is a direct
`rdfs:subClassOf kg:Entity`; a relation is an object property whose schema:domainIncludes and
schema:rangeIncludes are entity classes. Adding either to the ontology is enough for the
graph, the exports, validation and evaluation to know it.

The ontology in use is the packaged one, or the file named by the environment variable
KG_ONTOLOGY (which worker processes inherit); `load(path)` reads any other.

    python -m kg.schema --write-vocab     # regenerate kg/vocab.py after editing kg.ttl
"""
from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import TypeVar

from rdflib import OWL, RDF, RDFS, BNode, Graph, Literal, Namespace, URIRef
from rdflib.collection import Collection
from rdflib.namespace import SH, SKOS
from rdflib.term import Node

ONTOLOGY_DIR = Path(__file__).resolve().parent / "ontology"
ONTOLOGY = ONTOLOGY_DIR / "kg.ttl"
SHAPES = ONTOLOGY_DIR / "shapes.ttl"
ENV = "KG_ONTOLOGY"
SCHEMA = Namespace("https://schema.org/")
PALETTE = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
           "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac")  # Tableau 10
VOCAB = Path(__file__).resolve().parent / "vocab.py"


class SchemaError(ValueError):
    """An unknown type or relation, or an ontology that cannot be read; the message names it."""


@dataclass(frozen=True)
class Term:
    """An entity class or a relation: its local name (what records carry), IRI and labels."""
    name: str
    iri: URIRef
    labels: dict[str, str]           # language -> rdfs:label
    order: int | None                # kg:displayOrder
    comment: str = ""

    def label(self, lang: str = "zh") -> str:
        return self.labels.get(lang) or self.labels.get("en") or self.name


@dataclass(frozen=True)
class EntityClass(Term):
    color: str = ""                  # kg:displayColor, else a palette colour by position


@dataclass(frozen=True)
class RelationType(Term):
    domain: tuple[str, ...] = ()     # entity classes allowed as head (schema:domainIncludes)
    range: tuple[str, ...] = ()      # ... and as tail (schema:rangeIncludes)


@dataclass(frozen=True)
class Schema:
    path: Path
    namespace: Namespace
    entities: dict[str, EntityClass]     # in display order
    relations: dict[str, RelationType]   # in display order
    terms: dict[str, str]                # every term of the namespace -> its rdfs:comment (en)

    @property
    def entity_types(self) -> tuple[str, ...]:
        return tuple(self.entities)

    @property
    def relation_types(self) -> tuple[str, ...]:
        return tuple(self.relations)

    def check_type(self, name: str, where: str = "") -> str:
        """`name` if it is an entity class, else a SchemaError naming the ontology."""
        if name not in self.entities:
            raise SchemaError(f"{where}{name!r} is not an entity class of {self.path} "
                              f"(known: {', '.join(self.entities)})")
        return name

    def check_relation(self, name: str, where: str = "") -> str:
        if name not in self.relations:
            raise SchemaError(f"{where}{name!r} is not a relation of {self.path} "
                              f"(known: {', '.join(self.relations)})")
        return name

    def iri(self, name: str) -> URIRef:
        """The IRI of an entity class or relation; anything else is a SchemaError (fail closed)."""
        term = self.entities.get(name) or self.relations.get(name)
        if term is None:
            raise SchemaError(f"{name!r} is neither an entity class nor a relation of {self.path}")
        return term.iri

    def label(self, name: str, lang: str = "zh") -> str:
        term = self.entities.get(name) or self.relations.get(name)
        return term.label(lang) if term else name

    def allows(self, relation: str, head_type: str, tail_type: str) -> bool:
        rel = self.relations[relation]
        return head_type in rel.domain and tail_type in rel.range

    def sort_key(self, name: str) -> tuple[int, int, str]:
        """Display order: entity classes, then relations, then anything unknown, by name."""
        for group, names in enumerate((self.entity_types, self.relation_types)):
            if name in names:
                return group, names.index(name), name
        return 2, 0, name

    def shapes(self) -> Graph:
        """SHACL shapes that follow from the ontology: each relation's allowed ends, the
        statement predicates, exactly one entity class per named entity. shapes.ttl holds the
        rest (labels, provenance, statements), none of which names a class or relation."""
        g = Graph()
        g.bind("kg", self.namespace)
        g.bind("sh", SH)

        def one_of(node: BNode | URIRef, classes: tuple[str, ...], kind: URIRef = SH["or"]) -> None:
            if len(classes) == 1 and kind == SH["or"]:
                g.add((node, SH["class"], self.entities[classes[0]].iri))
                return
            items: list[Node] = []
            for c in classes:
                item = BNode()
                g.add((item, SH["class"], self.entities[c].iri))
                items.append(item)
            head = BNode()
            Collection(g, head, items)
            g.add((node, kind, head))

        for rel in self.relations.values():
            shape = self.namespace[f"{rel.name}Shape"]
            g.add((shape, RDF.type, SH.NodeShape))
            g.add((shape, SH.targetSubjectsOf, rel.iri))
            one_of(shape, rel.domain)
            prop = BNode()
            g.add((shape, SH.property, prop))
            g.add((prop, SH.path, rel.iri))
            one_of(prop, rel.range)
        statement = self.namespace.StatementPredicateShape
        g.add((statement, RDF.type, SH.NodeShape))
        g.add((statement, SH.targetClass, self.namespace.Statement))
        prop = BNode()
        g.add((statement, SH.property, prop))
        g.add((prop, SH.path, RDF.predicate))
        allowed = BNode()
        Collection(g, allowed, [r.iri for r in self.relations.values()])
        g.add((prop, SH["in"], allowed))
        one_type = self.namespace.OneTypeShape  # a node typed Person and Project is an extraction error
        g.add((one_type, RDF.type, SH.NodeShape))
        g.add((one_type, SH.targetSubjectsOf, SKOS.prefLabel))
        one_of(one_type, self.entity_types, SH.xone)
        return g


def _labels(g: Graph, term: URIRef) -> dict[str, str]:
    return {lit.language or "": str(lit) for lit in g.objects(term, RDFS.label) if isinstance(lit, Literal)}


T = TypeVar("T", bound=Term)


def _ordered(terms: list[T]) -> list[T]:
    return sorted(terms, key=lambda t: (t.order is None, t.order or 0, t.name))


def _read(path: Path) -> Schema:
    g = Graph()
    try:
        g.parse(path, format="turtle")
    except FileNotFoundError:
        raise SchemaError(f"ontology {path}: no such file") from None
    except Exception as err:  # rdflib raises many unrelated types for bad syntax
        raise SchemaError(f"ontology {path}: cannot parse: {' '.join(str(err).split())[:300]}") from err
    ns = g.namespace_manager.store.namespace("kg")
    if ns is None:
        raise SchemaError(f"ontology {path}: no `kg:` prefix")
    kg = Namespace(str(ns))

    def local(iri: URIRef) -> str:
        return str(iri).removeprefix(str(kg))

    def common(iri: URIRef) -> dict:
        order = g.value(iri, kg.displayOrder)
        comment = next((str(c) for c in g.objects(iri, RDFS.comment)
                        if getattr(c, "language", None) in ("en", None)), "")
        return {"name": local(iri), "iri": iri, "labels": _labels(g, iri),
                "order": int(str(order)) if order is not None else None, "comment": comment}

    classes = [c for c in g.subjects(RDFS.subClassOf, kg.Entity)
               if isinstance(c, URIRef) and str(c).startswith(str(kg))]
    ordered = _ordered([EntityClass(**common(c), color=str(g.value(c, kg.displayColor) or "")) for c in classes])
    entities = [e if e.color else replace(e, color=PALETTE[i % len(PALETTE)]) for i, e in enumerate(ordered)]
    names: dict[Node, str] = {e.iri: e.name for e in entities}

    def ends(p: Node, axis: URIRef) -> tuple[str, ...] | None:
        """The entity classes `p` allows at one end, in display order; None unless all are."""
        found = set(g.objects(p, axis))
        return tuple(n for c, n in names.items() if c in found) if found and found <= names.keys() else None

    relations = []
    for p in g.subjects(RDF.type, OWL.ObjectProperty):
        domain, range_ = ends(p, SCHEMA.domainIncludes), ends(p, SCHEMA.rangeIncludes)
        if isinstance(p, URIRef) and domain and range_:  # between entities: a relation
            relations.append(RelationType(**common(p), domain=domain, range=range_))
    terms = {local(s): common(s)["comment"]
             for s in set(g.subjects(RDF.type, None)) if isinstance(s, URIRef) and str(s).startswith(str(kg))}
    return Schema(path, kg, {e.name: e for e in entities}, {r.name: r for r in _ordered(relations)},
                  dict(sorted(terms.items())))


@cache
def _load(path: Path) -> Schema:
    return _read(path)


def default_path() -> Path:
    """The ontology in use: $KG_ONTOLOGY if set, else the packaged kg/ontology/kg.ttl."""
    return Path(os.environ.get(ENV) or ONTOLOGY).resolve()


def load(path: Path | str | None = None) -> Schema:
    """The schema of the ontology at `path` (default: default_path()), read once per file."""
    return _load(Path(path).resolve() if path else default_path())


def vocab_source(schema: Schema) -> str:
    """kg/vocab.py: a closed rdflib DefinedNamespace (KG.wroksFor raises AttributeError) and the
    local names records carry (Names.Person == "Person"), so code never spells a type as text."""
    def comment(text: str) -> str:
        return f"  # {' '.join(text.split())}" if text else ""
    lines = [
        '"""The zhkg ontology\'s terms, generated from kg/ontology/kg.ttl by',
        "`python -m kg.schema --write-vocab`: do not edit by hand.",
        '"""',
        "from typing import Final",
        "",
        "from rdflib.namespace import DefinedNamespace, Namespace",
        "from rdflib.term import URIRef",
        "",
        "",
        "class KG(DefinedNamespace):",
        '    """The ontology namespace, closed: an undeclared term raises AttributeError."""',
        "",
        "    _fail = True",
        f'    _NS = Namespace("{schema.namespace}")',
        "",
    ]
    lines += [f"    {name}: URIRef{comment(text)}" for name, text in schema.terms.items()]
    lines += ["", "", "class Names:",
              '    """Entity classes and relations by the local name that spaCy spans and records carry."""', ""]
    lines += [f'    {name}: Final = "{name}"' for name in (*schema.entities, *schema.relations)]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m kg.schema", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ontology", type=Path, help=f"default: {ONTOLOGY}")
    ap.add_argument("--write-vocab", action="store_true", help=f"regenerate {VOCAB}")
    args = ap.parse_args(argv)
    schema = load(args.ontology)
    if args.write_vocab:
        VOCAB.write_text(vocab_source(schema), encoding="utf-8")
        print(f"wrote {VOCAB}")
        return 0
    for term in (*schema.entities.values(), *schema.relations.values()):
        ends = f"  {'|'.join(term.domain)} -> {'|'.join(term.range)}" if isinstance(term, RelationType) else ""
        print(f"{term.name:<14}{term.label('zh')}\t{term.label('en')}{ends}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
