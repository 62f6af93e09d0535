"""kg_relations: error classes as (text, must find, must not find) tables, amounts, the
trained model's serialization and its training recipe.

Every name here is invented (青禾, 华星光电…); none comes from the articles or the gold.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from conftest import SHARED

# (rule, text, must find, must not find): triples (head, relation, tail) of the whole extraction.
# `rule` is a key of config.cfg's [components.kg_relations.*_rules]: the rule the row is about.
HEADING_ARTICLE = ("本报讯 胶州市召开全市重点项目推进会。\n\n胶州经济技术开发区工委书记张明远——\n\n"
                   "全力攻坚，推动产业新城崛起\n\n今年开发区将加快推进禾丰智慧物流园、青禾冷链物流中心等项目建设，力争年内投产。")
HOME_ARTICLE = "本报讯 青州市举行重大项目集中开工仪式。华星光电潍坊基地项目正式开工建设。"
RULE_CASES = [
    pytest.param("post_chain", "青禾市委副书记、市长张明远出席签约仪式。",
                 {("张明远", "worksFor", "青禾市委"), ("张明远", "leads", "青禾市")},
                 {("张明远", "leads", "青禾市委")}, id="combined-posts-mayor-leads-the-city"),
    pytest.param("post_chain", "华星光电集团董事长刘振宇、副总经理孙立新参加签约。",
                 {("刘振宇", "leads", "华星光电集团"), ("孙立新", "worksFor", "华星光电集团")},
                 {("孙立新", "leads", "华星光电集团"), ("刘振宇", "worksFor", "华星光电集团")},
                 id="company-chairman-leads-deputy-works"),
    pytest.param("post_chain", "区财政局党组书记、局长张志远出席会议。",
                 {("张志远", "leads", "区财政局")}, {("张志远", "worksFor", "区财政局")}, id="bureau-chain"),
    pytest.param("post_chain", "区商务局副局长刘海涛介绍了有关情况。",
                 {("刘海涛", "worksFor", "区商务局")}, {("刘海涛", "leads", "区商务局")}, id="deputy-works-for"),
    pytest.param("leader_lists", "青禾区举行项目签约仪式，区领导陈思远、周文博、吴建华出席。",
                 {("陈思远", "worksFor", "青禾区"), ("周文博", "worksFor", "青禾区"), ("吴建华", "worksFor", "青禾区")},
                 {("陈思远", "leads", "青禾区"), ("吴建华", "leads", "青禾区")}, id="district-leaders-list"),
    pytest.param("bare_titles", "本报讯 青禾县举行重大项目集中开工仪式。县委书记李国栋宣布开工，县长王海平致辞，副县长赵立群主持仪式。",
                 {("王海平", "leads", "青禾县"), ("赵立群", "worksFor", "青禾县")},
                 {("赵立群", "leads", "青禾县"), ("王海平", "worksFor", "青禾县")}, id="bare-county-head-and-deputy"),
    # a company named at the head of a project's name invests in it; a place inside it hosts it
    pytest.param("name_structure", HOME_ARTICLE,
                 {("华星光电", "invests", "华星光电潍坊基地"), ("华星光电潍坊基地", "locatedIn", "潍坊")},
                 {("潍坊", "invests", "华星光电潍坊基地")}, id="owner-and-place-inside-a-project-name"),
    # the article's own district hosts its projects and lies in its city (the lexicon's hierarchy)
    pytest.param("home_places", HOME_ARTICLE,
                 {("青州市", "invests", "华星光电潍坊基地"), ("青州市", "locatedIn", "潍坊")},
                 {("潍坊", "locatedIn", "青州市")}, id="home-district-hosts-and-lies-in-its-city"),
    # the zone named last before a project (a section's subject) invests in it
    pytest.param("section_zone", "本报讯 青州市召开全市重点项目推进会。\n\n青禾经济开发区\n\n"
                 "禾丰智慧物流园项目总投资5亿元，今年将建成投产。青禾冷链物流中心项目正在加紧建设。",
                 {("青禾经济开发区", "invests", "青禾冷链物流中心项目")}, set(), id="section-zone-invests"),
    # interview series: the zone whose leader a heading introduces holds the section's projects,
    # and the home district is not added besides (the nearest zone only)
    pytest.param("heading_zone", HEADING_ARTICLE,
                 {("张明远", "leads", "胶州经济技术开发区"), ("禾丰智慧物流园", "locatedIn", "胶州经济技术开发区")},
                 {("禾丰智慧物流园", "locatedIn", "胶州"), ("禾丰智慧物流园", "locatedIn", "胶州市")},
                 id="heading-zone-is-the-nearest-place"),
    # a project lies in its town and the article's county; the city, though named nearby, is a
    # level too far up (the nearer, finer places are candidates)
    pytest.param("nearest_place",
                 "本报讯 青州市举行项目集中签约仪式。作为潍坊市重点项目，青禾精工产业园项目落户谭坊镇，总投资5亿元。",
                 {("青禾精工产业园", "locatedIn", "谭坊镇"), ("青禾精工产业园", "locatedIn", "青州市")},
                 {("青禾精工产业园", "locatedIn", "潍坊市")}, id="nearest-places-not-the-city"),
]


def _found(extract_text, text: str) -> set[tuple[str, str, str]]:
    return {(r.head, r.relation, r.tail) for r in extract_text(text).relations}


@pytest.mark.parametrize("rule,text,must,must_not", RULE_CASES)
def test_rule_cases(extract_text, rule, text, must, must_not):
    found = _found(extract_text, text)
    assert must <= found, must - found
    assert not must_not & found, must_not & found


def test_every_configured_rule_has_cases(nlp):
    """Each rule config.cfg lists has a row above (amounts: AMOUNT_CASES below), and each row
    names a configured rule."""
    cfg = nlp.config["components"]["kg_relations"]
    configured = {*cfg["sentence_rules"], *cfg["article_rules"], *cfg["finishers"]}
    assert configured == {p.values[0] for p in RULE_CASES} | ({"amounts"} if AMOUNT_CASES else set())


def test_rules_run_in_the_order_config_lists_them(nlp):
    """nearest_place weighs the places the rules before it proposed: the order is config.cfg's,
    whatever order the config library gives a section's keys in (confection 0.1 sorts them)."""
    from spacy.util import registry

    cfg = nlp.config["components"]["kg_relations"]
    rel = nlp.get_pipe("kg_relations")
    for table, funcs in (("sentence_rules", rel.sentence_rules), ("article_rules", rel.article_rules)):
        assert funcs == [registry.misc.get(name)() for name in cfg[table].values()], table
    text = (Path(__file__).resolve().parents[1] / "kg" / "config.cfg").read_text("utf-8")
    listed = text[text.index("[components.kg_relations.article_rules]"):]
    listed = listed[:listed.index("\n[")]
    assert [line.split(" = ")[0] for line in listed.splitlines()[1:] if " = " in line] == list(cfg["article_rules"])
    assert list(cfg["article_rules"])[-1] == "nearest_place" != sorted(cfg["article_rules"])[-1]


@pytest.mark.parametrize("rule", sorted({p.values[0] for p in RULE_CASES}))
def test_each_rule_decides_one_of_its_cases(nlp, extract_text, monkeypatch, rule):
    """Without the rule, some row of it goes wrong (a triple lost or a wrong one found): each
    configured rule does work that no other rule or feature does."""
    from spacy.util import registry

    cfg = nlp.config["components"]["kg_relations"]
    section = cfg["sentence_rules"] if rule in cfg["sentence_rules"] else cfg["article_rules"]
    func = registry.misc.get(section[rule])()
    rel = nlp.get_pipe("kg_relations")
    monkeypatch.setattr(rel, "sentence_rules", [f for f in rel.sentence_rules if f is not func])
    monkeypatch.setattr(rel, "article_rules", [f for f in rel.article_rules if f is not func])
    wrong = []
    for text, must, must_not in (p.values[1:] for p in RULE_CASES if p.values[0] == rule):
        found = _found(extract_text, text)
        wrong += [*(must - found), *(must_not & found)]
    assert wrong, f"{rule}: every case passes without it"


# (text, project as written, amount in yuan or None)
AMOUNT_CASES = [
    ("总投资5亿元的青禾智造园项目，总投资0.6亿元的禾丰物流园项目集中开工。", "青禾智造园", 500_000_000),
    ("总投资5亿元的青禾智造园项目，总投资0.6亿元的禾丰物流园项目集中开工。", "禾丰物流园", 60_000_000),
    ("投资3亿元建设的青禾冷链中心正式投用。", "青禾冷链中心", 300_000_000),
    ("签约青禾光伏电站项目，总投资12亿元。", "青禾光伏电站", 1_200_000_000),
    ("加快推进禾丰物流园项目建设，该项目总投资42亿元。", "禾丰物流园", 4_200_000_000),
    ("位于禾丰镇的青禾养老中心项目，投资额2.5亿元。", "青禾养老中心", 250_000_000),
    # a total over a list or a count of projects is no single project's amount
    ("青禾智造园项目、禾丰物流园项目，总投资8亿元。", "青禾智造园", None),
    ("青禾智造园项目、禾丰物流园项目，总投资8亿元。", "禾丰物流园", None),
    ("总投资80亿元的12个项目中，青禾智造园项目进展最快。", "青禾智造园", None),
    ("青禾智造园项目进展顺利。", "青禾智造园", None),
]


@pytest.mark.parametrize("text,project,amount", AMOUNT_CASES)
def test_amount_binds_to_its_own_project(text, project, amount):
    from kg.pipeline.relation_rules import project_amount
    start = text.index(project)
    assert project_amount(text, start, start + len(project)) == amount


def test_amounts_go_on_each_projects_invests(extract_text):
    ex = extract_text("青州市举行重大项目集中开工仪式。青禾新材料产业园项目总投资10亿元，禾丰智造园项目总投资3亿元。")
    amounts = {r.tail: r.amount for r in ex.relations if r.relation == "invests"}
    assert amounts.get("青禾新材料产业园") == 1_000_000_000
    assert amounts.get("禾丰智造园") in (300_000_000, None)  # found as a project or not, never 10亿


def test_amount_from_another_mention_and_on_the_company(nlp):
    """The amount stands at the project's second mention; the company that invests takes it,
    the district that hosts the project does not (ANNOTATION.md: the investor's relation)."""
    from kg.pipeline.relations import Rel, RelationExtractor
    text = "青禾县星河精工产业园项目签约。星河精工产业园项目总投资6亿元，由星河集团投资建设。"
    doc = nlp.make_doc(text)
    spans = [doc.char_span(m, m + 7, "Project") for m in (3, 16)]
    county, company = (0, 3, "District"), (text.index("星河集团"), text.index("星河集团") + 4, "Enterprise")
    first = (3, 10, "Project")
    rels = [Rel(county, first, "invests", None, None, 0.9), Rel(company, first, "invests", None, None, 0.9)]
    mentions = {(s.start_char, s.end_char): spans for s in spans}
    done = RelationExtractor("kg_relations").finish(text, rels, mentions)
    assert {r.head[2]: r.amount for r in done} == {"District": None, "Enterprise": 600_000_000}
    alone = RelationExtractor("kg_relations").finish(text, rels[:1], mentions)
    assert [r.amount for r in alone] == [600_000_000]


# --- the model: data on disk, no pickle --------------------------------------------------------

def test_model_round_trips_through_disk(nlp, tmp_path):
    from kg.pipeline.relations import RelationExtractor
    rel = nlp.get_pipe("kg_relations")
    assert rel.model, "the shipped model (kg/models/relations) is missing: rebuild it with `kg train`"
    rel.to_disk(tmp_path / "rel")
    assert (tmp_path / "rel" / "model.json").read_text("utf-8").startswith("{")
    again = RelationExtractor("kg_relations", model=str(tmp_path / "rel"))
    assert again.model == rel.model and again.cues == rel.cues
    doc = nlp("青禾市委副书记、市长张明远出席签约仪式。华星光电集团董事长刘振宇出席。", disable=["kg_relations"])
    assert sorted(rel.predict(doc)) == sorted(again.predict(doc))


def test_word_lists_come_in_at_initialize_and_go_out_with_to_disk(nlp, tmp_path):
    from spacy.util import registry

    from kg.pipeline.relations import Rel, RelationExtractor
    words = registry.misc.get("kg.relation_words.v1")()
    assert "签约" in words["cues"] and not any(k.startswith("_") for k in words)
    assert "总投资" in words["amount_words"] and "个" in words["counters"]
    rel = RelationExtractor("kg_relations")
    rel.initialize(words={"cues": ["签约", "落户"], "amount_words": ["总投资"]})
    assert rel.cues == ("签约", "落户") and rel.words["counters"] == words["counters"]  # the rest: defaults
    rel.to_disk(tmp_path / "rel")
    again = RelationExtractor("kg_relations", model=str(tmp_path / "rel"))
    assert again.cues == ("签约", "落户") and again.words["amount_words"] == ["总投资"]
    # the amounts finisher reads its words from the component: 计划投资 is no amount word here
    doc = nlp("禾丰物流园项目计划投资3亿元。", disable=["kg_relations"])
    project = next(e for e in doc.ents if e.label_ == "Project")
    rel_ = Rel((0, 2, "District"), (project.start_char, project.end_char, "Project"), "invests", None, None, 1.0)
    assert [r.amount for r in RelationExtractor("kg_relations").finish(doc.text, [rel_])] == [300_000_000]
    assert [r.amount for r in again.finish(doc.text, [rel_])] == [None]


def test_without_a_model_the_rules_still_answer(nlp, tmp_path):
    from kg.pipeline.relations import RelationExtractor
    bare = RelationExtractor("kg_relations", model=str(tmp_path / "none"))
    assert not bare.model
    doc = nlp("区财政局党组书记、局长张志远出席会议。", disable=["kg_relations"])
    rels = [(doc.text[h[0]:h[1]], label, doc.text[t[0]:t[1]]) for h, t, label, *_ in bare.predict(doc)]
    assert rels == [("张志远", "leads", "区财政局")]


def test_rules_and_confidences_come_from_the_config(nlp, tmp_path):
    """Without a model the rules answer with the configured confidence; without article rules
    there are no article-level candidates (the home district invests in nothing)."""
    from kg.pipeline.relations import RelationExtractor
    doc = nlp("本报讯 青州市举行重大项目集中开工仪式。区财政局党组书记、局长张志远出席。华星光电潍坊基地项目开工。",
              disable=["kg_relations"])
    bare = RelationExtractor("kg_relations", model=str(tmp_path / "none"), confidences={"post_chain_top": 0.7})
    assert [r.confidence for r in bare.predict(doc) if r.label == "leads"] == [0.7]
    full = RelationExtractor("kg_relations")
    cut = RelationExtractor("kg_relations", article_rules={})
    def invested(rel: RelationExtractor) -> set[str]:  # the projects the home district invests in
        return {doc.text[t[0]:t[1]] for h, t, label, *_ in rel.predict(doc)
                if label == "invests" and doc.text[h[0]:h[1]] == "青州市"}
    assert any(p.startswith("华星光电潍坊基地") for p in invested(full))
    assert not any(p.startswith("华星光电潍坊基地") for p in invested(cut))


def test_a_rule_that_is_no_function_is_refused():
    from kg.pipeline.relations import RelationExtractor
    with pytest.raises(TypeError, match="post_chain|must be a function"):
        RelationExtractor("kg_relations", sentence_rules={"post_chain": "kg.rel.post_chain.v1"})


# --- training on the shared gold ---------------------------------------------------------------

@pytest.fixture(scope="module")
def shared_dir():
    if not (SHARED / "gold").is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{SHARED}: the shared data (gold files) is missing")
        pytest.skip(f"no shared data at {SHARED}")
    return SHARED


def test_oracle_doc_projects_the_gold(nlp, shared_dir):
    import json
    from kg.training.relations import corpus, oracle_doc
    from kg.ingest import read_article
    stem, path, gold_path = corpus(shared_dir, "samples")[0]
    gold = json.loads(gold_path.read_text("utf-8"))
    doc = oracle_doc(nlp, read_article(path).text, gold)
    names = {n for e in gold["entities"] for n in [e["name"], *e["aliases"]]}
    assert doc.ents and all(e.text in names for e in doc.ents)


def test_oracle_doc_finds_names_written_full_width(nlp):
    """The gold's names are NFKC (半角 brackets); the text may write them full-width."""
    from kg.training.relations import oracle_doc
    text = "青禾（南川）精工机械有限公司在青禾县投资建设新厂。"
    gold = {"entities": [{"name": "青禾(南川)精工机械有限公司", "type": "Enterprise", "aliases": []},
                         {"name": "青禾县", "type": "District", "aliases": []}], "relations": []}
    doc = oracle_doc(nlp, text, gold)
    assert [e.text for e in doc.ents] == ["青禾（南川）精工机械有限公司", "青禾县"]


def test_nearest_place_ranks_the_places_of_an_entity(nlp):
    """nearest_place: the town named with the project is its nearest and finest place; the
    county (the article's home) is farther, with a finer place nearer."""
    from kg.training.relations import component, oracle_doc
    text = "本报讯 青禾县召开重点项目推进会。\n会议指出，要加快产业升级。位于禾丰镇的星河精工产业园项目开工建设。"
    gold = {"entities": [{"name": "青禾县", "type": "District", "aliases": []},
                         {"name": "禾丰镇", "type": "District", "aliases": []},
                         {"name": "星河精工产业园", "type": "Project", "aliases": []}], "relations": []}
    cands, _ = component(nlp).candidates(oracle_doc(nlp, text, gold))
    town, county = (next(c for c in cands["locatedIn"].values() if c.head.text == "星河精工产业园" and c.tail.text == t)
                    for t in ("禾丰镇", "青禾县"))
    assert {"near_rank=0", "spec_rank=0", "spec=4"} <= town.feats and "finer_nearer" not in town.feats
    assert {"near_rank=1", "spec_rank=1", "spec=3", "finer_nearer", "near_role=1home"} <= county.feats


def test_place_features_say_the_level_and_the_country(nlp):
    """市委 is the city's committee (relative_match with the lexicon's 青岛市, not the county); a
    foreign country is marked as such; a town's step up to its county is one level."""
    from kg.training.relations import component, oracle_doc
    text = ("本报讯 青禾县举行项目签约仪式。青岛市委、县委有关负责同志出席。"
            "星河精工产业园引进德国技术，落户青禾县禾丰镇。")
    gold = {"entities": [{"name": n, "type": t, "aliases": []} for n, t in
                         [("青禾县", "District"), ("青岛", "District"), ("市委", "Organization"),
                          ("县委", "Organization"), ("德国", "District"), ("禾丰镇", "District"),
                          ("星河精工产业园", "Project")]],
            "relations": []}
    cands, _ = component(nlp).candidates(oracle_doc(nlp, text, gold))
    located = {(c.head.text, c.tail.text): c.feats for c in cands["locatedIn"].values()}
    assert "relative_match" in located[("市委", "青岛")] and "relative_mismatch" in located[("市委", "青禾县")]
    assert "relative_match" in located[("县委", "青禾县")]
    assert "t_country" in located[("星河精工产业园", "德国")]
    assert "t_country" not in located[("星河精工产业园", "禾丰镇")]
    assert not any(head == "德国" for head, _ in located)  # a country lies in no district
    assert "spec_step=1" in located[("禾丰镇", "青禾县")]


def test_home_district_by_its_short_form(nlp):
    """坊子 (the lexicon's 坊子区, written short) is the article's home (本区), not the zone
    part (片区) that ends in 区 as well; and its division is found from the short form."""
    from kg.pipeline.relations import _unique
    from kg.training.relations import component, oracle_doc
    text = "本报讯 坊子召开重点项目推进会。本区将加快青禾科技城坊子片区建设，青禾科技城坊子片区已落地项目12个。"
    gold = {"entities": [{"name": "坊子", "type": "District", "aliases": []},
                         {"name": "青禾科技城坊子片区", "type": "District", "aliases": []}], "relations": []}
    rel = component(nlp)
    doc = oracle_doc(nlp, text, gold)
    groups = rel.groups(doc.text, _unique(list(doc.ents) + list(doc.spans["kg_nested"])))
    home = rel.article_places(doc.text, groups)["home"]
    assert home is not None and home.text == "坊子"
    assert rel.division(home) is not None and rel.division(home).name == "坊子区"


def test_training_learns_the_sample_articles(nlp, shared_dir):
    """Fit on two sample articles with oracle entities, score the third: the model beats the
    rules alone (which find no article-level relation)."""
    from kg.pipeline.relations import LinearModel
    from kg.training.relations import corpus, fit, load_items, scores
    items = load_items(nlp, corpus(shared_dir, "samples"), modes=("oracle",))
    train, test = items[:2], items[2:]
    model = fit(train)
    assert set(model.weights) == {"leads", "worksFor", "locatedIn", "invests"}
    learned = scores(nlp, test, model, shared_dir / "gold")["oracle"]["relations"]["overall"]
    rules = scores(nlp, test, LinearModel(), shared_dir / "gold")["oracle"]["relations"]["overall"]
    assert learned["f1"] > rules["f1"] and learned["f1"] > 0.3


def test_linear_model_score_is_the_same_in_every_process():
    """The features' set order follows string hashes (PYTHONHASHSEED differs between worker
    processes); the score must not, or a --jobs build differs from a one-process build."""
    import subprocess
    import sys
    code = ("from kg.pipeline.relations import LinearModel\n"
            "w = {f'f{i}': (-1) ** i * (0.1 * i) ** 3 / 7e3 + 1e-9 * i for i in range(400)}\n"
            "m = LinearModel(weights={'r': w}, bias={'r': 0.3})\n"
            "print(repr(m.prob('r', set(w))))")
    seen = {subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONHASHSEED": str(seed)},
                           capture_output=True, text=True, check=True).stdout for seed in range(6)}
    assert len(seen) == 1
