"""Prediction-only forwards for the thinc layers of kg_ner's CNN: the same numbers, less work.

thinc's layers compute, in prediction too, what only training needs: Maxout keeps the argmax
of every unit for its backward pass (its Cython loop is a quarter of the CNN's time, beside
the matrix products), LayerNorm takes each row's mean twice, and the embedding mixes the same
hash-embedded character again at each of its occurrences. `speed_up` replaces the forward of
those layers in a loaded model; `is_train=True` still runs thinc's own, and each result is the
same array, bit for bit (tests/test_text.py), so the entities are the same.

Only for a model that is loaded to predict: the cached weight layouts would go stale if an
optimizer updated the weights in place.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import numpy as np
from thinc.api import Model, Ragged

Forward = Callable[[Model, Any, bool], tuple[Any, Callable]]


def speed_up(model: Model) -> int:
    """Replace the forward of every Maxout and LayerNorm layer and of spaCy's MultiHashEmbed
    chain in `model`; returns how many layers were changed."""
    changed = 0
    for node in model.walk():
        fast = _FAST.get(node.name) or (_embed if _is_embed(node) else None)
        if fast is not None and node._func is not fast:
            node.attrs["kg_train_forward"] = node._func
            node._func = fast
            changed += 1
    return changed


def _no_backprop(_: Any) -> Any:
    raise RuntimeError("a prediction-only forward has no backward pass")


def _maxout(model: Model, X: Any, is_train: bool) -> tuple[Any, Callable]:
    """Maxout with its weights ordered piece by piece: the maximum of nP contiguous blocks
    of one matrix product, without the argmax."""
    if is_train:
        return model.attrs["kg_train_forward"](model, X, is_train)
    W: Any = model.get_param("W")
    b: Any = model.get_param("b")
    cached: Any = model.attrs.get("kg_pieces")
    if cached is None or cached[0] is not W:
        nO, nP, nI = W.shape
        cached = (W, np.ascontiguousarray(W.transpose(1, 0, 2).reshape(nP * nO, nI)),
                  np.ascontiguousarray(b.reshape(nO, nP).T.reshape(-1)), nO, nP)
        model.attrs["kg_pieces"] = cached
    _, Wp, bp, nO, nP = cached
    Y: Any = model.ops.gemm(X, Wp, trans2=True, out=_scratch(model.id, X.shape[0], Wp.shape[0]))
    best = Y[:, :nO] + bp[:nO]
    for p in range(1, nP):
        piece = Y[:, p * nO:(p + 1) * nO]
        piece += bp[p * nO:(p + 1) * nO]
        np.maximum(best, piece, out=best)
    return best, _no_backprop


_LOCAL = threading.local()


def _scratch(key: int, rows: int, cols: int) -> Any:
    """A buffer for a layer's matrix product, kept across calls (per thread): a fresh one
    (~10 MB a batch) is often new pages from the kernel: on the benchmark's first pass, 49k page
    faults and 0.28 s of system time in the CNN, 35k and 0.17 s with these buffers."""
    buffers = _LOCAL.__dict__.setdefault("buffers", {})
    buf = buffers.get(key)
    if buf is None or buf.shape[0] < rows or buf.shape[1] != cols:
        buf = buffers[key] = np.empty((rows, cols), np.float32)
    return buf[:rows]


def _layernorm(model: Model, X: Any, is_train: bool) -> tuple[Any, Callable]:
    """thinc's LayerNorm arithmetic (numpy's mean and var, operation for operation), with the
    centred rows computed once."""
    if is_train:
        return model.attrs["kg_train_forward"](model, X, is_train)
    n = X.shape[1]
    mu = X.sum(axis=1, keepdims=True)
    mu /= n
    centred = X - mu
    var = np.multiply(centred, centred).sum(axis=1, keepdims=True)
    var /= n
    var += 1e-08
    centred *= var ** (-1.0 / 2.0)  # in place from here: the same values, no new arrays
    centred *= model.get_param("G")
    centred += model.get_param("b")
    return centred, _no_backprop


def _is_embed(node: Model) -> bool:
    """spaCy's MultiHashEmbed: features >> list2ragged >> hash embeddings >> mixing >> ragged2list."""
    names = [layer.name for layer in node.layers]
    return (node.name.startswith("extract_features>>") and len(names) == 5
            and names[0] == "extract_features" and names[1] == "list2ragged" and names[4] == "ragged2list")


def _embed(model: Model, docs: list, is_train: bool) -> tuple[Any, Callable]:
    """Each distinct character's vector computed once a batch: it depends only on the
    character's features (NORM, SHAPE...), not on where it occurs."""
    if is_train:
        return model.attrs["kg_train_forward"](model, docs, is_train)
    features, embed, mix = model.layers[0], model.layers[2], model.layers[3]
    ids, _ = features(docs, False)
    lengths = [len(a) for a in ids]
    if not ids or sum(lengths) == 0:
        return model.attrs["kg_train_forward"](model, docs, is_train)
    keys = np.concatenate(ids)
    first, where = _distinct_rows(keys)
    distinct = keys[first]
    vectors, _ = mix(embed(Ragged(distinct, model.ops.asarray1i([len(distinct)])), False)[0], False)
    rows = vectors.dataXd[where]
    return np.split(rows, np.cumsum(lengths)[:-1]), _no_backprop


def _distinct_rows(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index of one occurrence of each distinct row, and each row's distinct index: columns
    coded one at a time (1-D sorts; np.unique(axis=0) sorts whole rows, 10x slower)."""
    code = np.zeros(len(keys), np.int64)
    for column in keys.T:  # codes stay below len(keys): their products below 2**63
        values, inverse = np.unique(column, return_inverse=True)
        code = np.unique(code * len(values) + inverse.reshape(-1), return_inverse=True)[1].reshape(-1)
    _, first = np.unique(code, return_index=True)
    return first, code


_FAST: dict[str, Forward] = {"maxout": _maxout, "layernorm": _layernorm}
