"""Where entity errors come from, on the TRAINING part of ../shared/news (never the evaluation part).

    python benchmarks/entity_errors.py [--list] [--type Project] [--json out.json]

Every false positive and false negative is put in one class:

* FP `boundary`   a gold form of the same type overlaps the predicted name in the text;
* FP `type`       the name is a gold form of another type;
* FP `spurious`   no gold form of any type overlaps it;
* FN `type`       the name was predicted under another type;
* FN `boundary`   a prediction of the same type overlaps a mention of the gold form;
* FN `lost`       a candidate span had the gold form exactly, filtered or outranked;
* FN `missing`    no candidate proposed it.

Unlike benchmarks/error_classes.py (which counts classes from `kg extract` output by name), this
runs the pipeline itself, so it sees every candidate span and the component that proposed it
(`lost` vs `missing`), and it can leave the NER out. The NER is fine-tuned on these articles, so its errors here understate those on unseen text;
each error also names the component(s) that proposed the spans involved. The statistical NER's
spans are cached in build/ (keyed by the model and the text): rule changes re-run in seconds.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from kg import evaluate  # noqa: E402
from kg import nlp as kg_nlp  # noqa: E402
from kg.extract import extract  # noqa: E402
from kg.ingest import read_article  # noqa: E402
from kg.pipeline.entities import RULES_KEY  # noqa: E402
from kg.pipeline.ner import SPANS_KEY as NER_KEY  # noqa: E402
from kg.resolve import norm  # noqa: E402

SHARED = REPO.parent / "shared"
SPLIT = REPO / "kg" / "training" / "news_split.json"
CACHE = REPO / "build" / "entity_errors"


def _model_hash(nlp) -> str:
    h = hashlib.sha256()
    for p in sorted((REPO / "kg" / "models" / "ner").rglob("*")):
        if p.is_file():
            h.update(p.name.encode() + p.read_bytes())
    return h.hexdigest()[:12]


def run_docs(nlp, paths: list[Path], ner_types: set[str] | None = None):
    """(article, doc) per path; kg_ner's spans come from the cache when the model and text match.
    `ner_types`: keep only the NER's spans of these types (the NER has seen these articles, so
    `--ner-types Person` shows what the rules do where the model knows nothing)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    model = _model_hash(nlp)
    ner = nlp.get_pipe("kg_ner")
    for path in paths:
        article = read_article(path)
        key = hashlib.sha256((model + article.text).encode()).hexdigest()[:16]
        cached = CACHE / f"{path.stem}.{key}.json"
        doc = nlp.make_doc(article.text)
        for name, proc in nlp.pipeline:
            if name == "kg_ner":
                if cached.exists():
                    found = [tuple(x) for x in json.loads(cached.read_text("utf-8"))]
                    doc = ner._annotate(doc, found)
                else:
                    doc = proc(doc)
                    cached.write_text(json.dumps([(s.start_char, s.end_char, s.label_)
                                                  for s in doc.spans[NER_KEY]]), "utf-8")
                if ner_types is not None:
                    doc.spans[NER_KEY] = [s for s in doc.spans[NER_KEY] if s.label_ in ner_types]
            else:
                doc = proc(doc)
        yield article, doc


def classify(gold_doc: dict, pred_doc: dict, text: str, cands: list[tuple[int, int, str, str]],
             sources: dict[str, set[str]]) -> list[dict]:
    """One record per error: kind (FP/FN), class, type, name, and the components involved."""
    g = evaluate.Gold(gold_doc)
    forms_of: dict[tuple[str, str], set[str]] = defaultdict(set)  # gold entity -> its surface forms
    for e in gold_doc["entities"]:
        for f in [e["name"], *(e.get("aliases") or [])]:
            forms_of[(norm(e["name"]), e["type"])].add(f)
    pred = {}
    for e in pred_doc["entities"]:
        pred.setdefault(g.entity(e["name"], e["type"]), e["name"])
    occurrences = lambda form: [(i, i + len(form)) for i in _find_all(text, form)]
    out = []
    gold_spans = [(s, e, t, gid) for (gid, t), forms in forms_of.items() for f in forms for s, e in occurrences(f)]
    pred_spans = [(s, e, t, name) for (gid, t), name in pred.items() for s, e in occurrences(name)]
    for (gid, t), name in pred.items():
        if (gid, t) in g.ents:
            continue
        spans = occurrences(name)
        if not gid.startswith("?"):
            cls = "type"
        elif any(s < ge and gs < e and gt == t for s, e in spans for gs, ge, gt, _ in gold_spans):
            cls = "boundary"
        else:
            cls = "spurious"
        near = sorted({gid2 for s, e in spans for gs, ge, gt, gid2 in gold_spans if s < ge and gs < e})
        out.append({"kind": "FP", "class": cls, "type": t, "name": name, "by": sorted(sources.get(name, ())),
                    "gold_near": near})
    pred_ids = {gid for gid, _ in pred}
    for gid, t in sorted(g.ents - set(pred)):
        forms = forms_of[(gid, t)]
        spans = [sp for f in forms for sp in occurrences(f)]
        exact = {(s, e) for s, e in spans}
        if gid in pred_ids:
            cls = "type"
        elif any(s < pe and ps < e and pt == t for s, e in spans for ps, pe, pt, _ in pred_spans):
            cls = "boundary"
        elif any((s, e) in exact and lab == t for s, e, lab, _ in cands):
            cls = "lost"
        else:
            cls = "missing"
        near = sorted({n for s, e in spans for ps, pe, pt, n in pred_spans if s < pe and ps < e})
        out.append({"kind": "FN", "class": cls, "type": t, "name": gid, "in_text": bool(spans),
                    "by": sorted({src for s, e, lab, src in cands if (s, e) in exact}), "pred_near": near})
    return out


def _find_all(text: str, form: str) -> list[int]:
    out, i = [], text.find(form)
    while form and i >= 0:
        out.append(i)
        i = text.find(form, i + 1)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--list", action="store_true", help="print every error")
    ap.add_argument("--type", help="only this entity type in the list")
    ap.add_argument("--json", type=Path, help="write the error records here")
    ap.add_argument("--ner-types", nargs="*", help="keep only the NER's spans of these types")
    args = ap.parse_args()
    split = json.loads(SPLIT.read_text("utf-8"))
    paths = [SHARED / "news" / "articles" / n for n in split["train"]]
    nlp = kg_nlp.build()
    counts, errors = evaluate.Counts(), []
    for article, doc in run_docs(nlp, paths, set(args.ner_types) if args.ner_types is not None else None):
        gold_doc = json.loads((SHARED / "news" / "gold" / f"{Path(article.doc_id).stem}.json").read_text("utf-8"))
        extraction = extract(doc, article)
        pred_doc = extraction.to_gold()
        evaluate.score_doc(gold_doc, pred_doc, counts)
        sources = {e.name: {m.source for m in e.mentions} for e in extraction.entities}
        cands = [(s.start_char, s.end_char, s.label_, s.kb_id_) for s in doc.spans.get(RULES_KEY, [])]
        for rec in classify(gold_doc, pred_doc, doc.text, cands, sources):
            errors.append({"doc": article.doc_id, **rec})
    res = evaluate.summary(counts)
    e = res["entities"]
    print(f"training part ({len(paths)}): entities P/R/F1 {e['overall']['p']:.3f}/{e['overall']['r']:.3f}/"
          f"{e['overall']['f1']:.3f}  " + "  ".join(f"{t} {s['f1']:.3f} ({s['tp']}/{s['pred']}/{s['gold']})"
                                                 for t, s in e["by_type"].items()))
    table = Counter((r["type"], r["kind"], r["class"]) for r in errors)
    for t in sorted({r["type"] for r in errors}):
        row = "  ".join(f"{k} {c} {table[(t, k, c)]}" for k, c in sorted({(k, c) for tt, k, c in table if tt == t}))
        print(f"  {t:<13}{row}")
    if args.list:
        for r in sorted(errors, key=lambda r: (r["type"], r["kind"], r["class"], r["doc"])):
            if not args.type or r["type"] == args.type:
                extra = r.get("gold_near") or r.get("pred_near") or ""
                print(f"{r['type']:<13}{r['kind']} {r['class']:<9}{r['doc']:<26}{r['name']}  by={','.join(r['by'])}"
                      f"  near={extra}" + ("" if r.get("in_text", True) else "  (not in text)"))
    if args.json:
        args.json.write_text(json.dumps(errors, ensure_ascii=False, indent=1), "utf-8")


if __name__ == "__main__":
    main()
