"""Shared fixtures: one spaCy pipeline per session, and one `kg build` / `kg extract` of
examples/corpus that the graph, CLI and evaluation tests all read."""
from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "examples" / "corpus"
CORPUS_FILES = sorted(CORPUS.glob("*.txt"))
SHARED = ROOT.parent / "shared"
GOLD = SHARED / "gold"
OUTPUT_FILES = ("graph.ttl", "graph.html", "graph.graphml", "entities.csv", "relations.csv")


def pytest_configure(config):
    # pytest probes module globals for mock attributes; rdflib's closed namespaces (kg.vocab.KG,
    # XSD) warn on unknown names
    config.addinivalue_line("filterwarnings", "ignore:Code. _mock_name is not defined:UserWarning")


def need_shared(path: Path, what: str) -> Path:
    """`path` under ../shared. Missing, it skips the test on a developer's machine, but in CI
    (CI=true) it fails: there a missing shared folder means the data check did not run."""
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        return path
    message = f"{what} not found at {path} (../shared is the project's shared data folder)"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"CI: {message}", pytrace=False)
    pytest.skip(message)


def squash(s: str) -> str:
    """Text without any whitespace (line breaks, spaces, U+3000)."""
    return re.sub(r"\s+", "", s)


@pytest.fixture(scope="session")
def nlp():
    """The default (char) pipeline, built once."""
    import kg.nlp
    return kg.nlp.build()


@pytest.fixture(scope="session")
def shared_pipeline(nlp):
    """Make `kg.nlp.build()` with default arguments return the session pipeline, so the
    in-process CLI (kg.cli.main) does not rebuild it for every call. Any other arguments
    (jieba, pkuseg, a bad segmenter) go to the real build."""
    import kg.nlp
    real = kg.nlp.build

    def build(segmenter="char", pkuseg_model=None, model=None):
        if segmenter == "char" and pkuseg_model is None and model is None:
            return nlp
        return real(segmenter, pkuseg_model, model)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(kg.nlp, "build", build)
        yield nlp


@pytest.fixture
def extract_text(nlp, tmp_path) -> Callable:
    """text -> Extraction, through a real file: read_article, the pipeline, kg.extract."""
    from kg.extract import extract
    from kg.ingest import read_article

    def run(text: str, name: str = "article.txt", encoding: str = "utf-8"):
        path = tmp_path / name
        path.write_bytes(text.encode(encoding))
        article = read_article(path)
        return extract(nlp(article.text), article)
    return run


def _main(argv: list[str]) -> int:
    import kg.cli
    return kg.cli.main([str(a) for a in argv])


@pytest.fixture(scope="session")
def corpus_build(shared_pipeline, tmp_path_factory) -> tuple[int, Path]:
    """(exit code, out folder) of `kg build examples/corpus --out OUT`."""
    out = tmp_path_factory.mktemp("build")
    return _main(["build", CORPUS, "--out", out]), out


@pytest.fixture(scope="session")
def corpus_extract(shared_pipeline, tmp_path_factory) -> tuple[int, Path]:
    """(exit code, out folder) of `kg extract examples/corpus --out OUT`."""
    out = tmp_path_factory.mktemp("extract")
    return _main(["extract", CORPUS, "--out", out]), out


@pytest.fixture(scope="session")
def corpus_graph(corpus_build):
    import rdflib
    return rdflib.Graph().parse(corpus_build[1] / "graph.ttl", format="turtle")
