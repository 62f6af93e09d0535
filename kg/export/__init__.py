"""The exporters `kg build` runs, by name: each writes one view of the merged graph into the
output folder and returns the files it wrote.

    @exporter("turtle")
    def export_turtle(views: Views, out: Path) -> list[Path]: ...

A new format is one such function in kg/export/ (imported in `exporters()`); kg.api.export
(the in-memory library export) runs every registered exporter unless told which. `kg build`
streams its four formats instead (kg.stream.write), without these views.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import networkx as nx
from rdflib import Graph

from kg.graph import KnowledgeGraph
from kg.schema import Schema


@dataclass(frozen=True)
class Views:
    """The merged graph and its projections: what exporters read."""
    kgraph: KnowledgeGraph
    rdf: Graph
    nx: nx.MultiDiGraph
    schema: Schema
    title: str = "zhkg"
    html_max_nodes: int = 2000   # graph.html shows this many of the most connected entities


Exporter = Callable[[Views, Path], list[Path]]
_REGISTRY: dict[str, Exporter] = {}


def exporter(name: str) -> Callable[[Exporter], Exporter]:
    def register(func: Exporter) -> Exporter:
        _REGISTRY[name] = func
        return func
    return register


def exporters() -> dict[str, Exporter]:
    """Every registered exporter, name -> function, in registration order."""
    from kg.export import files, html  # noqa: F401  (each module registers its exporters)
    return dict(_REGISTRY)
