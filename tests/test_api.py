"""The library entry point: worker processes give the same extractions as one process."""
from __future__ import annotations

from pathlib import Path

from kg import api

CORPUS = Path(__file__).resolve().parents[1] / "examples" / "corpus"


def test_worker_processes_extract_the_same_facts(tmp_path, nlp):
    (tmp_path / "empty.txt").write_text("", encoding="utf-8")
    for f in sorted(CORPUS.glob("*.txt"))[:2]:
        (tmp_path / f.name).write_bytes(f.read_bytes())
    one = api.run(tmp_path, nlp)
    two = api.run(tmp_path, nlp, n_process=2)
    assert [e.to_gold() for e in two.extractions] == [e.to_gold() for e in one.extractions]
    assert [f.path for f in two.failures] == [f.path for f in one.failures] == [str(tmp_path / "empty.txt")]
