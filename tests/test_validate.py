"""`kg validate`: SHACL (kg/ontology/shapes.ttl and the shapes kg.ttl implies, RDFS over kg.ttl); exit 0 conforms,
1 violations (one readable line each), 2 unreadable input."""
from __future__ import annotations

from pathlib import Path

import pytest

import kg.cli
from kg import schema, validate

# a Statement without kg:evidence, and kg:invests pointing at a kg:Person
BROKEN = """\
@prefix kg: <https://w3id.org/zhkg/ontology#> .
@prefix id: <https://w3id.org/zhkg/id/> .
@prefix rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix prov: <http://www.w3.org/ns/prov#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .

<https://w3id.org/zhkg/id/article/a.txt> a kg:Article ; kg:fileName "a.txt"^^xsd:string .
<https://w3id.org/zhkg/id/enterprise/%E4%BA%AC%E4%B8%9C%E6%96%B9> a kg:Enterprise ;
    rdfs:label "京东方"@zh ; skos:prefLabel "京东方"@zh ;
    prov:wasDerivedFrom <https://w3id.org/zhkg/id/article/a.txt> ;
    kg:invests <https://w3id.org/zhkg/id/person/%E4%BE%AF%E4%B8%87%E9%87%8C> .
<https://w3id.org/zhkg/id/person/%E4%BE%AF%E4%B8%87%E9%87%8C> a kg:Person ;
    rdfs:label "侯万里"@zh ; skos:prefLabel "侯万里"@zh ;
    prov:wasDerivedFrom <https://w3id.org/zhkg/id/article/a.txt> .
<https://w3id.org/zhkg/id/statement/1> a kg:Statement ;
    rdf:subject <https://w3id.org/zhkg/id/enterprise/%E4%BA%AC%E4%B8%9C%E6%96%B9> ;
    rdf:predicate kg:invests ;
    rdf:object <https://w3id.org/zhkg/id/person/%E4%BE%AF%E4%B8%87%E9%87%8C> ;
    kg:confidence 0.9 .
"""


def main(*argv) -> int:
    return kg.cli.main([str(a) for a in argv])


@pytest.fixture
def broken(tmp_path) -> Path:
    path = tmp_path / "broken.ttl"
    path.write_text(BROKEN, encoding="utf-8")
    return path


def test_shapes_and_ontology_ship_in_the_package():
    import kg
    package = Path(kg.__file__).parent
    assert schema.SHAPES.is_file() and schema.SHAPES.parent == package / "ontology"
    assert schema.ONTOLOGY.is_file() and schema.ONTOLOGY.parent == package / "ontology"


def test_sample_graph_conforms(corpus_build, capsys):
    assert main("validate", corpus_build[1] / "graph.ttl") == 0
    assert capsys.readouterr().out.strip().endswith("conforms")


def test_broken_graph_exits_1_with_readable_lines(broken, capsys):
    assert main("validate", broken) == 1
    lines = capsys.readouterr().out.strip().splitlines()
    violations, summary = lines[:-1], lines[-1]
    assert "2 violation(s)" in summary
    assert all(line.startswith("Violation: ") and "http" not in line for line in violations)
    text = "\n".join(violations)
    assert "京东方 kg:invests 侯万里" in text and "kg:evidence: missing" in text
    assert "京东方 (id:enterprise/京东方)  kg:invests: 侯万里 (id:person/侯万里) is not a kg:Project" in text


def test_range_does_not_mask_a_wrong_object(broken):
    """RDFS would infer from kg:invests' range that 侯万里 is a kg:Project; that must not
    make the sh:class kg:Project check pass."""
    report = validate.validate(broken)
    assert not report.conforms
    assert any(v.path == "kg:invests" and "kg:Project" in v.message for v in report.violations)


def test_missing_file_exits_2(tmp_path, capsys):
    assert main("validate", tmp_path / "none.ttl") == 2
    err = capsys.readouterr().err
    assert "none.ttl" in err and "no such file" in err and len(err.strip().splitlines()) == 1


def test_unparseable_file_exits_2(tmp_path, capsys):
    bad = tmp_path / "bad.ttl"
    bad.write_text("@prefix kg: <https://w3id.org/zhkg/ontology#> .\nkg:a kg:b", encoding="utf-8")
    assert main("validate", bad) == 2
    err = capsys.readouterr().err
    assert "bad.ttl" in err and "cannot parse" in err and len(err.strip().splitlines()) == 1


def test_missing_shapes_exits_2(broken, tmp_path, capsys):
    assert main("validate", broken, "--shapes", tmp_path / "none.ttl") == 2
    assert "shapes" in capsys.readouterr().err
