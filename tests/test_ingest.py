"""kg.ingest: encoding detection, newspaper layout undoing, offsets, and refusal of bad input."""
from __future__ import annotations

import random
import time
from pathlib import Path

import pytest

from kg.ingest import IngestError, decode, iter_articles, read_article

CORPUS = Path(__file__).resolve().parents[1] / "examples" / "corpus"
FILES = sorted(CORPUS.glob("*.txt"))
F000, F001, F002 = FILES[:3]


def check_offsets(path: Path) -> None:
    a = read_article(path)
    orig, _ = decode(path.read_bytes())
    assert len(a.offsets) == len(a.text)
    for i, c in enumerate(a.text):
        # paragraph separators are synthetic but point at an original line break
        assert orig[a.offsets[i]] == c, (i, c, orig[a.offsets[i]])
    assert list(a.offsets) == sorted(a.offsets)  # text keeps the original order


# --- the real corpus ----------------------------------------------------------------------

def test_corpus_has_three_files():
    assert [p.name[:3] for p in FILES] == ["000", "001", "002"]


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name[:3])
def test_offsets_point_into_original(path: Path):
    check_offsets(path)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name[:3])
def test_layout_marks_removed(path: Path):
    a = read_article(path)
    for mark in ("（上接第一版）", "(上接第一版)", "原文载于", "\r", "\u3000", "\n\n"):
        assert mark not in a.text
    assert not a.text.startswith(("\n", " ")) and not a.text.endswith("\n")
    assert all(p == p.strip() and p for p in a.text.split("\n"))


def test_000_wrapped_lines_joined_and_bylines_kept():
    a = read_article(F000)
    assert a.doc_id == F000.name and a.source == str(F000) and a.encoding == "utf-8"
    assert "区工商联（民营经济发展局）党组书记毕雷鸣" in a.text
    # blank lines inside a sentence ("承担着\n\n“承上启下”") are column breaks, not paragraphs
    assert "承担着“承上启下”与“合纵连横”的重要功能" in a.text
    assert "出台了《青岛西海岸新区工商联所属商会规范管理考核办法（试行）》" in a.text
    assert "党建工作标准化，" in a.text
    paras = a.text.split("\n")
    assert "□本报记者 王雪" in paras and "□本报记者 张静" in paras
    assert any(p.startswith("毕雷鸣：近年来") for p in paras)  # indented line = new paragraph
    assert set(a.reporters) >= {"王雪", "张静"}
    assert a.title and "毕雷鸣" in a.title


def test_001_bylines_headlines_and_continuations():
    a = read_article(F001)
    assert set(a.reporters) >= {"李宛遥", "仪博文"}
    assert a.title == "以“新”应“变”，以“创”开“路”"
    assert a.date == "2月11日"
    paras = a.text.split("\n")
    assert "□记者 李宛遥 报道" in paras
    assert "区三届人大财经委第五次会议召开" in paras  # wrapped headline joined, kept alone
    assert any(p.startswith("支持西海岸新区在经略海洋") for p in paras)
    assert any(p.startswith("补齐短板弱项") for p in paras)
    assert "集聚总投资1500亿元的50个“芯屏”项目" in a.text
    assert "优化营商环境“突破行动”" in a.text
    assert "聚焦“国之大者”" in a.text
    assert "进一步提升干部队伍的作风能力。\n补齐短板弱项" in a.text  # source note removed


def test_002_blank_line_mid_sentence_joined():
    a = read_article(F002)
    assert "完善靠前保障服务等8大支撑平台" in a.text
    assert "古镇口校区二期" in a.text and "相互协调发展" in a.text and "我们通过建立" in a.text
    paras = a.text.split("\n")
    assert paras[0] == "学习贯彻区第二次党代会精神系列访谈"  # short headline stays alone
    assert any(p.startswith("自身竞争力也得到了有力提升") for p in paras)
    assert a.reporters == ("李宛遥", "李涛", "董梅雪")
    assert a.title == "聚焦融合创新，打造全国标杆样板"


# --- encodings ----------------------------------------------------------------------------

def test_utf8_bom(tmp_path: Path):
    p = tmp_path / "bom.txt"
    p.write_bytes(b"\xef\xbb\xbf" + F001.read_bytes())
    a, ref = read_article(p), read_article(F001)
    assert a.encoding == "utf-8-sig"
    assert (a.text, a.offsets, a.reporters) == (ref.text, ref.offsets, ref.reporters)
    assert a.sha256 != ref.sha256 and a.doc_id == "bom.txt"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name[:3])
def test_gb18030_copy_gives_same_text(tmp_path: Path, path: Path):
    p = tmp_path / path.name
    p.write_bytes(path.read_text(encoding="utf-8").encode("gb18030"))
    a, ref = read_article(p), read_article(path)
    assert a.encoding == "gb18030"
    assert (a.text, a.offsets, a.title, a.reporters) == (ref.text, ref.offsets, ref.title, ref.reporters)


def test_gbk_short_text():
    assert decode("本报讯 区委书记出席会议。".encode("gbk")) == ("本报讯 区委书记出席会议。", "gb18030")


def test_crlf_removed(tmp_path: Path):
    p = tmp_path / "crlf.txt"
    p.write_bytes(F000.read_bytes().replace(b"\n", b"\r\n"))
    a = read_article(p)
    assert a.text == read_article(F000).text
    check_offsets(p)


@pytest.mark.parametrize("data", [
    "西海岸新區總工會第一屆委員會".encode("big5"),
    "東京都の新しい計画について報告しました。".encode("shift_jis"),
    "café naïve".encode("latin-1"),
])
def test_other_encodings_refused(data: bytes):
    with pytest.raises(ValueError, match="not UTF-8 or GB18030"):
        decode(data)


# --- bad input ----------------------------------------------------------------------------

def expect_error(path: Path, reason: str, **kw) -> IngestError:
    with pytest.raises(IngestError) as info:
        read_article(path, **kw)
    assert reason in info.value.reason and info.value.path == path
    assert "\n" not in str(info.value)
    return info.value


def test_empty_file(tmp_path: Path):
    (p := tmp_path / "empty.txt").write_bytes(b"")
    expect_error(p, "empty file")


def test_whitespace_only_file(tmp_path: Path):
    (p := tmp_path / "ws.txt").write_text(" \n\u3000\u3000\r\n\t\n", encoding="utf-8")
    expect_error(p, "whitespace-only")


def test_binary_file_nul(tmp_path: Path):
    (p := tmp_path / "img.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    expect_error(p, "binary file (NUL bytes)")


def test_binary_file_control_chars(tmp_path: Path):
    (p := tmp_path / "ctl.txt").write_bytes(bytes([1, 2, 3, 4, 5, 6, 7, 8, 0x10, 0x11]) * 20 + b"abc")
    expect_error(p, "binary file")


def test_undecodable_bytes(tmp_path: Path):
    (p := tmp_path / "bad.txt").write_bytes(b"\xff\xfe\xfa")
    expect_error(p, "not UTF-8 or GB18030 text")
    with pytest.raises(ValueError):
        decode(b"\xff\xfe\xfa")
    rnd = random.Random(7)
    (p := tmp_path / "noise.txt").write_bytes(bytes(rnd.randrange(0x80, 0x100) for _ in range(4000)))
    expect_error(p, "not UTF-8 or GB18030 text")


def test_oversize_small_limit(tmp_path: Path):
    p = tmp_path / "big.txt"
    p.write_bytes(F000.read_bytes())
    err = expect_error(p, "over the", max_bytes=1000)
    assert "limit" in err.reason
    assert read_article(p, max_bytes=p.stat().st_size).text  # exactly at the limit is fine


def test_real_50mb_file_refused_fast(tmp_path: Path):
    p = tmp_path / "huge.txt"
    with p.open("wb") as f:
        f.truncate(50_000_000)  # sparse: no 50 MB written, and it would read as NUL bytes
    t0 = time.perf_counter()
    expect_error(p, "file is 50.0 MB, over the 20 MB limit")
    assert time.perf_counter() - t0 < 0.5


def test_missing_path(tmp_path: Path):
    expect_error(tmp_path / "nope.txt", "no such file")
    with pytest.raises(IngestError, match="no such file"):
        iter_articles(tmp_path / "nope")


def test_folder_is_not_an_article(tmp_path: Path):
    expect_error(tmp_path, "folder")


# --- folders ------------------------------------------------------------------------------

def test_empty_folder(tmp_path: Path):
    (tmp_path / "notes.md").write_text("x", encoding="utf-8")
    with pytest.raises(IngestError, match="no .txt file"):
        iter_articles(tmp_path)  # raised at call time, not on first next()


def test_folder_sorted_recursive(tmp_path: Path):
    for rel in ("b.txt", "a.txt", "sub/c.txt", "sub/d.md", ".hidden/e.txt"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("正文。", encoding="utf-8")
    got = [p.relative_to(tmp_path).as_posix() for p in iter_articles(tmp_path)]
    assert got == ["a.txt", "b.txt", "sub/c.txt"]
    assert list(iter_articles(F000)) == [F000]
    assert [p.name for p in iter_articles(CORPUS)] == [p.name for p in FILES]


# --- layout rules on small inputs ---------------------------------------------------------

def article(tmp_path: Path, text: str):
    p = tmp_path / "t.txt"
    p.write_text(text, encoding="utf-8")
    a = read_article(p)
    check_offsets(p)
    return a


def test_marks_inside_paragraph(tmp_path: Path):
    a = article(tmp_path, "标题一行\n\n\u3000\u3000本报讯（记者 王雪）3月5日，区委召开\n会议研究部署工作（下转第二版）\n"
                          "（上接第三版）另一篇文章的结尾部分。\n")
    assert a.text == "标题一行\n本报讯（记者 王雪）3月5日，区委召开会议研究部署工作\n另一篇文章的结尾部分。"
    assert a.date == "3月5日" and a.title == "标题一行"


def test_blank_line_rules(tmp_path: Path):
    body = "这是一行很长的正文内容而且没有结束标点因此应当"
    a = article(tmp_path, f"短标题\n\n{body}\n\n继续这一句话。\n\n新段落开始了。\n\u3000\u3000缩进也开始新段落。\n")
    assert a.text.split("\n") == ["短标题", body + "继续这一句话。", "新段落开始了。", "缩进也开始新段落。"]


def test_byline_variants(tmp_path: Path):
    a = article(tmp_path, "标题\n\u3000 □本报记者 王雪 张静 通讯员 李明 报道\n□本报记者刘洋 发自北京\n"
                          "□记者 赵磊摄影报道\n正文。\n")
    assert a.reporters == ("王雪", "张静", "李明", "刘洋", "赵磊")
    assert a.text.split("\n")[1:3] == ["□本报记者 王雪 张静 通讯员 李明 报道", "□本报记者刘洋 发自北京"]
    assert a.title == "标题" and a.date is None


def test_no_heading(tmp_path: Path):
    a = article(tmp_path, "本报讯 区委召开会议，研究部署今年的重点工作任务和目标。\n")
    assert a.title is None and a.reporters == ()
