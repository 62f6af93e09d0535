"""Mention-level NER benchmark: kg vs. jieba.posseg, Jiagu and THULAC.

Scores exact span + type matches (micro P/R/F1 per type and overall) on

* CLUENER2020 dev  (name->Person, company->Enterprise, government/organization->Organization;
  other labels ignored; predictions of other types are ignored too)
* People's Daily 1998 NER dev  (PER->Person, LOC->District, ORG->"ORG"; a prediction typed
  Organization *or* Enterprise counts as ORG)

All systems run in the same process; chars/s counts only time spent inside each tool
(model loading is reported separately as load seconds).

    .venv/bin/python benchmarks/ner_benchmark.py [--limit N] [--only kg,jieba] [--markdown | --json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Callable, Iterable, Sequence

Span = tuple[int, int, str]  # (start, end_exclusive, type)

REPO = Path(__file__).resolve().parents[1]
DATASETS = REPO.parent / "shared" / "datasets"

# --- dataset definitions -------------------------------------------------------------------

CLUENER_GOLD = {"name": "Person", "company": "Enterprise",
                "government": "Organization", "organization": "Organization"}
CLUENER_PRED = {"Person": "Person", "Enterprise": "Enterprise", "Organization": "Organization"}
CLUENER_TYPES = ("Person", "Enterprise", "Organization")

PD_GOLD = {"PER": "Person", "LOC": "District", "ORG": "ORG"}
PD_PRED = {"Person": "Person", "District": "District", "Organization": "ORG", "Enterprise": "ORG"}
PD_TYPES = ("Person", "District", "ORG")


@dataclass
class Dataset:
    name: str
    texts: list[str]
    gold: list[set[Span]]
    pred_map: dict[str, str]  # system type -> dataset type (unmapped types are ignored)
    types: tuple[str, ...]


# --- pure scoring helpers ------------------------------------------------------------------

def bio_spans(tags: Sequence[str]) -> list[Span]:
    """Decode BIO tags into (start, end_exclusive, label) spans.

    An I-X that does not continue an open X span (after O, after another type, or at the
    start) opens a new span, as conlleval does."""
    spans: list[Span] = []
    start, label = None, None
    for i, tag in enumerate(list(tags) + ["O"]):
        prefix, _, lab = tag.partition("-")
        if prefix == "I" and label == lab and start is not None:
            continue
        if start is not None:
            spans.append((start, i, label))
            start, label = None, None
        if prefix in ("B", "I") and lab:
            start, label = i, lab
    return spans


def cluener_spans(label: dict, mapping: dict[str, str] = CLUENER_GOLD) -> set[Span]:
    """CLUENER `label` dict ({label: {surface: [[start, end_inclusive], ...]}}) -> spans
    with exclusive ends; labels absent from `mapping` are dropped."""
    out: set[Span] = set()
    for lab, surfaces in label.items():
        if lab not in mapping:
            continue
        for offsets in surfaces.values():
            for start, end in offsets:
                out.add((start, end + 1, mapping[lab]))
    return out


def map_spans(spans: Iterable[Span], mapping: dict[str, str]) -> set[Span]:
    """Rename span types through `mapping`; types not in it are dropped."""
    return {(s, e, mapping[t]) for s, e, t in spans if t in mapping}


def prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def score(gold: Sequence[set[Span]], pred: Sequence[set[Span]], types: Sequence[str]) -> dict:
    """Micro P/R/F1 per type plus 'overall' (micro over `types`); exact span+type match."""
    counts = {t: [0, 0, 0] for t in types}
    for g, p in zip(gold, pred, strict=True):
        g = {s for s in g if s[2] in counts}
        p = {s for s in p if s[2] in counts}
        for s in g & p:
            counts[s[2]][0] += 1
        for s in p - g:
            counts[s[2]][1] += 1
        for s in g - p:
            counts[s[2]][2] += 1
    counts["overall"] = [sum(c[i] for c in counts.values()) for i in range(3)]
    out = {}
    for t, (tp, fp, fn) in counts.items():
        p, r, f = prf(tp, fp, fn)
        out[t] = {"tp": tp, "fp": fp, "fn": fn, "p": p, "r": r, "f1": f}
    return out


def word_offsets(text: str, words: Sequence[str]) -> list[tuple[int, int]]:
    """Char offsets of consecutive `words` in `text` (tools may drop whitespace)."""
    out, pos = [], 0
    for w in words:
        i = text.find(w, pos) if w else -1
        if i < 0 or text[pos:i].strip():  # not found nearby: assume it sits at pos
            i = pos
        out.append((i, i + len(w)))
        pos = i + len(w)
    return out


def tagged_words_spans(text: str, words: Sequence[str], tags: Sequence[str],
                       tag_map: Callable[[str], str | None]) -> list[Span]:
    """Spans for words whose POS tag maps to a type."""
    spans = []
    for (s, e), tag in zip(word_offsets(text, words), tags):
        t = tag_map(tag)
        if t and e > s:
            spans.append((s, e, t))
    return spans


# --- readers --------------------------------------------------------------------------------

def read_cluener(path: Path, limit: int | None = None) -> Dataset:
    texts, gold = [], []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            if limit is not None and len(texts) >= limit:
                break
            d = json.loads(line)
            texts.append(d["text"])
            gold.append(cluener_spans(d.get("label") or {}))
    return Dataset("CLUENER2020 dev", texts, gold, CLUENER_PRED, CLUENER_TYPES)


def read_bio(path: Path, limit: int | None = None) -> Dataset:
    texts, gold = [], []
    chars: list[str] = []
    tags: list[str] = []

    def flush():
        if chars:
            texts.append("".join(chars))
            gold.append(map_spans(bio_spans(tags), PD_GOLD))
        chars.clear()
        tags.clear()

    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if limit is not None and len(texts) >= limit:
                break
            line = line.rstrip("\r\n")
            if not line.strip():
                flush()
                continue
            ch, _, tag = line.rpartition(" ")
            chars.append(ch[:1] or " ")
            tags.append(tag)
    flush()
    if limit is not None:
        del texts[limit:], gold[limit:]
    return Dataset("People's Daily NER dev", texts, gold, PD_PRED, PD_TYPES)


# --- systems --------------------------------------------------------------------------------

class Unavailable(Exception):
    pass


@dataclass
class System:
    """`load()` returns `tag(texts) -> (list[list[Span]], seconds_in_tool)`."""
    name: str
    load: Callable[[], Callable[[list[str]], tuple[list[list[Span]], float]]]
    tagger: Callable | None = None
    status: str = "not loaded"
    load_seconds: float = 0.0

    def ensure_loaded(self) -> bool:
        if self.tagger is None and self.status == "not loaded":
            t0 = time.perf_counter()
            try:
                self.tagger = self.load()
                self.status = "ok"
            except Exception as exc:  # ImportError, missing model files, ...
                self.status = f"unavailable ({type(exc).__name__}: {exc})"
            self.load_seconds = time.perf_counter() - t0
        return self.tagger is not None


def _prefix_map(table: dict[str, str]) -> Callable[[str], str | None]:
    def f(tag: str) -> str | None:
        for prefix, t in table.items():
            if tag.startswith(prefix):
                return t
        return None
    return f


@cache
def _kg_nlp():
    from kg import nlp
    return nlp.build()


def kg_mentions(texts: list[str], layer: str = "pipeline") -> list[list[Span]]:
    """Entity mentions (start, end, type) per raw sentence: the whole kg pipeline's entities,
    or (layer="model") the statistical NER's alone."""
    from kg.pipeline.ner import SPANS_KEY
    nlp = _kg_nlp()
    if layer == "model":
        return [[(e.start_char, e.end_char, e.label_) for e in doc.spans[SPANS_KEY]]
                for doc in nlp.pipe(texts, batch_size=64, disable=["kg_entities", "kg_relations"])]
    return [[(e.start_char, e.end_char, e.label_) for e in doc.ents] for doc in nlp.pipe(texts, batch_size=64)]


def load_kg(layer: str = "pipeline"):
    if str(REPO) not in sys.path:  # when run as a script, sys.path[0] is benchmarks/
        sys.path.insert(0, str(REPO))
    import kg.nlp  # noqa: F401  (fails here, as a load error, when kg is not importable)

    def tag(texts):
        t0 = time.perf_counter()
        out = kg_mentions(list(texts), layer=layer)
        dt = time.perf_counter() - t0
        out = list(out)
        if len(out) != len(texts):
            raise ValueError(f"kg_mentions returned {len(out)} results for {len(texts)} texts")
        return [[(int(s), int(e), str(t)) for s, e, t in spans] for spans in out], dt
    return tag


def load_jieba():
    import jieba
    import jieba.posseg as pseg
    jieba.setLogLevel(60)
    jieba.initialize()
    tmap = _prefix_map({"nr": "Person", "ns": "District", "nt": "Organization"})

    def tag(texts):
        out, dt = [], 0.0
        for text in texts:
            t0 = time.perf_counter()
            pairs = [(p.word, p.flag) for p in pseg.cut(text)]
            dt += time.perf_counter() - t0
            out.append(tagged_words_spans(text, [w for w, _ in pairs], [f for _, f in pairs], tmap))
        return out, dt
    return tag


def load_jiagu():
    # Jiagu's NER model is word-level (its features are words from its own segmenter;
    # char-by-char input gives near-random tags), so: jiagu.seg -> jiagu.ner -> word BIO.
    import jiagu
    jiagu.any.init_cws()
    jiagu.any.init_ner()
    tmap = {"PER": "Person", "LOC": "District", "ORG": "Organization"}

    def tag(texts):
        out, dt = [], 0.0
        for text in texts:
            t0 = time.perf_counter()
            words = jiagu.seg(text)
            labels = jiagu.ner(words) if words else []
            dt += time.perf_counter() - t0
            offs = word_offsets(text, words)
            out.append([(offs[s][0], offs[e - 1][1], tmap[lab])
                        for s, e, lab in bio_spans(labels) if lab in tmap])
        return out, dt
    return tag


def load_thulac():
    import io
    import contextlib
    import thulac
    with contextlib.redirect_stdout(io.StringIO()):  # "Model loaded succeed"
        model = thulac.thulac()
    tmap = _prefix_map({"np": "Person", "ns": "District", "ni": "Organization"})

    def tag(texts):
        out, dt = [], 0.0
        for text in texts:
            t0 = time.perf_counter()
            pairs = model.cut(text) if text.strip() else []
            dt += time.perf_counter() - t0
            out.append(tagged_words_spans(text, [w for w, _ in pairs], [f for _, f in pairs], tmap))
        return out, dt
    return tag


def default_systems() -> list[System]:
    return [System("kg", load_kg), System("kg-model", lambda: load_kg("model")), System("jieba", load_jieba),
            System("jiagu", load_jiagu), System("thulac", load_thulac)]


# --- running and reporting ------------------------------------------------------------------

def run_system(system: System, ds: Dataset) -> dict:
    if not system.ensure_loaded():
        return {"status": system.status}
    try:
        pred, dt = system.tagger(ds.texts)
    except Exception as exc:
        return {"status": f"failed ({type(exc).__name__}: {exc})"}
    pred_sets = [map_spans(p, ds.pred_map) for p in pred]
    nchars = sum(len(t) for t in ds.texts)
    return {"status": "ok", "tag_seconds": round(dt, 3), "load_seconds": round(system.load_seconds, 3),
            "chars_per_s": round(nchars / dt) if dt > 0 else None,
            "scores": score(ds.gold, pred_sets, ds.types)}


def gold_counts(ds: Dataset) -> dict[str, int]:
    return {t: sum(1 for g in ds.gold for s in g if s[2] == t) for t in ds.types}


def _pct(x: float) -> str:
    return f"{100 * x:.1f}"


def render(report: dict, markdown: bool) -> str:
    lines = []
    for ds_name, ds in report["datasets"].items():
        if "error" in ds:
            lines += [f"{'### ' if markdown else ''}{ds_name}: {ds['error']}", ""]
            continue
        gc = ", ".join(f"{t} {n}" for t, n in ds["gold"].items())
        lines.append(f"{'### ' if markdown else ''}{ds_name} — {ds['sentences']} sentences, "
                     f"{ds['chars']} chars; gold mentions: {gc}")
        header = ["system"] + [f"{t} P/R/F1" for t in ds["types"]] + ["overall P/R/F1", "chars/s"]
        rows, notes = [], []
        for sname, res in ds["systems"].items():
            if res["status"] != "ok":
                notes.append(f"{sname}: {res['status']}")
                continue
            sc = res["scores"]
            cells = [f"{_pct(sc[t]['p'])}/{_pct(sc[t]['r'])}/{_pct(sc[t]['f1'])}"
                     for t in list(ds["types"]) + ["overall"]]
            cps = res["chars_per_s"]
            rows.append([sname] + cells + [f"{cps:,}" if cps is not None else "-"])
        if markdown:
            lines.append("")
            lines.append("| " + " | ".join(header) + " |")
            lines.append("|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|")
            lines += ["| " + " | ".join(r) + " |" for r in rows]
        else:
            widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
            fmt = lambda r: "  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w)
                                      for i, (c, w) in enumerate(zip(r, widths)))
            lines.append(fmt(header))
            lines.append("  ".join("-" * w for w in widths))
            lines += [fmt(r) for r in rows]
        for n in notes:
            lines.append(f"{'- ' if markdown else '  '}{n}")
        lines.append("")
    lines.append("P/R/F1 in %, exact span+type, micro-averaged; chars/s = time inside the tool only. "
                 "Load seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in report["load_seconds"].items()))
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cluener", type=Path, default=DATASETS / "cluener2020" / "dev.json")
    ap.add_argument("--peoples-daily", type=Path, default=DATASETS / "peoples_daily_ner" / "example.dev")
    ap.add_argument("--limit", type=int, default=None, help="sentences per dataset (default: all)")
    ap.add_argument("--only", default=None, help="comma-separated systems: kg,jieba,jiagu,thulac")
    out = ap.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="machine-readable output")
    out.add_argument("--markdown", action="store_true", help="markdown tables")
    return ap


def main(argv: Sequence[str] | None = None, systems: list[System] | None = None,
         out=None) -> int:
    args = build_parser().parse_args(argv)
    out = out or sys.stdout
    systems = systems if systems is not None else default_systems()
    if args.only:
        wanted = [s.strip() for s in args.only.split(",") if s.strip()]
        unknown = set(wanted) - {s.name for s in systems}
        if unknown:
            print(f"unknown system(s): {', '.join(sorted(unknown))}", file=sys.stderr)
            return 2
        systems = [s for s in systems if s.name in wanted]

    report: dict = {"limit": args.limit, "datasets": {}, "load_seconds": {}}
    for reader, path in ((read_cluener, args.cluener), (read_bio, args.peoples_daily)):
        label = "CLUENER2020 dev" if reader is read_cluener else "People's Daily NER dev"
        if not path.exists():
            report["datasets"][label] = {"error": f"missing ({path})"}
            continue
        ds = reader(path, args.limit)
        entry = {"path": str(path), "sentences": len(ds.texts), "chars": sum(map(len, ds.texts)),
                 "types": list(ds.types), "gold": gold_counts(ds), "systems": {}}
        for system in systems:
            entry["systems"][system.name] = run_system(system, ds)
        report["datasets"][ds.name] = entry
    report["load_seconds"] = {s.name: round(s.load_seconds, 3) for s in systems if s.status == "ok"}
    report["status"] = {s.name: s.status for s in systems}

    if args.json:
        json.dump(report, out, ensure_ascii=False, indent=2)
        out.write("\n")
    else:
        out.write(render(report, args.markdown) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
