"""The spaCy components (kg_ner, kg_entities, kg_relations) and kg.extract on small invented texts.

Every name here is made up; none comes from examples/corpus or the gold files.
"""
from __future__ import annotations

import importlib.metadata
import subprocess
import sys
from pathlib import Path

import pytest

from kg.schema import load as load_schema

ENTITY_TYPES, RELATION_TYPES = load_schema().entity_types, load_schema().relation_types

LEADER = "区财政局党组书记、局长张志远出席会议。"
DEPUTY = "区商务局副局长刘海涛介绍了有关情况。"
PROJECT = "加快推进华星光电青州基地建设，总投资42亿元。"
PROJECT_CITY = "加快推进华星光电潍坊基地建设，总投资42亿元。"


def ents(ex) -> dict[str, str]:
    return {e.name: e.type for e in ex.entities}


def rels(ex) -> dict[tuple[str, str, str], object]:
    return {(r.head, r.relation, r.tail): r for r in ex.relations}


def check_consistent(ex) -> None:
    """Invariants of any Extraction: unique names, relation ends are its entities, the
    ontology's domain and range hold, evidence is a sentence of the text."""
    names = [e.name for e in ex.entities]
    assert len(names) == len(set(names))
    types = ents(ex)
    assert set(types.values()) <= set(ENTITY_TYPES)
    for r in ex.relations:
        assert r.relation in RELATION_TYPES
        assert r.head in types and r.tail in types, r
        h, t = types[r.head], types[r.tail]
        if r.relation in ("leads", "worksFor"):
            assert h == "Person" and t in ("Organization", "District", "Enterprise"), r
        elif r.relation == "locatedIn":
            assert h != "Person" and t == "District", r
        else:
            assert h in ("Enterprise", "Organization", "District") and t == "Project", r
        assert r.evidence.sentence and r.evidence.sentence in ex.article.text
        assert r.amount is None or (isinstance(r.amount, int) and r.amount >= 0)
        assert 0 <= r.confidence <= 1


# --- relations.yuan ---------------------------------------------------------------------------

@pytest.mark.parametrize("number,unit,expected", [
    ("42", "亿", 4_200_000_000),
    ("3.5", "万", 35_000),
    ("1.23", "亿", 123_000_000),
    ("0.5", "亿", 50_000_000),
    ("800", None, 800),
    ("12", "", 12),
])
def test_yuan(number, unit, expected):
    from kg.pipeline.relations import yuan
    value = yuan(number, unit)
    assert value == expected and isinstance(value, int)


# --- registration and building ----------------------------------------------------------------

def test_factories_declared_as_entry_points():
    eps = {ep.name: ep for ep in importlib.metadata.entry_points(group="spacy_factories")}
    assert {"kg_ner", "kg_entities", "kg_relations"} <= set(eps)
    for name in ("kg_ner", "kg_entities", "kg_relations"):
        assert eps[name].value.startswith("kg.pipeline.")
        assert callable(eps[name].load())


def test_factories_found_by_spacy_without_importing_kg():
    """A clean interpreter that never imports kg finds the components through the entry points."""
    code = ("import sys, spacy\n"
            "from spacy.language import Language\n"
            "assert 'kg' not in sys.modules\n"
            "nlp = spacy.blank('zh')\n"
            "nlp.add_pipe('sentencizer')\n"
            "nlp.add_pipe('kg_relations')\n"
            "print(all(Language.has_factory(n) for n in ('kg_ner', 'kg_entities', 'kg_relations')))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "True"


def test_default_pipeline(nlp):
    assert nlp.pipe_names == ["sentencizer", "kg_sentence_bounds", "kg_ner", "kg_entities", "kg_relations"]
    assert nlp.tokenizer.segmenter == "char"
    assert nlp.has_factory("kg_ner") and nlp.has_factory("kg_entities") and nlp.has_factory("kg_relations")


def test_components_annotate_doc(nlp):
    doc = nlp(LEADER)
    assert [(e.text, e.label_) for e in doc.ents if e.label_ == "Person"] == [("张志远", "Person")]
    assert ("区财政局", "Organization") in [(e.text, e.label_) for e in doc.ents]
    assert "kg_ner" in doc.spans and "kg_rules" in doc.spans
    assert len(list(doc.sents)) == 1
    labels = {r[2] for r in doc._.relations}
    assert "leads" in labels
    for head, tail, *_ in doc._.relations:
        for start, end, label in (head, tail):
            assert 0 <= start < end <= len(doc.text) and label in ENTITY_TYPES


def test_unknown_segmenter_rejected():
    import kg.nlp
    with pytest.raises(ValueError, match="nope"):
        kg.nlp.build("nope")


def test_jieba_pipeline_finds_the_same_leader(extract_text):
    import kg.nlp
    from kg.extract import extract
    from kg.ingest import read_article

    jb = kg.nlp.build("jieba")
    assert jb.tokenizer.segmenter == "jieba"
    char = extract_text(LEADER, "leader.txt")
    article = read_article(char.article.source)
    doc = jb(article.text)
    assert any(len(t.text) > 1 for t in doc)  # words, not characters
    ex = extract(doc, article)
    people = lambda x: {e.name for e in x.entities if e.type == "Person"}
    assert people(ex) == people(char) == {"张志远"}
    assert ("张志远", "leads", "区财政局") in rels(ex)


# --- entities and relations -------------------------------------------------------------------

@pytest.mark.parametrize("text, person, org, relation, posts", [
    (LEADER, "张志远", "区财政局", "leads", ("局长", "党组书记")),   # a top post
    (DEPUTY, "刘海涛", "区商务局", "worksFor", ("副局长",)),         # a deputy
])
def test_post_chain(extract_text, text, person, org, relation, posts):
    ex = extract_text(text)
    check_consistent(ex)
    assert (ents(ex).get(person), ents(ex).get(org)) == ("Person", "Organization")
    r = rels(ex).get((person, relation, org))
    assert r is not None and all(p in r.role for p in posts)
    assert r.evidence.sentence == text
    other = "worksFor" if relation == "leads" else "leads"
    assert (person, other, org) not in rels(ex)


def test_people_in_one_text_keep_their_own_posts(extract_text):
    ex = extract_text(LEADER + DEPUTY)
    check_consistent(ex)
    assert ("张志远", "leads", "区财政局") in rels(ex)
    assert ("刘海涛", "worksFor", "区商务局") in rels(ex)
    assert ("张志远", "leads", "区商务局") not in rels(ex)
    assert ("刘海涛", "worksFor", "区财政局") not in rels(ex)


def test_project_by_suffix(extract_text):
    ex = extract_text(PROJECT)
    check_consistent(ex)
    assert ents(ex).get("华星光电青州基地") == "Project"


def test_project_owner_invests_at_county_level_city(extract_text):
    from kg import lexicon
    ex = extract_text(PROJECT)
    assert ents(ex).get("华星光电") == "Enterprise"
    r = rels(ex).get(("华星光电", "invests", "华星光电青州基地"))
    assert r is not None and r.amount == 4_200_000_000
    if "青州" in lexicon.load().divisions:
        assert ("华星光电青州基地", "locatedIn", "青州") in rels(ex)


def test_project_owner_place_and_amount(extract_text):
    from kg import lexicon
    assert "潍坊" in lexicon.load().divisions
    ex = extract_text(PROJECT_CITY)
    check_consistent(ex)
    assert ents(ex).get("华星光电潍坊基地") == "Project"
    assert ents(ex).get("华星光电") == "Enterprise"
    assert ents(ex).get("潍坊") == "District"
    r = rels(ex).get(("华星光电", "invests", "华星光电潍坊基地"))
    assert r is not None
    assert r.amount == 4_200_000_000  # 42亿元
    assert r.evidence.sentence == PROJECT_CITY
    assert ("华星光电潍坊基地", "locatedIn", "潍坊") in rels(ex)


def test_project_with_generic_tail_owner(extract_text):
    ex = extract_text("区里将加快推进华星光电潍坊基地项目建设，该项目总投资42亿元。")
    assert ents(ex).get("华星光电潍坊基地") == "Project"
    assert ents(ex).get("华星光电") == "Enterprise"
    assert "华星光电潍坊基地项" not in ents(ex)
    r = rels(ex).get(("华星光电", "invests", "华星光电潍坊基地"))
    assert r is not None and r.amount == 4_200_000_000
    assert ("华星光电潍坊基地", "locatedIn", "潍坊") in rels(ex)


def test_amount_in_wan(extract_text):
    ex = extract_text("加快推进华星光电潍坊基地建设，计划投资3.5万元。")
    r = rels(ex).get(("华星光电", "invests", "华星光电潍坊基地"))
    assert r is not None and r.amount == 35_000


@pytest.mark.parametrize("brackets", ["()", "（）"])
def test_alias_in_parentheses(extract_text, brackets):
    o, c = brackets
    text = f"山东远航船舶重工有限责任公司{o}简称远航重工{c}今年产值翻番。远航重工将继续加大投入。"
    ex = extract_text(text)
    check_consistent(ex)
    matching = [e for e in ex.entities if {"山东远航船舶重工有限责任公司", "远航重工"} & {e.name, *e.aliases}]
    assert len(matching) == 1, [(e.name, e.aliases) for e in ex.entities]
    e = matching[0]
    assert {"山东远航船舶重工有限责任公司", "远航重工"} <= {e.name, *e.aliases}
    assert e.type == "Enterprise"
    assert e.name not in e.aliases


def test_byline_reporter(extract_text):
    ex = extract_text("□本报记者 赵晓明\n本报讯 区里召开会议部署全年工作。\n")
    assert ex.article.reporters == ("赵晓明",)
    assert ents(ex).get("赵晓明") == "Person"
    check_consistent(ex)


def test_gold_format(extract_text):
    ex = extract_text(LEADER + PROJECT_CITY, "gold.txt")
    gold = ex.to_gold()
    assert gold["doc"] == "gold.txt"
    assert all(set(e) == {"name", "type", "aliases"} for e in gold["entities"])
    assert all({"head", "relation", "tail", "evidence"} <= set(r) for r in gold["relations"])
    invests = [r for r in gold["relations"] if r["relation"] == "invests" and r["head"] == "华星光电"]
    assert invests and invests[0]["amount"] == 4_200_000_000


def test_extraction_is_a_pure_function_of_the_text(nlp, extract_text):
    a = extract_text(LEADER + DEPUTY + PROJECT_CITY, "one.txt").to_gold()
    b = extract_text(LEADER + DEPUTY + PROJECT_CITY, "one.txt").to_gold()
    assert a == b


def test_api_run_on_a_folder(nlp, tmp_path):
    from kg import api
    (tmp_path / "a.txt").write_text(LEADER + "\n", encoding="utf-8")
    (tmp_path / "b.txt").write_text(DEPUTY + "\n", encoding="utf-8")
    (tmp_path / "c.txt").write_bytes(b"")
    result = api.run(tmp_path, nlp)
    assert [ex.article.doc_id for ex in result.extractions] == ["a.txt", "b.txt"]
    assert [(Path(f.path).name, f.reason) for f in result.failures] == [("c.txt", "empty file")]
    assert ("张志远", "leads", "区财政局") in rels(result.extractions[0])
    assert ("刘海涛", "worksFor", "区商务局") in rels(result.extractions[1])


def test_ner_reads_articles_in_sentence_chunks():
    from kg.pipeline.ner import chunks
    text = "甲乙丙。丁戊己！\n庚辛壬癸" + "子" * 900 + "。丑寅"
    pieces = chunks(text, limit=400)
    assert all(0 < e - s <= 400 for s, e in pieces)
    assert (0, 8) in pieces                                   # whole sentences, up to a paragraph break
    assert "".join(text[s:e] for s, e in pieces) == text.replace("\n", "")  # nothing lost


def test_a_total_over_many_projects_is_no_projects_amount(extract_text):
    ex = extract_text("今年将加快推进华星光电青州基地等12个重点项目建设，总投资300亿元。")
    r = rels(ex).get(("华星光电", "invests", "华星光电青州基地"))
    assert r is not None and r.amount is None


def test_a_mayor_leads_the_city_and_serves_on_its_party_committee(extract_text):
    ex = extract_text("胶州市委副书记、市长王志刚出席会议。会议在胶州市召开，胶州今年将加快发展。")
    r = rels(ex)
    city = next(e for e in ex.entities if e.type == "District" and "胶州" in [e.name, *e.aliases])
    assert {"胶州", "胶州市"} <= {city.name, *city.aliases}            # one city, both forms
    assert r[("王志刚", "leads", city.name)].role == "市长"
    assert r[("王志刚", "worksFor", "胶州市委")].role == "副书记"
