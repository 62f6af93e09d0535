"""SHACL validation of a built graph (pyshacl) against kg/ontology/shapes.ttl plus the shapes
the ontology implies (kg.schema.Schema.shapes), one readable line per violation: the focus node
by its label, the path, what is wrong.

Inference is RDFS over the ontology *without* its rdfs:domain/rdfs:range axioms: under RDFS
`kg:invests rdfs:range kg:Project` would make any object of kg:invests (a kg:Person, say) a
kg:Project, so the shapes' sh:class checks could never fail. Sub-class and sub-property
reasoning stays (kg:leads ⊑ kg:worksFor, kg:Person ⊑ prov:Agent…).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox
from rdflib import RDF, RDFS, Graph, Literal, URIRef
from rdflib.namespace import SH
from rdflib.term import Node

from kg import publish
from kg import schema as kg_schema
from kg.sparql.query import compact
from kg.vocab import KG


class ValidateError(ValueError):
    """A graph, shapes or ontology file that cannot be read; the message is one line."""


@dataclass
class Violation:
    severity: str
    focus: str
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.focus}  {self.path}" if self.path else self.focus
        return f"{self.severity}: {where}: {self.message}"


@dataclass
class Report:
    conforms: bool
    triples: int
    violations: list[Violation]


def _parse(path: Path, what: str) -> Graph:
    from kg.sparql import store  # a store folder is dumped to N-Triples and parsed
    path = Path(path)
    try:
        if store.is_store(path):
            data = store.open_graph(path).dump(format=ox.RdfFormat.N_TRIPLES, from_graph=ox.DefaultGraph())
            return Graph().parse(data=data, format="nt")
        if not path.is_file():
            raise ValidateError(f"{what} {path}: no such file")
        publish.verify(path)  # half of a killed build's publish is not a graph to validate
        return Graph().parse(path, format="turtle" if path.suffix in (".ttl", "") else None)
    except ValidateError:
        raise
    except publish.OutputError as err:
        raise ValidateError(str(err)) from err
    except Exception as err:  # rdflib raises many unrelated types for bad syntax
        raise ValidateError(f"{what} {path}: cannot parse: {' '.join(str(err).split())[:300]}") from err


def _name(g: Graph, node: Node) -> str:
    """A label for people: `毕雷鸣 (id:person/毕雷鸣)`, a statement as `京东方 kg:invests X`."""
    if isinstance(node, Literal):
        return f'"{node}"'
    label = g.value(node, RDFS.label)
    iri = compact(str(node)) if isinstance(node, URIRef) else f"_:{node}"
    if label is not None:
        return f"{label} ({iri})"
    if (node, RDF.type, KG.Statement) in g:
        s, p, o = (g.value(node, t) for t in (RDF.subject, RDF.predicate, RDF.object))
        ends = [str(g.value(x, RDFS.label) or compact(str(x))) if x is not None else "?" for x in (s, o)]
        return f"statement {ends[0]} {compact(str(p)) if p else '?'} {ends[1]} ({iri})"
    return iri


def _message(report: Graph, shapes: Graph, data: Graph, result: Node) -> str:
    """Say it in terms of the shape's parameters; pyshacl's own text as the fallback."""
    shape = report.value(result, SH.sourceShape)
    component = report.value(result, SH.sourceConstraintComponent)
    value = report.value(result, SH.value)

    def param(p: URIRef) -> Node | None:  # pyshacl copies blank-node shapes into the report, not named ones
        return None if shape is None else report.value(shape, p) or shapes.value(shape, p)
    shown = _name(data, value) if value is not None else ""
    if component == SH.MinCountConstraintComponent:
        return f"missing: needs at least {param(SH.minCount)} value(s)"
    if component == SH.MaxCountConstraintComponent:
        return f"too many values: at most {param(SH.maxCount)}"
    if component == SH.ClassConstraintComponent and param(SH["class"]) is not None:
        return f"{shown or 'the node'} is not a {compact(str(param(SH['class'])))}"
    if component == SH.DatatypeConstraintComponent and param(SH.datatype) is not None:
        return f"{shown} is not of datatype {compact(str(param(SH.datatype)))}"
    if component == SH.OrConstraintComponent:
        return f"{shown or 'the node'} matches none of the allowed kinds"
    text = str(report.value(result, SH.resultMessage) or compact(str(component)))
    return f"{text} (value: {shown})" if shown and shown not in text else text


def _shapes(shapes: Graph | None, schema: kg_schema.Schema) -> Graph:
    g = Graph()
    g += shapes if shapes is not None else _parse(kg_schema.SHAPES, "shapes")
    g += schema.shapes()
    return g


def conformance(data: Graph, shapes: Graph | None = None,
                schema: kg_schema.Schema | None = None) -> tuple[bool, Graph, str]:
    """pyshacl's (conforms, report graph, report text) for `data`: `shapes` (default:
    shapes.ttl) plus the shapes `schema` implies (default: the ontology in use), with RDFS
    inference over that ontology minus its domain and range axioms."""
    schema = schema or kg_schema.load()
    return _pyshacl(data, _shapes(shapes, schema), schema)


def _pyshacl(data: Graph, shapes_g: Graph, schema: kg_schema.Schema) -> tuple[bool, Graph, str]:
    import pyshacl
    ont = _parse(schema.path, "ontology")
    for axiom in (RDFS.domain, RDFS.range):  # see the module docstring
        ont.remove((None, axiom, None))
    conforms, report, text = pyshacl.validate(data, shacl_graph=shapes_g, ont_graph=ont, inference="rdfs",
                                              abort_on_first=False, allow_infos=True, allow_warnings=False)
    return bool(conforms), report, text


def validate(graph: Path, shapes: Path | None = None, ontology: Path | None = None) -> Report:
    """Validate an RDF file or store folder; unreadable inputs raise ValidateError."""
    data = _parse(graph, "graph")
    try:
        schema = kg_schema.load(ontology)
    except kg_schema.SchemaError as err:
        raise ValidateError(str(err)) from err
    shapes_g = _shapes(_parse(shapes, "shapes") if shapes else None, schema)
    conforms, report, _ = _pyshacl(data, shapes_g, schema)
    violations = []
    for result in report.subjects(RDF.type, SH.ValidationResult):
        path = report.value(result, SH.resultPath)
        severity = report.value(result, SH.resultSeverity)
        violations.append(Violation(
            severity=str(severity).rsplit("#", 1)[-1] if severity else "Violation",
            focus=_name(data, report.value(result, SH.focusNode) or Literal("?")),
            path=compact(str(path)) if isinstance(path, URIRef) else "",
            message=_message(report, shapes_g, data, result)))
    violations.sort(key=lambda v: (v.focus, v.path, v.message))
    return Report(conforms, len(data), violations)
