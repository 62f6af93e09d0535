"""Read news files: detect the encoding, undo the newspaper layout, keep offsets into the source.

The output text keeps one paragraph per line; every character of it maps back to the decoded
original through `Article.offsets` (paragraph separators map to an original line break).
"""
from __future__ import annotations

import bisect
import codecs
import hashlib
import re
import statistics
from collections.abc import Iterator
from pathlib import Path

from kg.types import Article

MAX_BYTES = 20_000_000

# Control bytes that never occur in UTF-8 or GB18030 text (tab, newlines, \f, \v and ESC are allowed).
_CTRL = bytes([*range(1, 9), *range(14, 27), *range(28, 32), 127])
# A line ending in one of these ends a sentence, so a blank line after it is a real paragraph break.
_TERMINAL = set("。！？；：”’…）」』!?;:)—")
_SENTENCE_END = ("。", "！", "？", "；", "!", "?", ";")
_LEADS = ("本报讯", "新华社", "据")  # a news lead is body text, never a headline
# Page-continuation marks open (上接) or close (下转) a fragment; source notes close an article.
_CONT_START = re.compile(r"[（(]\s*(?:上接|接上)[^（）()]{0,10}[）)]")
_CONT_END = re.compile(r"[（(]\s*(?:下转|转下|转第)[^（）()]{0,10}[）)]|[（(]\s*原文(?:载于|刊于|刊载于)[^（）()]{0,60}[）)]")  # noqa: E501
_BYLINE = re.compile(r"[□■]\s*(?:本报|见习|特约|实习)?(?:记者|通讯员|实习生)")
_ROLE = re.compile(r"^(?:本报|见习|特约|实习)?(?:记者|通讯员|实习生)")
# Words around the names in a byline ("□记者 李宛遥 报道", "王雪摄影报道", "发自北京").
_BYLINE_WORD = re.compile(r"(?:摄影报道|综合报道|报道|整理|摄影|摄|采写|撰稿)$|^本报$")
_NAME = re.compile(r"[\u4e00-\u9fff]{2,4}")
_DATE = r"((?:[0-9０-９]{4}年)?[0-9０-９]{1,2}月[0-9０-９]{1,2}日)"
_DATE_RES = (re.compile(r"本报讯\s*(?:[（(][^（）()\n]{0,20}[）)])?\s*" + _DATE),
             re.compile(r"原文(?:载于|刊于|刊载于)[^（）()\n]{0,30}?" + _DATE))


class IngestError(Exception):
    """A file that cannot become an Article: `path` plus a one-line human `reason`."""

    def __init__(self, path: Path | str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = Path(path)
        self.reason = reason


def _looks_chinese(text: str) -> bool:
    """GB18030 decodes most byte soup; real Chinese text is almost entirely GB2312 characters."""
    non_ascii = len(text) - len(text.encode("ascii", "ignore"))
    unknown = text.encode("gb2312", "replace").count(b"?") - text.count("?")
    return non_ascii > 0 and unknown <= 0.1 * non_ascii


def _normalizer_says_gb(data: bytes) -> bool:
    """Tie-breaker for GB text outside GB2312 (e.g. traditional characters)."""
    from charset_normalizer import from_bytes
    best = from_bytes(data).best()
    return best is not None and best.encoding in {"gb18030", "gbk", "gb2312"}


def _texty(text: str) -> bool:
    """Nearly all ASCII text, whitespace, CJK ideographs or CJK/fullwidth punctuation: what a
    Chinese news text is made of, and what random bytes read as UTF-16 are not."""
    common = sum(1 for c in text if (" " <= c <= "~") or c in "\n\r\t" or "\u4e00" <= c <= "\u9fff"
                 or "\u3000" <= c <= "\u303f" or "\uff00" <= c <= "\uffef" or c in "“”‘’…—·")
    return bool(text) and common >= 0.9 * len(text)


def _utf16(data: bytes) -> tuple[str, str] | None:
    """UTF-16 with a BOM, or without one when one byte order gives plausible text."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            return None
    if len(data) % 2:
        return None
    for codec in ("utf-16-le", "utf-16-be"):
        try:
            text = data.decode(codec)
        except UnicodeDecodeError:
            continue
        if _texty(text):
            return text, codec
    return None


def decode(data: bytes) -> tuple[str, str]:
    """(text, encoding): utf-8-sig, utf-8, gb18030 or utf-16 (with or without a BOM),
    detected. ValueError(reason) otherwise."""
    if b"\x00" in data or data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        found = _utf16(data)
        if found is not None:
            return found
        if b"\x00" in data:
            raise ValueError("binary file (NUL bytes)")
    if len(data) - len(data.translate(None, _CTRL)) > max(2, len(data) // 50):
        raise ValueError("binary file (control characters)")
    if data.startswith(codecs.BOM_UTF8):
        try:
            return data.decode("utf-8-sig"), "utf-8-sig"
        except UnicodeDecodeError:
            raise ValueError("invalid UTF-8 after a UTF-8 BOM") from None
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError:
        raise ValueError("not UTF-8 or GB18030 text") from None
    if _looks_chinese(text) or _normalizer_says_gb(data):
        return text, "gb18030"
    raise ValueError("not UTF-8 or GB18030 text")


def _clean(orig: str) -> tuple[str, list[int], list[int], list[int]]:
    """Drop \\r and continuation/source marks: (kept text, its offsets, cut points that open /
    close a paragraph, as indices into the kept text)."""
    cuts = sorted([(m.start(), m.end(), "s") for m in _CONT_START.finditer(orig)]
                  + [(m.start(), m.end(), "e") for m in _CONT_END.finditer(orig)]
                  + [(m.start(), m.end(), "") for m in re.finditer(r"\r+", orig)])
    parts: list[str] = []
    offs: list[int] = []
    starts: list[int] = []
    ends: list[int] = []
    pos = 0
    for a, b, kind in cuts:
        if a < pos:  # overlapping match, already cut
            continue
        parts.append(orig[pos:a])
        offs.extend(range(pos, a))
        if kind:
            (starts if kind == "s" else ends).append(len(offs))
        pos = b
    parts.append(orig[pos:])
    offs.extend(range(pos, len(orig)))
    return "".join(parts), offs, starts, ends


def _hits(points: list[int], lo: int, hi: int) -> bool:
    i = bisect.bisect_left(points, lo)
    return i < len(points) and points[i] <= hi


def _unwrap(orig: str) -> tuple[str, tuple[int, ...]]:
    """Join hard-wrapped lines into paragraphs separated by one "\\n"; return (text, offsets)."""
    s, m, starts, ends = _clean(orig)
    lines = s.split("\n")
    lengths = [len(x.strip()) for x in lines if x.strip()]
    # A "full" line reaches the column width; only such a line can be cut mid-sentence by a blank.
    full = min(20.0, 0.75 * statistics.median(lengths)) if lengths else 20.0
    out: list[str] = []
    offs: list[int] = []
    prev, prev_nl, prev_byline, blank, force = "", -1, False, False, False
    lo = 0
    for line in lines:
        hi = lo + len(line)  # s[hi] is this line's "\n"
        force |= _hits(starts, lo, hi)
        closes = _hits(ends, lo, hi)
        body = line.strip()
        if not body:
            blank, force = True, force or closes
        else:
            lead = len(line) - len(line.lstrip())
            byline = bool(_BYLINE.match(body))
            wrapped = len(prev) >= full and prev[-1] not in _TERMINAL
            if out and (force or lead or byline or prev_byline or (blank and not wrapped)):
                out.append("\n")
                offs.append(m[prev_nl])  # the original line break that ended the paragraph
            out.append(body)
            offs.extend(m[lo + lead:lo + lead + len(body)])
            prev, prev_nl, prev_byline, blank, force = body, hi, byline, False, closes
        lo = hi + 1
    return "".join(out), tuple(offs)


_SPLIT = re.compile(r"(?<=[\u4e00-\u9fff])(?<!记者)(?<!通讯员)(?<!摄影)[ \u3000]+(?=[\u4e00-\u9fff])")


def _join_split_words(text: str, offsets: tuple[int, ...]) -> tuple[str, tuple[int, ...]]:
    """Drop typesetting spaces inside a run of Chinese (李金 国 -> 李金国); bylines keep theirs."""
    out: list[str] = []
    offs: list[int] = []
    pos = 0
    for para in text.split("\n"):
        keep = [True] * len(para)
        if not para.lstrip().startswith("□"):
            for m in _SPLIT.finditer(para):
                keep[m.start():m.end()] = [False] * (m.end() - m.start())
        out.append("".join(c for c, k in zip(para, keep) if k))
        offs.extend(o for o, k in zip(offsets[pos:pos + len(para)], keep) if k)
        if pos + len(para) < len(offsets):
            offs.append(offsets[pos + len(para)])  # the paragraph break
        pos += len(para) + 1
    return "\n".join(out), tuple(offs)


def _reporters(paras: list[str]) -> tuple[str, ...]:
    names: list[str] = []
    for p in paras:
        if not _BYLINE.match(p):
            continue
        for tok in re.split(r"[\s、，,/□■]+", p):
            tok = _BYLINE_WORD.sub("", _ROLE.sub("", tok))
            if _NAME.fullmatch(tok) and not tok.startswith("发自") and tok not in names:
                names.append(tok)
    return tuple(names)


def _title(paras: list[str]) -> str | None:
    """The headline closest above the first byline (or above the first body paragraph)."""
    def heading(p: str) -> bool:
        return (0 < len(p) <= 40 and "。" not in p and not p.endswith(_SENTENCE_END)
                and not p.startswith(_LEADS) and not _BYLINE.match(p))
    stop = next((i for i, p in enumerate(paras) if _BYLINE.match(p) or not heading(p)), len(paras))
    # "X——" lines introduce an interviewee, "——— 访…" is a subtitle: prefer a plain headline.
    heads = [p.lstrip("—―－- ") for p in paras[:stop] if not p.endswith("——")]
    heads = [h for h in heads if h]
    return heads[-1] if heads else None


def _date(orig: str) -> str | None:
    found = [m for r in _DATE_RES if (m := r.search(orig))]
    return min(found, key=lambda m: m.start()).group(1) if found else None


def _size(n: int, limit: bool = False) -> str:
    if n < 1_000_000:
        return f"{n:,} bytes"
    return f"{n / 1e6:g} MB" if limit else f"{n / 1e6:.1f} MB"


def article_id(path: Path, root: Path | None = None) -> str:
    """The article's identity: its path relative to the corpus folder (`root`), with `/`
    between folders; the file name for a single file. A name that is not UTF-8 (GBK names from
    Windows zip files) has its undecodable bytes written %XX, and its `%` signs %25, so the id
    is valid text and unquote_to_bytes() gives the exact bytes back; other names stay as they are."""
    rel = path.relative_to(root).as_posix() if root is not None else path.name
    if not any("\udc80" <= c <= "\udcff" for c in rel):
        return rel
    return "".join(f"%{ord(c) - 0xDC00:02X}" if "\udc80" <= c <= "\udcff" else "%25" if c == "%" else c
                   for c in rel)


def _inside(path: Path, root: Path | None, follow_symlinks: bool) -> Path:
    """The file to read. Found in a corpus folder, it must resolve (symlinks, `..`) to a file
    inside that folder unless `follow_symlinks`: a corpus must not pull in /etc/passwd."""
    if root is None:
        return path
    target = path.resolve()
    if not follow_symlinks and not target.is_relative_to(root.resolve()):
        raise IngestError(path, "a symlink out of the corpus folder (--follow-symlinks to read it)")
    return target


def read_article(path: Path, max_bytes: int = MAX_BYTES, root: Path | None = None,
                 follow_symlinks: bool = False) -> Article:
    """Read one file into an Article; raises IngestError with a one-line reason. `root` is the
    corpus folder the file was found in (None for a file given by itself)."""
    path = Path(path)
    try:
        real = _inside(path, root, follow_symlinks)  # read what was checked, not the link again
        size = real.stat().st_size
        if path.is_dir():
            raise IngestError(path, "is a folder, not a file")
        # Check the size before reading; read at most max_bytes+1 in case stat lies (pipes, /proc).
        if size > max_bytes:
            raise IngestError(path, f"file is {_size(size)}, over the {_size(max_bytes, True)} limit")
        with real.open("rb") as f:
            data = f.read(max_bytes + 1)
    except FileNotFoundError:
        raise IngestError(path, "no such file") from None
    except OSError as e:
        raise IngestError(path, f"cannot read ({e.strerror or e})") from None
    if len(data) > max_bytes:
        raise IngestError(path, f"file is over the {_size(max_bytes, True)} limit")
    if not data:
        raise IngestError(path, "empty file")
    try:
        orig, encoding = decode(data)
    except ValueError as e:
        raise IngestError(path, str(e)) from None
    if not orig.strip():
        raise IngestError(path, "whitespace-only file")
    text, offsets = _join_split_words(*_unwrap(orig))
    if not text:
        raise IngestError(path, "no text left after removing page marks")
    paras = text.split("\n")
    return Article(doc_id=article_id(path, root), text=text, offsets=offsets, source=str(path),
                   encoding=encoding, sha256=hashlib.sha256(data).hexdigest(),
                   title=_title(paras), date=_date(orig), reporters=_reporters(paras))


def iter_articles(path: Path) -> Iterator[Path]:
    """A file -> itself; a folder -> its *.txt files, recursively, sorted (hidden ones skipped;
    symlinks are listed, read_article decides). Raises IngestError right away (not on first
    next()) for a missing path or no .txt file."""
    path = Path(path)
    if path.is_file():
        return iter([path])
    if not path.is_dir():
        raise IngestError(path, "no such file or folder")
    files = sorted(p for p in path.rglob("*") if p.suffix.lower() == ".txt" and (p.is_file() or p.is_symlink())
                   and not any(part.startswith(".") for part in p.relative_to(path).parts))
    if not files:
        raise IngestError(path, "folder has no .txt file")
    return iter(files)
