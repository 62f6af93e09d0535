"""kg.evaluate must agree exactly with the reference scorer shared/tools/score.py."""
from __future__ import annotations

import importlib.util
import json
import random
from pathlib import Path

import pytest

import kg.cli
from conftest import CORPUS, GOLD, ROOT, need_shared
from kg import evaluate

pytestmark = pytest.mark.usefixtures("shared_pipeline")

SCORER = Path(__file__).resolve().parents[2] / "shared" / "tools" / "score.py"


@pytest.fixture(scope="module")
def ref():
    need_shared(SCORER, "the reference scorer")
    spec = importlib.util.spec_from_file_location("reference_score", SCORER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def gold_dir() -> Path:
    return need_shared(GOLD, "the gold files")


def load_dir(folder: Path) -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text("utf-8")) for p in sorted(folder.glob("*.json"))}


def both(ref, gold: Path, pred: Path) -> tuple[dict, dict]:
    """(ours, reference) on the same gold and prediction folders."""
    return evaluate.score(gold, load_dir(pred)), ref.score_dirs(gold, pred)


def write_docs(folder: Path, docs: dict[str, dict]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for stem, doc in docs.items():
        (folder / f"{stem}.json").write_text(json.dumps(doc, ensure_ascii=False), "utf-8")
    return folder


# --- on the shared gold ---------------------------------------------------------------------

def test_gold_against_itself(ref, gold_dir):
    ours, theirs = both(ref, gold_dir, gold_dir)
    assert ours == theirs
    assert ours["entities"]["overall"]["f1"] == 1.0
    assert ours["relations"]["overall"]["f1"] == 1.0
    assert ours["missing_pred"] == []
    assert evaluate.table(ours) == ref.table(theirs)


def test_gold_against_kg_extract(ref, gold_dir, corpus_extract):
    rc, pred = corpus_extract
    assert rc == 0
    ours, theirs = both(ref, gold_dir, pred)
    assert ours == theirs
    assert ours["docs"] == sorted(p.stem for p in gold_dir.glob("*.json"))
    assert 0 < ours["entities"]["overall"]["f1"] < 1
    assert evaluate.table(ours) == ref.table(theirs)


def test_gold_against_nothing(ref, gold_dir, tmp_path):
    ours, theirs = both(ref, gold_dir, tmp_path)
    assert ours == theirs
    assert ours["missing_pred"] == ours["docs"] and ours["entities"]["overall"]["r"] == 0.0


def test_cli_evaluate_json(ref, gold_dir, corpus_extract, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    rc = kg.cli.main(["evaluate", "--gold", "../shared/gold", "examples/corpus", "--json"])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    result = json.loads(captured.out)
    assert result == ref.score_dirs(gold_dir, corpus_extract[1])
    assert set(result) == {"docs", "missing_pred", "entities", "relations"}


def test_cli_evaluate_table(ref, gold_dir, corpus_extract, capsys):
    rc = kg.cli.main(["evaluate", "--gold", str(gold_dir), str(CORPUS)])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    assert captured.out.strip() == ref.table(ref.score_dirs(gold_dir, corpus_extract[1])).strip()


# --- invented gold / prediction pairs -------------------------------------------------------

GOLD_DOCS = {
    "a": {"doc": "a.txt", "entities": [
        {"name": "东岳新区", "type": "District", "aliases": ["新区", "青川东岳新区"]},
        {"name": "张志远", "type": "Person", "aliases": []},
        {"name": "区财政局", "type": "Organization", "aliases": ["区财政局（国资局）"]},
        {"name": "华星光电", "type": "Enterprise", "aliases": ["华星光电科技有限公司"]},
        {"name": "华星光电东岳基地", "type": "Project", "aliases": ["华星光电东岳基地项目"]}],
        "relations": [
            {"head": "张志远", "relation": "leads", "tail": "区财政局（国资局）", "role": "局长"},
            {"head": "区财政局", "relation": "locatedIn", "tail": "新区"},
            {"head": "华星光电科技有限公司", "relation": "invests", "tail": "华星光电东岳基地", "amount": 4200000000},
            {"head": "华星光电东岳基地", "relation": "locatedIn", "tail": "东岳新区"}]},
    "b": {"doc": "b.txt", "entities": [
        {"name": "新区", "type": "District", "aliases": []},           # "新区" names two gold entities
        {"name": "临港新区", "type": "District", "aliases": ["新区"]},
        {"name": "滨河街道", "type": "District", "aliases": []},
        {"name": "刘海涛", "type": "Person", "aliases": []},
        {"name": "区商务局", "type": "Organization", "aliases": []}],
        "relations": [
            {"head": "滨河街道", "relation": "locatedIn", "tail": "临港新区"},
            {"head": "刘海涛", "relation": "worksFor", "tail": "区商务局", "role": "副局长"}]},
    "c": {"doc": "c.txt", "entities": [{"name": "赵晓明", "type": "Person", "aliases": []}], "relations": []},
}

PRED_DOCS = {
    "a": {"doc": "a.txt", "entities": [
        {"name": "新 区", "type": "District", "aliases": []},              # alias + whitespace
        {"name": "青川东岳新区", "type": "District", "aliases": []},      # same gold entity again
        {"name": "张\n志远", "type": "Organization", "aliases": []},      # wrong type
        {"name": "区财政局(国资局)", "type": "Organization", "aliases": []},  # half-width brackets
        {"name": "华星光电东岳基地项目", "type": "Project", "aliases": []},
        {"name": "华星光电", "type": "Organization", "aliases": []},
        {"name": "王某某", "type": "Person", "aliases": []}],                # not in gold
        "relations": [
            {"head": "张志远", "relation": "leads", "tail": "区财政局"},
            {"head": "区财政局", "relation": "leads", "tail": "新区"},
            {"head": "华星光电", "relation": "invests", "tail": "华星光电东岳基地项目"},
            {"head": "华星光电东岳基地", "relation": "locatedIn", "tail": "青川东岳新区"},
            {"head": "华星光电东岳基地", "relation": "locatedIn", "tail": "东岳新区"}]},   # duplicate
    "b": {"doc": "b.txt", "entities": [
        {"name": "新区", "type": "District", "aliases": []},
        {"name": "滨河街道", "type": "Organization", "aliases": []},
        {"name": "区商务局", "type": "Organization", "aliases": []}],
        "relations": [
            {"head": "滨河街道", "relation": "locatedIn", "tail": "新区"},   # an end tries every reading
            {"head": "刘海涛", "relation": "leads", "tail": "区商务局"}]},
    # "c" has no prediction: scores as empty
    "extra": {"doc": "extra.txt", "entities": [{"name": "无关", "type": "Person", "aliases": []}],
              "relations": []},
}


def test_invented_pairs_agree(ref, tmp_path):
    gold = write_docs(tmp_path / "gold", GOLD_DOCS)
    pred = write_docs(tmp_path / "pred", PRED_DOCS)
    ours, theirs = both(ref, gold, pred)
    assert ours == theirs
    assert ours["docs"] == ["a", "b", "c"] and ours["missing_pred"] == ["c"]
    assert ours["relations"]["by_relation"]["locatedIn"]["tp"] == 2
    assert evaluate.table(ours) == ref.table(theirs)


def test_invented_pairs_known_values(tmp_path):
    gold = write_docs(tmp_path / "gold", {"a": GOLD_DOCS["a"]})
    res = evaluate.score(gold, {"a": PRED_DOCS["a"]})
    e = res["entities"]
    # 新区/青川东岳新区 collapse to one TP; 区财政局(国资局), 华星光电东岳基地项目 are aliases: TP;
    # 张志远 as Organization and 华星光电 as Organization miss by type; 王某某 is a FP.
    assert (e["overall"]["tp"], e["overall"]["pred"], e["overall"]["gold"]) == (3, 6, 5)
    assert (e["untyped"]["tp"], e["untyped"]["gold"]) == (5, 5)
    assert e["by_type"]["Person"] == {"tp": 0, "pred": 1, "gold": 1, "p": 0.0, "r": 0.0, "f1": 0.0}
    r = res["relations"]
    assert (r["overall"]["tp"], r["overall"]["pred"], r["overall"]["gold"]) == (3, 4, 4)
    assert list(r["by_relation"]) == ["leads", "locatedIn", "invests"]


def test_reference_selftest_cases_agree(ref):
    """The reference's own self-test documents, through both implementations' score_doc."""
    gold = {"entities": [
        {"name": "西海岸新区", "type": "District", "aliases": ["新区", "青岛西海岸新区"]},
        {"name": "毕雷鸣", "type": "Person", "aliases": []},
        {"name": "区工商联", "type": "Organization", "aliases": ["区工商联（民发局）"]}],
        "relations": [{"head": "毕雷鸣", "relation": "leads", "tail": "区工商联（民发局）"},
                      {"head": "区工商联", "relation": "locatedIn", "tail": "新区"}]}
    pred = {"entities": [{"name": "新 区", "type": "District"}, {"name": "青岛西海岸新区", "type": "District"},
                         {"name": "毕雷\n鸣", "type": "Organization"}, {"name": "王雪", "type": "Person"}],
            "relations": [{"head": "毕雷鸣", "relation": "leads", "tail": "区工商联"},
                          {"head": "区工商联", "relation": "leads", "tail": "新区"}]}
    for pairs in ([(gold, pred)], [(gold, {})], [(gold, gold), (gold, {})]):
        ours, theirs = evaluate.Counts(), ref.Counts()
        for g, p in pairs:
            evaluate.score_doc(g, p, ours)
            ref.score_doc(g, p, theirs)
        for key in ("ent", "untyped", "rel"):
            assert ours.prf(key) == theirs.prf(key)
        assert ours.group("type") == theirs.group("type")
        assert ours.group("rel") == theirs.group("rel")


def test_random_pairs_agree(ref, tmp_path):
    """Random documents over a small pool of forms, with shared and ambiguous aliases."""
    rng = random.Random(20240601)
    forms = ["甲区", "甲", "乙局", "乙局（丙局）", "乙局(丙局)", "丁 公司", "丁公司", "戊项目", "戊", "己", "庚 区",
             "庚区", "辛", "ＡＢ", "AB"]
    types = ["Person", "District", "Organization", "Enterprise", "Project"]
    relations = ["leads", "worksFor", "locatedIn", "invests"]
    gold_docs, pred_docs = {}, {}
    for i in range(40):
        ents = []
        for name in rng.sample(forms, rng.randint(0, 6)):
            aliases = rng.sample([f for f in forms if f != name], rng.randint(0, 2))
            ents.append({"name": name, "type": rng.choice(types), "aliases": aliases})
        names = [e["name"] for e in ents] or ["甲"]
        gold_docs[f"d{i:02}"] = {"doc": f"d{i:02}.txt", "entities": ents, "relations": [
            {"head": rng.choice(names), "relation": rng.choice(relations), "tail": rng.choice(names)}
            for _ in range(rng.randint(0, 4))]}
        if rng.random() < 0.85:
            pred_docs[f"d{i:02}"] = {"doc": f"d{i:02}.txt", "entities": [
                {"name": rng.choice(forms), "type": rng.choice(types), "aliases": []}
                for _ in range(rng.randint(0, 6))], "relations": [
                {"head": rng.choice(forms), "relation": rng.choice(relations), "tail": rng.choice(forms)}
                for _ in range(rng.randint(0, 5))]}
    gold = write_docs(tmp_path / "gold", gold_docs)
    pred = write_docs(tmp_path / "pred", pred_docs)
    ours, theirs = both(ref, gold, pred)
    assert ours == theirs
    assert ours["entities"]["overall"]["tp"] > 0 and ours["relations"]["overall"]["tp"] > 0


def test_missing_pred_dict_equals_empty_dict(tmp_path):
    gold = write_docs(tmp_path / "gold", {"a": GOLD_DOCS["a"]})
    assert evaluate.score(gold, {}) == {**evaluate.score(gold, {"a": {}}), "missing_pred": ["a"]}


@pytest.mark.parametrize("ci,outcome", [("true", pytest.fail.Exception), ("", pytest.skip.Exception)])
def test_missing_shared_data_fails_in_ci_and_skips_elsewhere(tmp_path, monkeypatch, ci, outcome):
    monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome, match="gold files not found"):
        need_shared(tmp_path / "gold", "the gold files")
    (tmp_path / "gold").mkdir()
    with pytest.raises(outcome):  # an empty folder is missing data too
        need_shared(tmp_path / "gold", "the gold files")
    (tmp_path / "gold" / "a.json").write_text("{}", encoding="utf-8")
    assert need_shared(tmp_path / "gold", "the gold files") == tmp_path / "gold"
