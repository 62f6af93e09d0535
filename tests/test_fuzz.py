"""Fuzzing ingestion and extraction (Hypothesis): random Unicode, random layouts, random bytes.

The contract: read_article either returns an Article whose offsets point into the decoded
file, or raises IngestError (the documented per-file error, which names the file); nothing
else escapes. Whatever it returns extracts without error, and the exports parse (Turtle,
GraphML, CSV) and the Turtle conforms to the SHACL shapes. Bounded for CI: a few dozen
examples per test, each with a deadline.
"""
from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path

import networkx as nx
import rdflib
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from kg.ingest import IngestError, decode, read_article

HAN = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF)
MARKS = st.sampled_from(list("。，、；：！？“”‘’（）《》「」—…·　 \t0123456789aZ-=+@#%<>&\"'\\/"))
ODD = st.sampled_from([  # hostile or tricky pieces: layout marks, markup, controls, bidi, BOM
    "\x00", "\u202e", "\ufeff", "\u200b", "\x1b", "\x0c", "<script>alert(1)</script>", '"""', "@prefix x: <y> .",
    "\r\n", "\r", "\n\n", "（下转第2版）", "（上接第1版）", "□本报记者 王雪", "本报讯（记者 李明）", "区委书记、区长",
    "党组书记、局长张志远", "总投资42亿元", "有限公司", "新区", "=cmd|' /C calc'!A0", "\U0001F600", "\u0301"])
PIECES = st.one_of(st.text(HAN, min_size=1, max_size=12), MARKS, ODD, st.text(max_size=6))
TEXT = st.lists(PIECES, max_size=60).map("".join)
ENCODINGS = st.sampled_from(["utf-8", "utf-8-sig", "gb18030", "utf-16", "utf-16-le", "utf-16-be"])
FUZZ = settings(max_examples=40, deadline=10_000, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@st.composite
def files(draw) -> bytes:
    """The bytes of a file: random bytes, or random text in a random layout and encoding."""
    if draw(st.booleans()) and draw(st.booleans()):
        return draw(st.binary(max_size=600))
    text = draw(TEXT)
    width = draw(st.integers(0, 30))
    if width:  # hard-wrapped like a newspaper column, with some indent
        indent = draw(st.sampled_from(["", "  ", "　　", "\t"]))
        text = "\n".join(indent + text[i:i + width] for i in range(0, len(text), width))
    text = text.replace("\n", draw(st.sampled_from(["\n", "\r\n", "\r"])))
    try:
        return text.encode(draw(ENCODINGS))
    except UnicodeEncodeError:
        assume(False)
        raise


def read(data: bytes, folder: Path):
    path = folder / "fuzz.txt"
    path.write_bytes(data)
    try:
        article = read_article(path)
    except IngestError as err:
        assert err.path == path and err.reason and "\n" not in err.reason
        return None
    orig, _ = decode(data)
    assert len(article.offsets) == len(article.text)
    assert all(0 <= o < len(orig) for o in article.offsets)
    assert list(article.offsets) == sorted(article.offsets)
    return article


@FUZZ
@given(data=files())
def test_fuzz_ingestion(data):
    with tempfile.TemporaryDirectory() as tmp:
        read(data, Path(tmp))


@settings(FUZZ, max_examples=25)
@given(data=files())
def test_fuzz_extraction_and_exports(nlp, data):
    from kg import api
    from kg.extract import extract
    from kg.validate import validate

    with tempfile.TemporaryDirectory() as tmp:
        article = read(data, Path(tmp))
        assume(article is not None)
        ex = extract(nlp(article.text), article)
        out = Path(tmp) / "out"
        api.export([ex], out)
        rdflib.Graph().parse(out / "graph.ttl", format="turtle")
        report = validate(out / "graph.ttl")
        assert report.conforms, [str(v) for v in report.violations]
        nx.read_graphml(out / "graph.graphml")
        for name in ("entities.csv", "relations.csv"):
            rows = list(csv.reader(io.StringIO((out / name).read_text("utf-8"))))
            assert rows and all(len(r) == len(rows[0]) for r in rows)
