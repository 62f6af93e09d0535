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
