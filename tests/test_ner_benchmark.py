"""Tests for benchmarks/ner_benchmark.py: scoring helpers on tiny invented inputs, and one
end-to-end run of main() with a fake kg tagger. No network; jiagu/thulac optional."""

import importlib.util
import io
import json
import sys
import types
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "ner_benchmark.py"
_spec = importlib.util.spec_from_file_location("ner_benchmark", SCRIPT)
nb = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("ner_benchmark", nb)
_spec.loader.exec_module(nb)


# --- BIO decoding ---------------------------------------------------------------------------

def test_bio_spans_basic_and_end_of_sequence():
    assert nb.bio_spans(["B-PER", "I-PER", "O", "B-LOC"]) == [(0, 2, "PER"), (3, 4, "LOC")]


def test_bio_spans_i_without_b_opens_span():
    tags = ["I-LOC", "I-LOC", "O", "I-ORG", "B-ORG", "I-PER"]
    assert nb.bio_spans(tags) == [(0, 2, "LOC"), (3, 4, "ORG"), (4, 5, "ORG"), (5, 6, "PER")]


def test_bio_spans_adjacent_b_and_type_switch():
    assert nb.bio_spans(["B-PER", "B-PER", "I-LOC", "O"]) == [(0, 1, "PER"), (1, 2, "PER"), (2, 3, "LOC")]
    assert nb.bio_spans([]) == [] and nb.bio_spans(["O", "O"]) == []


# --- CLUENER --------------------------------------------------------------------------------

def test_cluener_inclusive_offsets_and_mapping():
    label = {"name": {"张三": [[0, 1], [5, 6]]},
             "company": {"甲公司": [[2, 4]]},
             "government": {"国务院": [[7, 9]]},
             "organization": {"曼联": [[10, 11]]},
             "address": {"北京": [[12, 13]]}}
    assert nb.cluener_spans(label) == {(0, 2, "Person"), (5, 7, "Person"), (2, 5, "Enterprise"),
                                       (7, 10, "Organization"), (10, 12, "Organization")}


def test_read_cluener(tmp_path):
    p = tmp_path / "c.json"
    p.write_text(json.dumps({"text": "张三在甲公司", "label": {"name": {"张三": [[0, 1]]}}},
                            ensure_ascii=False) + "\n" +
                 json.dumps({"text": "无", "label": {}}, ensure_ascii=False) + "\n", encoding="utf-8")
    ds = nb.read_cluener(p)
    assert ds.texts == ["张三在甲公司", "无"] and ds.gold == [{(0, 2, "Person")}, set()]
    assert len(nb.read_cluener(p, limit=1).texts) == 1


# --- People's Daily: BIO file, ORG equivalence ------------------------------------------------

PD_TEXT = "新 B-ORG\n华 I-ORG\n社 I-ORG\n北 B-LOC\n京 I-LOC\n\n李 B-PER\n四 I-PER\n在 O\n甲 B-ORG\n厂 I-ORG\n"


def test_read_bio_and_org_equivalence(tmp_path):
    p = tmp_path / "pd.dev"
    p.write_text(PD_TEXT, encoding="utf-8")  # no trailing blank line
    ds = nb.read_bio(p)
    assert ds.texts == ["新华社北京", "李四在甲厂"]
    assert ds.gold == [{(0, 3, "ORG"), (3, 5, "District")}, {(0, 2, "Person"), (3, 5, "ORG")}]
    # Organization and Enterprise predictions both count as ORG; Project is ignored.
    pred = [nb.map_spans([(0, 3, "Organization"), (3, 5, "District"), (0, 5, "Project")], ds.pred_map),
            nb.map_spans([(0, 2, "Person"), (3, 5, "Enterprise")], ds.pred_map)]
    sc = nb.score(ds.gold, pred, ds.types)
    assert sc["ORG"]["tp"] == 2 and sc["ORG"]["fp"] == 0
    assert sc["overall"]["f1"] == 1.0
    assert nb.read_bio(p, limit=1).texts == ["新华社北京"]


def test_cluener_enterprise_is_not_organization():
    gold = [{(0, 2, "Enterprise")}]
    pred = [nb.map_spans([(0, 2, "Organization")], nb.CLUENER_PRED)]
    sc = nb.score(gold, pred, nb.CLUENER_TYPES)
    assert sc["Enterprise"]["fn"] == 1 and sc["Organization"]["fp"] == 1 and sc["overall"]["tp"] == 0


# --- P/R/F1 ---------------------------------------------------------------------------------

def test_prf_arithmetic():
    p, r, f = nb.prf(2, 1, 2)
    assert p == pytest.approx(2 / 3) and r == pytest.approx(0.5) and f == pytest.approx(4 / 7)
    assert nb.prf(0, 0, 0) == (0.0, 0.0, 0.0)
    assert nb.prf(0, 3, 0) == (0.0, 0.0, 0.0)


def test_score_micro_overall_and_boundaries():
    gold = [{(0, 2, "Person"), (3, 5, "District")}, {(1, 3, "ORG")}]
    pred = [{(0, 2, "Person"), (3, 4, "District")}, {(1, 3, "ORG"), (4, 6, "Person")}]
    sc = nb.score(gold, pred, ("Person", "District", "ORG"))
    assert (sc["Person"]["tp"], sc["Person"]["fp"], sc["Person"]["fn"]) == (1, 1, 0)
    assert (sc["District"]["tp"], sc["District"]["fp"], sc["District"]["fn"]) == (0, 1, 1)  # partial = miss
    assert (sc["overall"]["tp"], sc["overall"]["fp"], sc["overall"]["fn"]) == (2, 2, 1)
    assert sc["overall"]["p"] == 0.5 and sc["overall"]["r"] == pytest.approx(2 / 3)


def test_word_offsets_tolerates_dropped_whitespace():
    assert nb.word_offsets("ab  cd", ["ab", "cd"]) == [(0, 2), (4, 6)]
    spans = nb.tagged_words_spans("张三去北京", ["张三", "去", "北京"], ["nr", "v", "ns"],
                                  nb._prefix_map({"nr": "Person", "ns": "District"}))
    assert spans == [(0, 2, "Person"), (3, 5, "District")]


# --- main() end to end with a fake kg tagger ------------------------------------------------

CLUENER_LINES = [
    {"text": "张三在甲公司工作", "label": {"name": {"张三": [[0, 1]]}, "company": {"甲公司": [[3, 5]]}}},
    {"text": "国务院发布通知", "label": {"government": {"国务院": [[0, 2]]}}},
    {"text": "李四和王五", "label": {"name": {"李四": [[0, 1]], "王五": [[3, 4]]}}},
    {"text": "今天天气好", "label": {}},
    {"text": "曼联赢了", "label": {"organization": {"曼联": [[0, 1]]}}},
]
PD_5 = ("张 B-PER\n三 I-PER\n\n北 B-LOC\n京 I-LOC\n\n新 B-ORG\n华 I-ORG\n社 I-ORG\n\n"
        "好 O\n\n甲 B-ORG\n厂 I-ORG\n")


def _fake_ner(texts, layer="pipeline"):
    table = {"张三在甲公司工作": [(0, 2, "Person"), (3, 6, "Enterprise")],
             "国务院发布通知": [(0, 3, "Organization")],
             "李四和王五": [(0, 2, "Person")],           # misses 王五
             "今天天气好": [(0, 2, "District")],          # not scored on CLUENER
             "曼联赢了": [(0, 2, "Enterprise")],          # wrong type
             "张三": [(0, 2, "Person")], "北京": [(0, 2, "District")],
             "新华社": [(0, 3, "Organization")], "好": [], "甲厂": [(0, 2, "Enterprise")]}
    return [table[t] for t in texts]


@pytest.fixture
def data_files(tmp_path):
    c = tmp_path / "dev.json"
    c.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in CLUENER_LINES), encoding="utf-8")
    p = tmp_path / "example.dev"
    p.write_text(PD_5, encoding="utf-8")
    return ["--cluener", str(c), "--peoples-daily", str(p)]


def test_main_with_fake_kg(monkeypatch, data_files):
    monkeypatch.setattr(nb, "kg_mentions", _fake_ner)

    def broken():
        raise ImportError("no such tool")

    systems = [nb.System("kg", nb.load_kg), nb.System("broken", broken)]
    buf = io.StringIO()
    assert nb.main(data_files + ["--json"], systems=systems, out=buf) == 0
    rep = json.loads(buf.getvalue())
    cl = rep["datasets"]["CLUENER2020 dev"]
    assert cl["sentences"] == 5 and cl["gold"] == {"Person": 3, "Enterprise": 1, "Organization": 2}
    kg = cl["systems"]["kg"]
    assert kg["status"] == "ok" and kg["tag_seconds"] >= 0
    ov = kg["scores"]["overall"]
    assert (ov["tp"], ov["fp"], ov["fn"]) == (4, 1, 2)
    assert cl["systems"]["broken"]["status"].startswith("unavailable (ImportError: no such tool")
    pd = rep["datasets"]["People's Daily NER dev"]["systems"]["kg"]["scores"]
    assert pd["overall"]["f1"] == 1.0 and pd["ORG"]["tp"] == 2

    buf = io.StringIO()
    nb.main(data_files + ["--markdown", "--only", "kg,broken"], systems=systems, out=buf)
    md = buf.getvalue()
    assert "| system | Person P/R/F1 | Enterprise P/R/F1 | Organization P/R/F1 |" in md
    assert "| kg | 100.0/66.7/80.0 |" in md and "broken: unavailable" in md


def test_main_reports_missing_kg(monkeypatch, data_files):
    monkeypatch.setitem(sys.modules, "kg.nlp", None)  # import of kg.nlp fails
    buf = io.StringIO()
    nb.main(data_files + ["--only", "kg"], out=buf)
    assert "kg: unavailable (" in buf.getvalue()


# --- peer adapters (skipped when the tool is not installed) ---------------------------------

@pytest.mark.parametrize("name,module", [("jieba", "jieba"), ("jiagu", "jiagu"), ("thulac", "thulac")])
def test_peer_adapter_smoke(name, module):
    pytest.importorskip(module)
    tag = getattr(nb, f"load_{name}")()
    text = "国务院总理李克强在上海考察。"
    (spans,), seconds = tag([text])
    assert seconds >= 0
    for s, e, t in spans:
        assert 0 <= s < e <= len(text) and t in {"Person", "District", "Organization"}
    assert (5, 8, "Person") in spans or name == "jieba"
