"""Where extraction's time goes: CPU seconds per pipeline component on build_benchmark's text,
beside jieba.posseg on the same text in the same process, and (--ner-variants) the inference
speed of narrower copies of the NER model, random-initialised: what retraining one would gain.

    python benchmarks/stage_benchmark.py [--chars 150000] [--repeat 5] [--ner-variants]

CPU time, not wall: the machine may be shared. The NER variants read the same sentence pieces
as kg_ner (kg.pipeline.ner.chunks) through the same ops (numpy's BLAS, one thread); their
entities are meaningless, their speed is not.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from build_benchmark import corpus  # noqa: E402  (the same text)


def stages(texts: list[str], out: dict | None = None) -> None:
    import jieba
    import jieba.posseg

    from kg import nlp as kg_nlp
    from kg.extract import extract
    from kg.types import Article

    n = sum(map(len, texts))
    nlp = kg_nlp.build()
    kg_nlp.warm(nlp)  # loads the NER model and jieba's dictionary
    jieba.initialize()
    with kg_nlp.frozen():  # as kg build's extract stage
        cpu: dict[str, float] = {}
        c = time.process_time()
        docs = [nlp.make_doc(t) for t in texts]
        cpu["make_doc"] = time.process_time() - c
        for name, proc in nlp.pipeline:
            c = time.process_time()
            docs = list(proc.pipe(docs)) if hasattr(proc, "pipe") else [proc(d) for d in docs]
            cpu[name] = time.process_time() - c
        c = time.process_time()
        for doc, text in zip(docs, texts):
            extract(doc, Article("a.txt", text, tuple(range(len(text)))))
        cpu["extract"] = time.process_time() - c
        c = time.process_time()
        for text in texts:
            list(jieba.posseg.cut(text))
        posseg = time.process_time() - c
        total = sum(cpu.values())
        print(f"{n:,} chars: extraction {total:.2f} CPU s = {n / total:,.0f} chars/CPU s; "
              f"jieba.posseg {posseg:.2f} CPU s = {n / posseg:,.0f} chars/CPU s; ratio {posseg / total:.2f}")
        print("  CPU s per component: " + ", ".join(f"{k} {v:.2f} ({v / total:.0%})" for k, v in cpu.items()))
        inside_ner(nlp.get_pipe("kg_ner"), texts)
    if out is not None:
        out["ratio"] = posseg / total


def inside_ner(ner, texts: list[str]) -> None:
    """kg_ner's model, layer by layer: its char docs, its tok2vec (the CNN), its transition
    decoding (spaCy's parser loop: ~6x slower in spaCy 3.8.7+ wheels than in 3.8.6)."""
    import spacy

    from kg.pipeline.ner import chunks

    pieces = [t[s:e] for t in texts for s, e in chunks(t)]
    cpu: dict[str, float] = {}
    with ner._blas.limit(limits=1, user_api="blas"):
        c = time.process_time()
        docs = [ner._char_doc(p) for p in pieces]
        cpu["char docs"] = time.process_time() - c
        for name, proc in ner.nlp.pipeline:
            c = time.process_time()
            docs = list(proc.pipe(docs, batch_size=ner.batch_size))
            cpu[name] = time.process_time() - c
    print(f"  inside kg_ner (spaCy {spacy.__version__}), CPU s: " + ", ".join(f"{k} {v:.2f}" for k, v in cpu.items()))


def ner_variants(texts: list[str]) -> None:
    import spacy
    from spacy.util import load_model_from_config
    from thinc.api import Config, use_ops
    from threadpoolctl import threadpool_limits

    from kg.pipeline.ner import DEFAULT_MODEL, chunks

    pieces = [t[s:e] for t in texts for s, e in chunks(t)]
    n = sum(map(len, pieces))

    def variant(width: int, depth: int, hidden: int) -> spacy.Language:
        cfg = Config().from_disk(DEFAULT_MODEL / "config.cfg")
        t2v = cfg["components"]["tok2vec"]["model"]
        t2v["encode"]["width"], t2v["encode"]["depth"], t2v["embed"]["width"] = width, depth, width
        cfg["components"]["ner"]["model"]["tok2vec"]["width"] = width
        cfg["components"]["ner"]["model"]["hidden_width"] = hidden
        with use_ops("numpy", use_blis=False):
            nlp = load_model_from_config(cfg, auto_fill=True)
            for label in spacy.load(DEFAULT_MODEL).get_pipe("ner").labels:
                nlp.get_pipe("ner").add_label(label)
            nlp.initialize()
        return nlp

    with use_ops("numpy", use_blis=False):
        models = {"shipped (width 96, depth 4, hidden 64)": spacy.load(DEFAULT_MODEL)}
    for width, depth, hidden in ((96, 4, 64), (64, 4, 64), (96, 2, 64), (64, 2, 64), (64, 2, 32), (48, 2, 32)):
        models[f"random width {width}, depth {depth}, hidden {hidden}"] = variant(width, depth, hidden)
    with threadpool_limits(1, user_api="blas"):
        for model in models.values():
            list(model.pipe(pieces[:20]))
        for name, model in models.items():
            c = time.process_time()
            list(model.pipe(pieces, batch_size=32))
            d = time.process_time() - c
            print(f"NER {name}: {d:.2f} CPU s, {n / d:,.0f} chars/CPU s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datasets", type=Path, default=HERE.parents[1] / "shared" / "datasets")
    ap.add_argument("--chars", type=int, default=150_000)
    ap.add_argument("--repeat", type=int, default=1, help="runs, each in a fresh process; prints the median ratio")
    ap.add_argument("--ner-variants", action="store_true", help="also time narrower NER models (random weights)")
    args = ap.parse_args()
    texts = corpus(args.datasets, args.chars)
    if args.repeat == 1:
        stages(texts)
    else:  # each run in a fresh process: the rules' memories (kg.pipeline.text.Tagger) start empty
        import multiprocessing as mp
        from statistics import median
        ratios = []
        for _ in range(args.repeat):
            with mp.Manager() as manager:
                out = manager.dict()
                run = mp.get_context("spawn").Process(target=stages, args=(texts, out))
                run.start()
                run.join()
                ratios.append(out["ratio"])
        print(f"ratio jieba.posseg CPU s / extraction CPU s over {args.repeat} runs: median {median(ratios):.2f} "
              f"(min {min(ratios):.2f}, max {max(ratios):.2f})")
    if args.ner_variants:
        ner_variants(texts)


if __name__ == "__main__":
    main()
