"""issue 7: every component serializes: nlp.to_disk -> spacy.load gives the same extraction."""
from __future__ import annotations

import spacy

from conftest import CORPUS_FILES


def test_saved_pipeline_extracts_the_same(nlp, tmp_path):
    from kg.extract import extract
    from kg.ingest import read_article

    nlp.to_disk(tmp_path / "pipeline")
    assert (tmp_path / "pipeline" / "kg_entities" / "lexicon.json").exists()
    assert (tmp_path / "pipeline" / "kg_ner" / "model" / "meta.json").exists()
    loaded = spacy.load(tmp_path / "pipeline")
    assert loaded.pipe_names == nlp.pipe_names
    for path in CORPUS_FILES:
        article = read_article(path)
        assert extract(loaded(article.text), article).to_gold() == extract(nlp(article.text), article).to_gold()


def test_saved_word_lists_are_the_ones_used(nlp, tmp_path):
    """A word list changed on disk changes what the loaded pipeline finds: the lists travel with it."""
    import json

    text = "华远公司副总监察李明出席。"
    nlp.to_disk(tmp_path / "p")
    path = tmp_path / "p" / "kg_entities" / "lexicon.json"
    raw = json.loads(path.read_text("utf-8"))
    raw["other_titles"].append("副总监察")
    path.write_text(json.dumps(raw, ensure_ascii=False), encoding="utf-8")
    found = {(e.text, e.label_, e.id_) for e in spacy.load(tmp_path / "p")(text).ents}
    assert ("李明", "Person", "title") in found
    assert ("李明", "Person", "title") not in {(e.text, e.label_, e.id_) for e in nlp(text).ents}


def test_saved_relation_configuration_is_the_one_used(nlp, tmp_path):
    """kg_relations travels whole: its rules (in their order), confidences, word lists and weights;
    a word list changed on disk changes what the loaded pipeline finds."""
    import json

    nlp.to_disk(tmp_path / "p")
    loaded = spacy.load(tmp_path / "p")
    rel, again = nlp.get_pipe("kg_relations"), loaded.get_pipe("kg_relations")
    assert again.sentence_rules == rel.sentence_rules and again.article_rules == rel.article_rules
    assert again.finishers == rel.finishers and again.confidences == rel.confidences
    assert again.words == rel.words and again.model == rel.model

    text = "青禾县举行项目开工仪式。禾丰物流园项目计划投资3亿元。"
    path = tmp_path / "p" / "kg_relations" / "words.json"
    words = json.loads(path.read_text("utf-8"))
    words["amount_words"].remove("计划投资")
    words["amount_words"].remove("投资")
    path.write_text(json.dumps(words, ensure_ascii=False), encoding="utf-8")
    amounts = lambda pipeline: {r[4] for r in pipeline(text)._.relations if r[2] == "invests"}  # noqa: E731
    assert 300_000_000 in amounts(nlp)
    assert 300_000_000 not in amounts(spacy.load(tmp_path / "p"))
