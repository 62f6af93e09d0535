"""`kg` in-process: help, exit codes, bad input files, JSON output, atomic writes, encodings."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import kg.cli
from conftest import CORPUS, CORPUS_FILES, OUTPUT_FILES

pytestmark = pytest.mark.usefixtures("shared_pipeline")

GOOD = "区财政局党组书记、局长张志远出席会议。\n加快推进华星光电潍坊基地建设，总投资42亿元。\n"


def main(*argv) -> int:
    return kg.cli.main([str(a) for a in argv])


STATE = (".cache", ".records")   # the extraction cache and record partitions, kept for the next build


def leftovers(folder: Path) -> list[str]:
    """Temporary or hidden files an interrupted write could leave behind (the build's state,
    .cache/ and .records/, is meant to stay; a temporary file inside it is not)."""
    return sorted(p.name for p in folder.rglob("*") if p.name.endswith(".tmp")
                  or (p.parent == folder and p.name.startswith(".") and p.name not in STATE))


# --- help ---------------------------------------------------------------------------------

@pytest.mark.parametrize("command", ["build", "extract", "evaluate", "train", "query", "serve", "validate"])
def test_help_shows_an_example(command, capsys):
    with pytest.raises(SystemExit) as exc:
        main(command, "--help")
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "example" in out and f"kg {command}" in out


def test_top_level_help_lists_commands(capsys):
    with pytest.raises(SystemExit) as exc:
        main("--help")
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for command in ("build", "extract", "evaluate", "train"):
        assert command in out


def test_no_command_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        main()
    assert exc.value.code == 2


def test_unknown_segmenter_is_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main("extract", CORPUS, "--segmenter", "nope", "--out", tmp_path)
    assert exc.value.code == 2
    assert "nope" in capsys.readouterr().err


# --- exit codes ---------------------------------------------------------------------------

def test_good_corpus_exits_0(corpus_build, corpus_extract):
    assert corpus_build[0] == 0
    assert corpus_extract[0] == 0


@pytest.mark.parametrize("command", ["build", "extract"])
def test_missing_path_exits_2(command, tmp_path, capsys):
    missing = tmp_path / "no-such-folder"
    assert main(command, missing, "--out", tmp_path / "out") == 2
    err = capsys.readouterr().err
    assert str(missing) in err and "error" in err
    assert not (tmp_path / "out").exists()


def test_evaluate_missing_gold_exits_2(tmp_path, capsys):
    assert main("evaluate", "--gold", tmp_path / "no-gold", CORPUS) == 2
    assert "no-gold" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["build", "extract"])
def test_empty_folder_exits_1_with_a_message(command, tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(command, empty, "--out", tmp_path / "out") == 1
    err = capsys.readouterr().err
    assert str(empty) in err and ".txt" in err
    assert not (tmp_path / "out" / "graph.ttl").exists()


@pytest.fixture
def mixed_folder(tmp_path) -> tuple[Path, dict[str, str]]:
    """One good article and four bad files: {bad file name: a word its reason must contain}."""
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "good.txt").write_text(GOOD, encoding="utf-8")
    (folder / "empty.txt").write_bytes(b"")
    (folder / "binary.txt").write_bytes(b"PK\x03\x04\x00\x00\x00\x08\x00" + bytes(range(256)) * 4)
    (folder / "undecodable.txt").write_bytes(b"\x80\xff\x81\xfe\xfd abc " * 40)
    with (folder / "sparse.txt").open("w", encoding="utf-8") as f:
        f.write("区商务局副局长刘海涛介绍了情况。\n")
        f.truncate(50 * 2**20)
    return folder, {"empty.txt": "empty", "binary.txt": "binary", "undecodable.txt": "UTF-8",
                    "sparse.txt": "MB"}


def check_bad_files_reported(err: str, bad: dict[str, str]) -> None:
    lines = err.splitlines()
    for name, word in bad.items():
        assert err.count(name) == 1, (name, err)
        line = next(x for x in lines if name in x)
        reason = line.split(name, 1)[1]
        assert re.search(r"\w", reason) and word in reason, line
    assert "good.txt" not in err


def test_extract_with_bad_files_exits_1_and_keeps_the_good_one(mixed_folder, tmp_path, capsys):
    folder, bad = mixed_folder
    out = tmp_path / "json"
    assert main("extract", folder, "--out", out) == 1
    check_bad_files_reported(capsys.readouterr().err, bad)
    assert sorted(p.name for p in out.iterdir()) == ["good.json"]
    gold = json.loads((out / "good.json").read_text("utf-8"))
    assert {"name": "张志远", "type": "Person", "aliases": []} in gold["entities"]


def test_build_with_bad_files_exits_1_and_builds_the_good_one(mixed_folder, tmp_path, capsys):
    folder, bad = mixed_folder
    out = tmp_path / "out"
    assert main("build", folder, "--out", out) == 1
    check_bad_files_reported(capsys.readouterr().err, bad)
    for name in OUTPUT_FILES:
        assert (out / name).is_file(), name
    assert "张志远" in (out / "entities.csv").read_text("utf-8")
    assert leftovers(out) == []


def test_max_bytes_option(tmp_path, capsys):
    (tmp_path / "a.txt").write_text(GOOD, encoding="utf-8")
    assert main("extract", tmp_path / "a.txt", "--max-bytes", 10, "--out", tmp_path / "out") == 1
    err = capsys.readouterr().err
    assert err.count("a.txt") == 1 and "limit" in err


# --- kg extract ---------------------------------------------------------------------------

def test_extract_writes_gold_format(corpus_extract):
    rc, out = corpus_extract
    assert rc == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(p.stem + ".json" for p in CORPUS_FILES)
    for src in CORPUS_FILES:
        data = json.loads((out / (src.stem + ".json")).read_text("utf-8"))
        assert set(data) == {"doc", "entities", "relations"}
        assert data["doc"] == src.name
        assert data["entities"] and data["relations"]
        names = set()
        for e in data["entities"]:
            assert set(e) == {"name", "type", "aliases"}
            assert e["type"] in ("Person", "District", "Organization", "Enterprise", "Project")
            assert isinstance(e["aliases"], list) and e["name"] not in e["aliases"]
            names.add(e["name"])
        assert len(names) == len(data["entities"])
        for r in data["relations"]:
            assert {"head", "relation", "tail"} <= set(r) <= {"head", "relation", "tail", "role", "amount",
                                                              "evidence"}
            assert r["relation"] in ("leads", "worksFor", "locatedIn", "invests")
            assert r["head"] in names and r["tail"] in names
            assert "amount" not in r or (isinstance(r["amount"], int) and r["relation"] == "invests")


def test_extract_output_is_utf8_json(corpus_extract):
    raw = next(corpus_extract[1].glob("*.json")).read_bytes()
    text = raw.decode("utf-8")
    assert "\\u" not in text  # Chinese written as is, not escaped
    assert text.endswith("\n")


# --- atomic writes ------------------------------------------------------------------------

@pytest.fixture
def small_corpus(tmp_path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.txt").write_text(GOOD, encoding="utf-8")
    return folder


def _raise_in_writer(monkeypatch):
    from kg.stream import write

    def broken(self, node, edges):
        raise RuntimeError("disk on fire")
    monkeypatch.setattr(write.Chunks, "add", broken)


def _raise_mid_write(monkeypatch):
    """The real Turtle serializer, but the file write dies halfway (disk full)."""
    from kg.stream import write
    real = write.ox.serialize

    def half(triples, output=None, *args, **kwargs):
        data = real(triples, None, *args, **kwargs)
        if output is None:
            return data
        Path(output).write_bytes(data[: len(data) // 2])
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(write.ox, "serialize", half)


@pytest.mark.parametrize("breaker", [_raise_in_writer, _raise_mid_write], ids=["writer", "mid-write"])
def test_failed_build_leaves_no_partial_files(breaker, small_corpus, tmp_path, monkeypatch):
    out = tmp_path / "out"
    breaker(monkeypatch)
    assert main("build", small_corpus, "--out", out) in (2, 3)  # OSError: 2; a bug: 3 (never 1)
    assert not (out / "graph.ttl").exists()
    if out.exists():
        assert leftovers(out) == []


@pytest.mark.parametrize("breaker", [_raise_in_writer, _raise_mid_write], ids=["writer", "mid-write"])
def test_failed_build_keeps_the_previous_graph(breaker, small_corpus, tmp_path, monkeypatch):
    out = tmp_path / "out"
    assert main("build", small_corpus, "--out", out) == 0
    before = {name: (out / name).read_bytes() for name in OUTPUT_FILES}
    # new input: a successful build would change graph.ttl
    (small_corpus / "b.txt").write_text("区商务局副局长刘海涛介绍了情况。\n", encoding="utf-8")
    breaker(monkeypatch)
    assert main("build", small_corpus, "--out", out) in (2, 3)
    assert {name: (out / name).read_bytes() for name in OUTPUT_FILES} == before
    assert leftovers(out) == []
    assert sorted(p.name for p in out.iterdir() if p.name not in STATE) == sorted([*OUTPUT_FILES, "manifest.json"])


# --- encodings ----------------------------------------------------------------------------

def test_gb18030_copy_builds_the_same_entities(tmp_path, capsys):
    from kg.ingest import read_article
    src = CORPUS_FILES[0]
    text = src.read_text("utf-8")
    utf8, gb = tmp_path / "utf8", tmp_path / "gb"
    utf8.mkdir(), gb.mkdir()
    (utf8 / src.name).write_bytes(text.encode("utf-8"))
    (gb / src.name).write_bytes(text.encode("gb18030"))
    assert read_article(gb / src.name).encoding == "gb18030"
    assert main("build", utf8, "--out", tmp_path / "out-utf8") == 0
    assert main("build", gb, "--out", tmp_path / "out-gb") == 0
    a = (tmp_path / "out-utf8" / "entities.csv").read_text("utf-8")
    b = (tmp_path / "out-gb" / "entities.csv").read_text("utf-8")
    assert a.count("\n") > 1 and a == b
    a = (tmp_path / "out-utf8" / "relations.csv").read_text("utf-8")
    b = (tmp_path / "out-gb" / "relations.csv").read_text("utf-8")
    assert a == b


def test_gb18030_extract_matches_utf8(tmp_path, capsys):
    (tmp_path / "u").mkdir(), (tmp_path / "g").mkdir()
    (tmp_path / "u" / "x.txt").write_bytes(GOOD.encode("utf-8"))
    (tmp_path / "g" / "x.txt").write_bytes(GOOD.encode("gb18030"))
    assert main("extract", tmp_path / "u", "--out", tmp_path / "ju") == 0
    assert main("extract", tmp_path / "g", "--out", tmp_path / "jg") == 0
    assert (tmp_path / "ju" / "x.json").read_text("utf-8") == (tmp_path / "jg" / "x.json").read_text("utf-8")
