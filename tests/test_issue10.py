"""Issue 10 (hardening): builds that cannot be poisoned, crashed or left half-done.

Each test reproduces one finding of the issue on a small invented corpus, in-process.
(The SPARQL server's findings are in test_serve.py, the cache's in test_cache.py.)
"""
from __future__ import annotations

import codecs
import csv
import io
import os
from pathlib import Path
from urllib.parse import unquote, unquote_to_bytes

import pytest
import rdflib

import kg.cli
from kg.ingest import IngestError, decode, read_article

pytestmark = pytest.mark.usefixtures("shared_pipeline")

GOOD = "区财政局党组书记、局长张志远出席会议。\n加快推进华星光电潍坊基地建设，总投资42亿元。\n"


def main(*argv: object) -> int:
    return kg.cli.main([str(a) for a in argv])


def corpus(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "corpus"
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


def article_iris(out: Path) -> set[str]:
    g = rdflib.Graph().parse(out / "graph.ttl", format="turtle")
    return {str(s) for s in g.subjects(rdflib.RDF.type, rdflib.URIRef("https://w3id.org/zhkg/ontology#Article"))}


# --- 6. file names that are not UTF-8 --------------------------------------------------------

def test_issue10_non_utf8_file_name_builds_and_keeps_its_bytes(tmp_path, capsys):
    root = corpus(tmp_path, {"ok.txt": GOOD})
    raw = "区委书记".encode("gbk") + b".txt"  # a GBK name, as Windows zip files have them
    with open(os.path.join(os.fsencode(root), raw), "wb") as f:
        f.write(GOOD.encode("utf-8"))
    out = tmp_path / "out"
    assert main("build", root, "--out", out) == 0, capsys.readouterr().err
    # the id has the bytes that are not UTF-8 as %XX: unquoting gives the name back, byte for byte
    rows = list(csv.DictReader(io.StringIO((out / "relations.csv").read_text("utf-8"))))
    [doc_id] = {r["article"] for r in rows} - {"ok.txt"}
    assert unquote_to_bytes(doc_id) == raw
    assert {unquote(iri.rsplit("/", 1)[1]) for iri in article_iris(out)} == {doc_id, "ok.txt"}
    assert main("extract", root, "--out", tmp_path / "json") == 0
    assert len(list((tmp_path / "json").glob("*.json"))) == 2


# --- 7. article identity = path relative to the corpus folder --------------------------------

def test_issue10_same_name_in_two_subfolders_is_two_articles(tmp_path, capsys):
    root = corpus(tmp_path, {"a/news.txt": GOOD, "b/news.txt": "区商务局副局长刘海涛介绍情况。\n"})
    out = tmp_path / "out"
    assert main("build", root, "--out", out) == 0
    assert {iri.rsplit("/", 1)[1] for iri in article_iris(out)} == {"a%2Fnews.txt", "b%2Fnews.txt"}
    assert main("extract", root, "--out", tmp_path / "json") == 0
    written = sorted(p.relative_to(tmp_path / "json").as_posix() for p in (tmp_path / "json").rglob("*.json"))
    assert written == ["a/news.json", "b/news.json"]


# --- 9. symlinks out of the corpus folder ---------------------------------------------------

def test_issue10_symlink_out_of_the_corpus_is_not_read(tmp_path, capsys):
    secret = tmp_path / "secret.txt"
    secret.write_text("机密：区长王秘密的密码。\n", encoding="utf-8")
    root = corpus(tmp_path, {"ok.txt": GOOD})
    (root / "passwd.txt").symlink_to(secret)
    (root / "inside.txt").symlink_to(root / "ok.txt")  # a link inside the corpus is fine
    out = tmp_path / "out"
    assert main("build", root, "--out", out) == 1
    err = capsys.readouterr().err
    assert "passwd.txt" in err and "symlink out of the corpus" in err
    assert "王秘密" not in (out / "graph.html").read_text("utf-8")
    assert "王秘密" not in (out / "graph.ttl").read_text("utf-8")
    assert main("build", root, "--out", tmp_path / "out2", "--follow-symlinks") == 0
    assert "passwd.txt" in (tmp_path / "out2" / "entities.csv").read_text("utf-8")


# --- 11. UTF-16 without a BOM is text, not "binary" ------------------------------------------

@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be", "utf-16"])
def test_issue10_utf16_is_read(tmp_path, codec):
    (p := tmp_path / "u16.txt").write_bytes(GOOD.encode(codec))
    article = read_article(p)
    assert article.text.startswith("区财政局党组书记") and article.encoding.startswith("utf-16")


def test_issue10_binary_is_still_binary():
    with pytest.raises(ValueError, match="binary"):
        decode(b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 4)
    assert decode(codecs.BOM_UTF16_LE + "中文".encode("utf-16-le"))[0] == "中文"


def test_issue10_ingest_error_names_the_file(tmp_path):
    (p := tmp_path / "odd.txt").write_bytes(b"\x00\x01\x02\x03" * 100)
    with pytest.raises(IngestError, match="odd.txt"):
        read_article(p)


# --- 10. CSV formula injection --------------------------------------------------------------

@pytest.mark.parametrize("lead", ["=", "+", "-", "@", "\t"])
def test_issue10_csv_cells_cannot_be_formulas(tmp_path, lead):
    text = f"{lead}1+2*3区财政局党组书记、局长张志远出席会议。\n"
    root = corpus(tmp_path, {f"{lead.strip() or 'tab'}x.txt": text})
    # a file name that is a formula too
    (root / f"{lead.strip() or 'tab'}x.txt").rename(root / f"{lead}cmd.txt")
    out = tmp_path / "out"
    assert main("build", root, "--out", out) == 0
    for name in ("entities.csv", "relations.csv"):
        rows = list(csv.reader(io.StringIO((out / name).read_text("utf-8"))))
        assert len(rows) > 1
        cells = [c for row in rows for c in row if c]
        assert not [c for c in cells if c.startswith(("=", "+", "-", "@", "\t", "\r"))], name
    rows = list(csv.DictReader(io.StringIO((out / "relations.csv").read_text("utf-8"))))
    assert rows[0]["article"] == f"'{lead}cmd.txt"
    if lead.strip():  # evidence sentences are stripped of leading whitespace anyway
        assert rows[0]["sentence"].startswith("'" + lead)


# --- 3. one long article must not kill the build ----------------------------------------------

def test_issue10_pipeline_takes_any_article_inside_max_bytes(nlp):
    from kg.ingest import MAX_BYTES
    assert nlp.max_length >= MAX_BYTES  # a character takes at least one byte


def test_issue10_article_over_the_pipeline_limit_fails_alone(tmp_path, nlp, monkeypatch, capsys):
    monkeypatch.setattr(nlp, "max_length", 200)  # stands in for a 1M-character article
    root = corpus(tmp_path, {"a_good.txt": GOOD, "b_long.txt": GOOD * 10, "c_good.txt": GOOD})
    out = tmp_path / "out"
    assert main("build", root, "--out", out) == 1
    err = capsys.readouterr().err
    assert "b_long.txt" in err and "limit" in err
    assert {iri.rsplit("/", 1)[1] for iri in article_iris(out)} == {"a_good.txt", "c_good.txt"}


# --- 4. output linear in the article's size ---------------------------------------------------

def test_issue10_long_list_sentence_gives_small_output(tmp_path, capsys):
    companies = "、".join(f"华{i}科技有限公司" for i in range(1152))  # ~39 KB, no full stop
    root = corpus(tmp_path, {"list.txt": f"本报讯 参展企业有{companies}等。\n"})
    out = tmp_path / "out"
    assert main("build", root, "--out", out) == 0
    size = (root / "list.txt").stat().st_size
    for name in ("graph.ttl", "graph.html", "graph.graphml"):
        assert (out / name).stat().st_size < 5_000_000, name  # was 43 MB each
    assert (out / "graph.ttl").stat().st_size < 60 * size


def test_issue10_sentences_are_bounded(nlp):
    text = "、".join(f"华{i}科技有限公司" for i in range(400)) + "。短句。"
    doc = nlp(text)
    assert max(len(s.text) for s in doc.sents) <= 300
    assert "".join(s.text for s in doc.sents) == text


# --- 8. a build publishes its files as one set --------------------------------------------------

def test_issue10_build_writes_a_manifest_last(tmp_path):
    import hashlib
    import json
    root, out = corpus(tmp_path, {"a.txt": GOOD}), tmp_path / "out"
    assert main("build", root, "--out", out) == 0
    files = json.loads((out / "manifest.json").read_text("utf-8"))["files"]
    assert set(files) == {"graph.ttl", "graph.html", "graph.graphml", "entities.csv", "relations.csv"}
    for name, entry in files.items():
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == entry["sha256"]


def test_issue10_interrupted_publish_is_detected_and_repaired(tmp_path, monkeypatch, capsys):
    from kg import publish
    root, out = corpus(tmp_path, {"a.txt": GOOD}), tmp_path / "out"
    assert main("build", root, "--out", out) == 0
    (root / "b.txt").write_text("区商务局副局长刘海涛介绍了情况。\n", encoding="utf-8")
    real, moved = os.replace, []

    def killed_after_graph_ttl(src, dst):  # the build dies right after graph.ttl is published
        published = Path(dst).parent == out
        if published and moved and moved[-1] == "graph.ttl":
            raise KeyboardInterrupt
        real(src, dst)
        if published:
            moved.append(Path(dst).name)
    monkeypatch.setattr(publish.os, "replace", killed_after_graph_ttl)
    assert main("build", root, "--out", out) == 130
    monkeypatch.undo()
    assert "刘海涛" in (out / "graph.ttl").read_text("utf-8")          # new Turtle ...
    assert "刘海涛" not in (out / "relations.csv").read_text("utf-8")  # ... beside old CSV
    capsys.readouterr()
    for argv in (["validate", out / "graph.ttl"], ["query", out / "graph.ttl", "ASK {}"]):
        assert main(*argv) == 2
        assert "interrupted while publishing" in capsys.readouterr().err
    assert main("build", root, "--out", out) == 0
    assert main("validate", out / "graph.ttl") == 0


def test_issue10_leftovers_of_killed_builds_are_removed(tmp_path):
    root, out = corpus(tmp_path, {"a.txt": GOOD}), tmp_path / "out"
    assert main("build", root, "--out", out) == 0
    # what SIGKILL leaves: a staging folder of a dead process, temporary files
    dead = out / ".staging-999999999-x"
    dead.mkdir()
    (dead / "graph.ttl").write_text("half", encoding="utf-8")
    (out / ".graph.ttl.abc.tmp").write_text("half", encoding="utf-8")
    (out / ".cache" / "tmpabc.tmp").write_text("half", encoding="utf-8")
    assert main("build", root, "--out", out) == 0
    left = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if ".tmp" in p.name or "staging" in p.name)
    assert left == []


# --- 11. arguments, exit codes, Ctrl-C -------------------------------------------------------

def _not_called(*args, **kwargs):
    raise AssertionError("extraction ran before the output folder was checked")


@pytest.mark.parametrize("command", ["build", "extract"])
@pytest.mark.parametrize("case", ["a-file", "under-a-file", "unwritable"])
def test_issue10_bad_out_fails_up_front(tmp_path, monkeypatch, capsys, command, case):
    from kg import api
    from kg.stream import extract
    root = corpus(tmp_path, {"a.txt": GOOD})
    (tmp_path / "file").write_text("x", encoding="utf-8")
    out = {"a-file": tmp_path / "file", "under-a-file": tmp_path / "file" / "out",
           "unwritable": Path("/proc/kg-no-such-place/out")}[case]
    monkeypatch.setattr(api, "run", _not_called)            # kg extract
    monkeypatch.setattr(extract, "run_task", _not_called)   # kg build
    assert main(command, root, "--out", out) == 2
    err = capsys.readouterr().err
    assert str(out) in err and "Traceback" not in err


@pytest.mark.parametrize("argv", [["--jobs", "0"], ["--jobs", "-3"], ["--max-bytes", "-1"], ["--jobs", "x"]])
def test_issue10_bad_numbers_are_usage_errors(tmp_path, capsys, argv):
    with pytest.raises(SystemExit) as exc:
        main("build", tmp_path, *argv)
    assert exc.value.code == 2 and argv[0] in capsys.readouterr().err


def test_issue10_ctrl_c_exits_130_without_traceback(tmp_path, monkeypatch, capsys):
    from kg.stream import extract

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(extract, "run_task", interrupted)
    assert main("build", corpus(tmp_path, {"a.txt": GOOD}), "--out", tmp_path / "out") == 130
    err = capsys.readouterr().err
    assert "interrupted" in err and "Traceback" not in err


def test_issue10_a_crash_is_not_exit_1(tmp_path, monkeypatch, capsys):
    from kg.stream import build

    def bug(*args, **kwargs):
        raise RuntimeError("a bug")
    monkeypatch.setattr(build, "resolve", bug)   # the merge
    assert main("build", corpus(tmp_path, {"a.txt": GOOD}), "--out", tmp_path / "out") == 3
    assert "internal error" in capsys.readouterr().err
