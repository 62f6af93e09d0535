"""Prediction-only forwards for the thinc layers of kg_ner's CNN: the same numbers, less work.

thinc's layers compute, in prediction too, what only training needs: Maxout keeps the argmax
of every unit for its backward pass (its Cython loop took 0.58 of the CNN's 2.4 CPU s on
stage_benchmark's text, beside the matrix products), LayerNorm takes each row's mean twice, and
the embedding mixes the same hash-embedded character again at each of its occurrences.
`speed_up` wraps the forward of those layers in a loaded model: training (`is_train=True`) runs
thinc's own and empties the wrapper's memory, so weights updated in place are never read stale.

The same numbers, bit for bit (tests/test_text.py), as long as BLAS multiplies with the same
kernel: OpenBLAS picks others for products of a few rows, so below `MIN_ROWS` rows (a short
batch, or a batch of few distinct characters) thinc's own forward runs.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import numpy as np
from thinc.api import Model, Ragged

Forward = Callable[[Model, Any, bool], tuple[Any, Callable]]
MIN_ROWS = 64
MAX_BUFFER_ROWS = 1 << 16  # a product buffer kept per thread is at most 64k rows (~75 MB at 288 columns)


def speed_up(model: Model) -> int:
    """Wrap the forward of every Maxout and LayerNorm layer and of spaCy's MultiHashEmbed chain
    in `model`; returns how many layers were wrapped (none the second time)."""
    changed = 0
    for node in model.walk():
        fast = _FAST.get(node.name) or (_embed if _is_embed(node) else None)
        if fast is not None and not getattr(node._func, "kg_fast", False):
            node._func = _wrap(fast, node._func)
            changed += 1
    return changed


def _wrap(fast: Callable, thinc_forward: Forward) -> Forward:
    memory: dict[str, Any] = {}  # in the closure, not in model.attrs: to_bytes would save it

    def forward(model: Model, X: Any, is_train: bool) -> tuple[Any, Callable]:
        if is_train:
            memory.clear()
            return thinc_forward(model, X, is_train)
        return fast(model, X, memory, thinc_forward)

    forward.kg_fast = True  # type: ignore[attr-defined]
    return forward


def _no_backprop(_: Any) -> Any:
    raise RuntimeError("a prediction-only forward has no backward pass")


def _maxout(model: Model, X: Any, memory: dict, thinc_forward: Forward) -> tuple[Any, Callable]:
    """Maxout with its weights ordered piece by piece: the maximum of nP contiguous blocks
    of one matrix product, without the argmax."""
    if X.shape[0] < MIN_ROWS:
        return thinc_forward(model, X, False)
    if "pieces" not in memory:
        W: Any = model.get_param("W")
        b: Any = model.get_param("b")
        nO, nP, nI = W.shape
        memory["pieces"] = (np.ascontiguousarray(W.transpose(1, 0, 2).reshape(nP * nO, nI)),
                            np.ascontiguousarray(b.reshape(nO, nP).T.reshape(-1)), nO, nP)
    Wp, bp, nO, nP = memory["pieces"]
    Y: Any = model.ops.gemm(X, Wp, trans2=True, out=_buffer(X.shape[0], Wp.shape[0]))
    best = Y[:, :nO] + bp[:nO]
    for p in range(1, nP):
        piece = Y[:, p * nO:(p + 1) * nO]
        piece += bp[p * nO:(p + 1) * nO]
        np.maximum(best, piece, out=best)
    return best, _no_backprop


_LOCAL = threading.local()


def _buffer(rows: int, cols: int) -> Any:
    """Room for a product that is read only until its layer returns, kept per thread and width:
    a fresh array of this size (~10 MB a batch) is often new pages from the kernel."""
    if rows > MAX_BUFFER_ROWS:
        return np.empty((rows, cols), np.float32)
    buffers = _LOCAL.__dict__.setdefault("buffers", {})
    buf = buffers.get(cols)
    if buf is None or buf.shape[0] < rows:
        buf = buffers[cols] = np.empty((max(rows, MIN_ROWS), cols), np.float32)
    return buf[:rows]


def _layernorm(model: Model, X: Any, memory: dict, thinc_forward: Forward) -> tuple[Any, Callable]:
    """thinc's LayerNorm arithmetic (numpy's mean and var, operation for operation), with the
    centred rows computed once and updated in place."""
    n = X.shape[1]
    mu = X.sum(axis=1, keepdims=True)
    mu /= n
    centred = X - mu
    var = np.multiply(centred, centred).sum(axis=1, keepdims=True)
    var /= n
    var += 1e-08
    centred *= var ** (-1.0 / 2.0)
    centred *= model.get_param("G")
    centred += model.get_param("b")
    return centred, _no_backprop


def _is_embed(node: Model) -> bool:
    """spaCy's MultiHashEmbed: features >> list2ragged >> hash embeddings >> mixing >> ragged2list."""
    names = [layer.name for layer in node.layers]
    return (node.name.startswith("extract_features>>") and len(names) == 5
            and names[0] == "extract_features" and names[1] == "list2ragged" and names[4] == "ragged2list")


def _embed(model: Model, docs: list, memory: dict, thinc_forward: Forward) -> tuple[Any, Callable]:
    """Each distinct character's vector computed once a batch: it depends only on the
    character's features (NORM, SHAPE...), not on where it occurs."""
    features, embed, mix = model.layers[0], model.layers[2], model.layers[3]
    ids, _ = features(docs, False)
    lengths = [len(a) for a in ids]
    if sum(lengths) < MIN_ROWS:
        return thinc_forward(model, docs, False)
    keys = np.concatenate(ids)
    first, where = _distinct_rows(keys)
    if len(first) < MIN_ROWS:
        return thinc_forward(model, docs, False)
    distinct = keys[first]
    vectors, _ = mix(embed(Ragged(distinct, model.ops.asarray1i([len(distinct)])), False)[0], False)
    rows = vectors.dataXd[where]
    return np.split(rows, np.cumsum(lengths)[:-1]), _no_backprop


def _distinct_rows(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index of one occurrence of each distinct row, and each row's distinct index: columns
    coded one at a time (1-D sorts; np.unique(axis=0) sorts whole rows as records)."""
    code = np.zeros(len(keys), np.int64)
    for column in keys.T:  # codes stay below len(keys): their products below 2**63
        values, inverse = np.unique(column, return_inverse=True)
        code = np.unique(code * len(values) + inverse.reshape(-1), return_inverse=True)[1].reshape(-1)
    _, first = np.unique(code, return_index=True)
    return first, code


_FAST: dict[str, Callable] = {"maxout": _maxout, "layernorm": _layernorm}
