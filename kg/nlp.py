"""Build the spaCy pipeline from kg/config.cfg: segmenter choice, or an installed zh_core_web_* base."""
from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import spacy
from spacy.language import Language
from thinc.api import Config

import kg.pipeline  # noqa: F401  (registers the components)
from kg.schema import default_path  # the ontology in use: span labels are checked against it

CONFIG = Path(__file__).with_name("config.cfg")
SEGMENTERS = ("char", "jieba", "pkuseg")
VERSION = "kg-pipeline/1"
MAX_CHARS = 20_000_000  # = kg.ingest.MAX_BYTES  # bump when extraction changes: part of the cache key


def build(segmenter: str = "char", pkuseg_model: str | Path | None = None,
          model: str | None = None, ner_model: str | Path | None = None) -> Language:
    """The extraction pipeline. `model` names an installed spaCy pipeline (zh_core_web_sm…)
    whose tokenizer and ner are used in place of ours; our rules and relations are added.
    `ner_model` is a model folder for `kg_ner` other than the shipped one (training, benchmarks)."""
    if model:
        nlp = spacy.load(model)
        if not nlp.has_pipe("parser") and not nlp.has_pipe("senter"):
            nlp.add_pipe("sentencizer", first=True,
                         config={"punct_chars": ["。", "！", "？", "!", "?", "；", "\n"]})
            nlp.add_pipe("kg_sentence_bounds", after="sentencizer")
        nlp.add_pipe("kg_entities")
        nlp.add_pipe("kg_relations")
        nlp.meta["kg_build"] = {"model": model}
        return nlp
    check(segmenter, pkuseg_model)
    config = Config().from_disk(CONFIG)
    config["nlp"]["tokenizer"]["segmenter"] = segmenter
    if ner_model:
        config["components"]["kg_ner"]["model"] = str(ner_model)
    if segmenter == "pkuseg":
        config["initialize"]["tokenizer"]["pkuseg_model"] = str(pkuseg_model)
    nlp = spacy.util.load_model_from_config(config, auto_fill=True)
    nlp.initialize()  # data comes in here: the pkuseg model, kg_entities' word lists
    # Any article inside the default --max-bytes fits (a character takes at least a byte). spaCy's
    # 1M default guards its own parser/NER; ours reads 400-character chunks (kg_ner) and
    # bounded sentences (kg_sentence_bounds), so memory stays linear in the text (~0.2 KB/char).
    nlp.max_length = MAX_CHARS
    # how to build the same pipeline again, e.g. in a worker process
    nlp.meta["kg_build"] = {"segmenter": segmenter, "pkuseg_model": str(pkuseg_model) if pkuseg_model else None,
                            "ner_model": str(ner_model) if ner_model else None}
    return nlp


def check(segmenter: str = "char", pkuseg_model: str | Path | None = None, model: str | None = None,
          ner_model: str | Path | None = None) -> None:
    """The argument errors `build` raises (ValueError), without building: for a build whose
    worker processes make the pipeline."""
    if model:
        return
    if segmenter not in SEGMENTERS:
        raise ValueError(f"unknown segmenter {segmenter!r}: choose one of {', '.join(SEGMENTERS)}")
    if segmenter == "pkuseg" and not pkuseg_model:
        raise ValueError("the pkuseg segmenter needs a model: pass --pkuseg-model DIR")


def warm(nlp: Language) -> None:
    """Load what the components load on first use (the NER model, jieba's dictionary and tag
    tables), so that processes forked afterwards share it instead of each loading it."""
    list(nlp.pipe(["县政协副主席张三宣布某某水库工程开工，甲乙有限公司投资5亿元。"]))


@contextmanager
def frozen() -> Iterator[None]:
    """Extraction with everything alive before it (the loaded pipeline: millions of long-lived
    objects) out of the garbage collector's scans, which otherwise walk all of it again at every
    full collection, and in forked workers copy the pages they touch (gc.freeze, as the CPython
    docs advise before fork). Undone after, so that nothing stays uncollectable."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def version(nlp: Language) -> str:
    """Identifies what the pipeline would extract: the extraction code, lexicons, ontology and model
    (by content), the segmenter and the components. Part of the extraction cache key."""
    import hashlib

    root = Path(__file__).parent
    digest = hashlib.sha256()
    for path in sorted([*root.glob("*.py"), *root.glob("pipeline/*.py"), *root.glob("data/*"), default_path(),
                        root / "config.cfg", root / "models" / "ner" / "meta.json",
                        *root.glob("models/ner/ner/model"), *root.glob("models/relations/*.json")]):
        if path.is_file():
            digest.update(path.name.encode() + path.read_bytes())
    seg = getattr(nlp.tokenizer, "segmenter", "?")
    return f"{VERSION}|{digest.hexdigest()[:16]}|{nlp.meta.get('name', 'kg')}|{seg}|{','.join(nlp.pipe_names)}"
