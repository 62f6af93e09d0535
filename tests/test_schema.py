"""kg.schema reads the ontology; kg/vocab.py is generated from it, closed, and kept in sync."""
from __future__ import annotations

import pytest
from rdflib import RDF, Graph

from kg import schema
from kg.vocab import KG, Names


def test_vocabulary_matches_ontology():
    onto = Graph().parse(schema.ONTOLOGY)
    declared = {str(s).removeprefix(str(KG._NS)) for s in onto.subjects(RDF.type, None)
                if str(s).startswith(str(KG._NS))}
    assert declared == set(KG.__annotations__)
    s = schema.load()
    assert set(vars(Names)) >= set(s.entity_types) | set(s.relation_types)
    assert {k for k in vars(Names) if not k.startswith("_")} == set(s.entity_types) | set(s.relation_types)


def test_vocab_file_is_what_the_generator_writes():
    """Regenerate with `python -m kg.schema --write-vocab` when this fails."""
    assert schema.VOCAB.read_text(encoding="utf-8") == schema.vocab_source(schema.load(schema.ONTOLOGY))


def test_vocabulary_is_closed():
    with pytest.raises(AttributeError):
        KG.wroksFor  # noqa: B018
    assert KG.worksFor == KG._NS["worksFor"]


def test_schema_reads_labels_ends_and_order():
    s = schema.load()
    assert s.entity_types[0] == Names.Person and len(s.entity_types) == 5
    assert s.label(Names.District) == "地区" and s.label(Names.District, "en") == "District"
    assert s.relations[Names.invests].range == (Names.Project,)
    assert s.allows(Names.leads, Names.Person, Names.District)
    assert not s.allows(Names.invests, Names.Enterprise, Names.Person)
    assert all(e.color.startswith("#") for e in s.entities.values())
    assert s.sort_key(Names.Project) < s.sort_key(Names.leads) < s.sort_key("zzz")


@pytest.mark.parametrize("name", ["Persn", "works_for", ""])
def test_unknown_names_fail_closed(name):
    s = schema.load()
    with pytest.raises(schema.SchemaError, match="kg.ttl"):
        s.iri(name)
    with pytest.raises(schema.SchemaError, match="not an entity class"):
        s.check_type(name)


def test_environment_selects_the_ontology(tmp_path, monkeypatch):
    copy = tmp_path / "kg.ttl"
    copy.write_text(schema.ONTOLOGY.read_text(encoding="utf-8").replace('"人物"@zh', '"人士"@zh'), encoding="utf-8")
    monkeypatch.setenv(schema.ENV, str(copy))
    assert schema.load().label(Names.Person) == "人士"
    monkeypatch.delenv(schema.ENV)
    assert schema.load().label(Names.Person) == "人物"


def test_unreadable_ontology_is_named(tmp_path):
    bad = tmp_path / "bad.ttl"
    bad.write_text("@prefix kg: <x#> .\nkg:a kg:b", encoding="utf-8")
    with pytest.raises(schema.SchemaError, match="bad.ttl: cannot parse"):
        schema.load(bad)
    with pytest.raises(schema.SchemaError, match="no such file"):
        schema.load(tmp_path / "none.ttl")
