"""kg.export.html: a self-contained, injection-safe, deterministic interactive view."""
from __future__ import annotations

import json
import random
import re
import sys
import time
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import networkx as nx
import pytest

from kg.export.html import write_html

sys.path.insert(0, str(Path(__file__).parent))
from browser import Browser, Page, find_chromium  # noqa: E402

B = "http://example.org/zhkg/"
XSS_SCRIPT = "<script>alert(1)</script>"
XSS_IMG = '"><img src=x onerror=alert(1)>'


def sample_graph(reverse: bool = False) -> nx.MultiDiGraph:
    """张三 leads 某某区财政局 ... ; `reverse` inserts everything in the opposite order."""
    s1 = "张三任某某区财政局局长。"
    s2 = "某某建设集团投资1.2亿元建设某某新城项目。"
    nodes = [
        ("p1", "Person", "张三", ["张局长"], [{"doc": "001.txt", "sentence": s1}]),
        ("o1", "Organization", "某某区财政局", [], [{"doc": "001.txt", "sentence": s1}]),
        ("d1", "District", "某某区", ["某某"], []),
        ("e1", "Enterprise", "某某建设集团", [], [{"doc": "002.txt", "sentence": s2}]),
        ("j1", "Project", "某某新城项目", [], [{"doc": "002.txt", "sentence": s2}]),
    ]
    edges = [
        ("p1", "o1", "leads", {"role": "局长", "confidence": 0.9, "doc": "001.txt", "sentence": s1}),
        ("p1", "o1", "worksFor", {"confidence": 0.8, "doc": "001.txt", "sentence": s1}),
        ("o1", "d1", "locatedIn", {"confidence": 0.7, "doc": "001.txt", "sentence": s1}),
        ("e1", "j1", "invests", {"amount": 120_000_000, "doc": "002.txt", "sentence": s2}),
        ("j1", "d1", "locatedIn", {"doc": "002.txt", "sentence": s2}),
    ]
    g = nx.MultiDiGraph()
    for key, kind, label, aliases, sources in (nodes[::-1] if reverse else nodes):
        g.add_node(B + key, type=kind, label=label, aliases=aliases, sources=sources)
    for u, v, rel, attrs in (edges[::-1] if reverse else edges):
        g.add_edge(B + u, B + v, key=rel, relation=rel, **attrs)
    return g


def malicious_graph() -> nx.MultiDiGraph:
    g = sample_graph()
    g.add_node(B + "x1", type="Person", label=XSS_SCRIPT, aliases=[XSS_IMG],
               sources=[{"doc": "</script><script>alert(2)</script>",
                         "sentence": "line\u2028sep\u2029<b>bold</b> & <!-- <script>"}])
    g.add_node(B + "x2", type="<img src=x onerror=alert(3)>", label=XSS_IMG, aliases=[], sources=[])
    g.add_edge(B + "x1", B + "o1", relation="worksFor", role="<img src=x onerror=alert(4)>",
               doc="<svg onload=alert(5)>", sentence="</script><img src=x onerror=alert(6)>")
    g.add_edge(B + "x2", B + "x1", relation="invests", amount=5, sentence=XSS_SCRIPT)
    return g


def random_graph(n: int = 2000, m: int = 5000, seed: int = 3) -> nx.MultiDiGraph:
    rng = random.Random(seed)
    kinds = ["Person", "District", "Organization", "Enterprise", "Project"]
    g = nx.MultiDiGraph()
    for i in range(n):
        g.add_node(f"{B}n{i}", type=rng.choice(kinds), label=f"实体{i}", aliases=[f"别名{i}"],
                   sources=[{"doc": f"{i % 50:03}.txt", "sentence": f"实体{i}出现在这里。"}])
    for _ in range(m):
        u, v = rng.sample(range(n), 2)
        g.add_edge(f"{B}n{u}", f"{B}n{v}", relation=rng.choice(["leads", "worksFor", "locatedIn", "invests"]),
                   confidence=0.5, doc="x.txt", sentence="句子。")
    return g


class Tags(HTMLParser):
    """Every start tag with its attributes, and the text of <style> elements."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.styles: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.styles.append(data)


def parse(html: str) -> Tags:
    p = Tags()
    p.feed(html)
    return p


def page_data(html: str) -> dict:
    m = re.search(r"^const DATA = (.*);$", html, re.M)
    assert m, "embedded DATA not found"
    return json.loads(m.group(1))


@pytest.fixture
def in_empty_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    return cwd


def test_offline_self_contained(tmp_path: Path, in_empty_cwd: Path) -> None:
    out = tmp_path / "out" / "graph.html"
    write_html(sample_graph(), out)
    html = out.read_text(encoding="utf-8")
    assert list(in_empty_cwd.iterdir()) == []            # no lib/ (or anything) in the CWD
    assert [p.name for p in out.parent.iterdir()] == ["graph.html"]  # no temp file left
    doc = parse(html)
    for tag, attrs in doc.tags:                          # nothing is loaded from anywhere
        for attr in ("src", "href", "srcset", "data", "poster"):
            assert attr not in attrs, (tag, attrs)
        assert tag not in ("link", "img", "iframe", "object", "embed", "base"), (tag, attrs)
    css = "\n".join(doc.styles)
    assert "@import" not in css and "@font-face" not in css
    assert all(u.startswith("data:") for u in re.findall(r"""url\(\s*['"]?([^'")]*)""", css))
    assert not re.search(r"""(src|href)\s*=\s*['"]?\s*(https?:)?//""", html, re.I)
    for cdn in ("cdn.jsdelivr", "cdnjs", "unpkg", "bootstrap.min", "bootstrap.bundle", "fonts.g"):
        assert cdn not in html, cdn
    assert '"Noto Sans CJK SC"' in html                  # CJK-capable local font stack
    data = page_data(html)
    assert {n["label"] for n in data["nodes"]} >= {"张三", "某某区财政局"}
    assert {e["label"] for e in data["edges"]} == {"leads", "worksFor", "locatedIn", "invests"}


def test_node_styling_and_tooltips(tmp_path: Path) -> None:
    out = tmp_path / "g.html"
    write_html(sample_graph(), out)
    data = page_data(out.read_text(encoding="utf-8"))
    nodes = {n["id"]: n for n in data["nodes"]}
    zhang, bureau = nodes[B + "p1"], nodes[B + "o1"]
    assert zhang["color"] != bureau["color"] and "group" not in zhang   # explicit colour per type
    assert bureau["size"] > nodes[B + "e1"]["size"]                     # degree 3 > degree 1
    assert "人物 Person" in zhang["title"] and "张局长" in zhang["title"] and "张三任" in zhang["title"]
    assert all(isinstance(n["x"], int) and isinstance(n["y"], int) for n in data["nodes"])
    invest = next(e for e in data["edges"] if e["relation"] == "invests")
    assert invest["amount"] == "1.2亿元" and "002.txt" in invest["title"]
    assert [t["key"] for t in data["meta"]["types"]][:5] == [
        "Person", "District", "Organization", "Enterprise", "Project"]


def test_untrusted_text_is_escaped(tmp_path: Path) -> None:
    out = tmp_path / "g.html"
    write_html(malicious_graph(), out, title='<b>"题"</b>')
    html = out.read_text(encoding="utf-8")
    for raw in ("<script>alert", "</script><script>", "<img", "<svg", "<b>bold", "<!-- <script>",
                "onerror=alert(1)>", "\u2028", "\u2029", '<b>"题"'):
        assert raw not in html, raw
    doc = parse(html)
    assert [t for t, _ in doc.tags].count("script") == 2  # only our two script elements
    assert not any(t in ("img", "svg", "b") for t, _ in doc.tags)
    assert "<title>&lt;b&gt;&#34;题&#34;&lt;/b&gt;</title>" in html
    # escaped, not mangled: the page gets the exact strings back
    nodes = {n["id"]: n for n in page_data(html)["nodes"]}
    assert nodes[B + "x1"]["label"] == XSS_SCRIPT and nodes[B + "x1"]["aliases"] == [XSS_IMG]
    assert nodes[B + "x1"]["sources"][0]["sentence"].startswith("line\u2028sep\u2029<b>")
    assert nodes[B + "x2"]["kind"] == "Other"             # unknown type: grey, filterable


def test_deterministic(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a.html", tmp_path / "b.html", tmp_path / "c.html"
    write_html(malicious_graph(), a)
    write_html(malicious_graph(), b)
    assert a.read_bytes() == b.read_bytes()
    write_html(sample_graph(), b)
    write_html(sample_graph(reverse=True), c)            # insertion order does not matter
    assert b.read_bytes() == c.read_bytes()


def test_overwrite_is_atomic_replace(tmp_path: Path) -> None:
    out = tmp_path / "g.html"
    out.write_text("old")
    inode = out.stat().st_ino
    write_html(sample_graph(), out)
    assert out.stat().st_ino != inode and out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.html"]
    assert out.stat().st_mode & 0o777 == 0o644


@pytest.fixture(scope="module")
def big_html(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, float]:
    """2,000 nodes / 5,000 edges, written once for this module: (path, seconds to write)."""
    g = random_graph()
    out = tmp_path_factory.mktemp("big") / "big.html"
    t0 = time.monotonic()
    write_html(g, out)
    return out, time.monotonic() - t0


def test_large_graph_writes_quickly(big_html: tuple[Path, float]) -> None:
    out, elapsed = big_html
    data = page_data(out.read_text(encoding="utf-8"))
    assert len(data["nodes"]) == 2000 and len(data["edges"]) == 5000
    assert data["meta"]["physics"] is False              # precomputed positions, no simulation
    assert elapsed < 30, f"write_html took {elapsed:.1f}s for 2,000 nodes / 5,000 edges"


def test_big_graph_is_capped_to_the_most_connected(tmp_path: Path) -> None:
    g = random_graph(600, 1500)
    out = tmp_path / "capped.html"
    write_html(g, out, max_nodes=100)
    data = page_data(out.read_text(encoding="utf-8"))
    shown = {n["id"] for n in data["nodes"]}
    assert len(shown) == 100
    assert min(g.degree(v) for v in shown) >= max(g.degree(v) for v in g if v not in shown)
    assert {(e["from"], e["to"]) for e in data["edges"]} == {(u, v) for u, v in g.edges() if u in shown and v in shown}
    assert data["meta"]["cap"] == {"nodes": 100, "edges": len(data["edges"]), "total_nodes": 600, "total_edges": 1500}
    # a graph under the cap is drawn whole and says nothing about a cap
    write_html(g, out, max_nodes=600)
    assert "cap" not in page_data(out.read_text(encoding="utf-8"))["meta"]


def test_dense_hubs_keep_their_most_confident_edges() -> None:
    from kg.export.html import cap
    g = random_graph(60, 1500)
    rng = random.Random(5)
    for _u, _v, d in g.edges(data=True):
        d["confidence"] = rng.choice([0.5, 0.6, 0.7, 0.8, 0.9])
    shown = cap(g, 30, max_edges=50)
    assert shown.number_of_nodes() == 30 and shown.number_of_edges() == 50
    kept = {(u, v, k) for u, v, k in shown.edges(keys=True)}
    dropped = [d["confidence"] for u, v, k, d in g.subgraph(shown.nodes).edges(keys=True, data=True)
               if (u, v, k) not in kept]
    assert min(d["confidence"] for _u, _v, d in shown.edges(data=True)) >= max(dropped)


# --- headless Chromium ---------------------------------------------------------------------
CHROMIUM = find_chromium()
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="no chromium on PATH (apt-get install -y chromium fonts-noto-cjk)")

INK = """(() => {  // pixels drawn on the vis canvas (it is transparent where nothing is drawn)
  const c = document.querySelector('#mynetwork canvas');
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let n = 0;
  for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 0 && (d[i] < 240 || d[i + 1] < 240 || d[i + 2] < 240)) n++;
  return n;
})()"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert CHROMIUM
    b = Browser(CHROMIUM)
    try:
        yield b
    finally:
        b.close()


def load(browser: Browser, path: Path) -> Page:
    page = browser.open(path.as_uri())
    page.wait_for("document.body.dataset.ready === '1'")
    return page


def node_point(page: Page, iri: str) -> tuple[float, float]:
    return tuple(page.eval(f"""(() => {{
      const n = zhkg.network, p = n.canvasToDOM(n.getPositions([{json.dumps(iri)}])[{json.dumps(iri)}]);
      const r = document.getElementById('mynetwork').getBoundingClientRect();
      return [r.left + p.x, r.top + p.y];
    }})()"""))  # type: ignore[return-value]


def assert_clean(page: Page) -> None:
    assert page.errors() == []
    assert page.dialogs() == []
    bad = [u for u in page.requests() if not u.startswith(("file:", "data:"))]
    assert bad == [], f"network requests: {bad}"


@needs_chromium
def test_browser_sample_view(tmp_path: Path, browser: Browser) -> None:
    out = tmp_path / "g.html"
    write_html(sample_graph(), out)
    page = load(browser, out)
    try:
        assert page.eval(INK) > 500
        assert page.eval("document.getElementById('title').textContent") == "zhkg"
        # search by alias through the form, as a user would
        page.eval("""new Promise(r => {  // resolves once the focus animation has ended
                       zhkg.network.once('animationFinished', () => r(1));
                       document.getElementById('search').value = '张局长';
                       document.getElementById('search-form').requestSubmit(); })""")
        assert page.eval("zhkg.network.getSelectedNodes()") == [B + "p1"]
        panel = page.eval("document.getElementById('panel').innerText")
        for text in ("张三", "leads 领导", "某某区财政局", "局长", "张三任某某区财政局局长。", "001.txt"):
            assert text in panel, text
        # a real mouse click on a node lists its facts
        page.eval("zhkg.network.fit({animation: false}); 1")
        x, y = node_point(page, B + "e1")
        page.click(x, y)
        page.wait_for("document.querySelector('#panel h2')?.textContent === '某某建设集团'", timeout=5)
        assert "1.2亿元" in page.eval("document.getElementById('panel').innerText")
        # type filter: unticking Person hides people and their edges
        page.eval("document.querySelector('#types input[value=Person]').click(); 1")
        assert page.eval(f"zhkg.nodes.get({json.dumps(B + 'p1')}).hidden") is True
        assert page.eval("zhkg.edges.get().filter(e => e.hidden).length") == 2
        assert_clean(page)
    finally:
        page.close()


@needs_chromium
def test_browser_malicious_names_stay_text(tmp_path: Path, browser: Browser) -> None:
    out = tmp_path / "x.html"
    write_html(malicious_graph(), out, title=XSS_IMG)
    page = load(browser, out)
    try:
        # search focuses the hit; wait for the view animation to end so the node stays put
        assert page.eval("new Promise(r => { zhkg.network.once('animationFinished', () => r(hits)); "
                         "const hits = zhkg.search('<script>alert(1)</script>'); })") == [B + "x1"]
        assert page.eval("document.querySelector('#panel h2').textContent") == XSS_SCRIPT
        x, y = node_point(page, B + "x1")              # hover: vis shows the tooltip
        page.hover(x, y)
        page.wait_for("document.querySelector('.vis-tooltip')?.style.visibility === 'visible'", timeout=5)
        assert XSS_IMG in page.eval("document.querySelector('.vis-tooltip').textContent")
        page.eval("zhkg.showFacts(%s); 1" % json.dumps(B + "x2"))
        time.sleep(0.2)
        assert page.eval("document.querySelectorAll('img, svg, b').length") == 0
        assert page.eval("document.scripts.length") == 2
        assert page.eval("document.title") == XSS_IMG
        assert_clean(page)                              # includes: no alert/confirm dialog opened
    finally:
        page.close()


@needs_chromium
def test_browser_large_graph_2000_nodes(big_html: tuple[Path, float], browser: Browser) -> None:
    """2,000 nodes / 5,000 edges: loads without errors, draws, search works."""
    out = big_html[0]
    t0 = time.monotonic()
    page = load(browser, out)
    try:
        assert time.monotonic() - t0 < 15
        assert page.eval(INK) > 500
        assert page.eval("zhkg.search('别名1234')") == [B + "n1234"]
        assert page.eval("zhkg.network.getSelectedNodes()") == [B + "n1234"]
        assert page.eval("document.querySelector('#panel h2').textContent") == "实体1234"
        assert_clean(page)
    finally:
        page.close()



@needs_chromium
def test_browser_capped_page_says_what_it_shows(tmp_path: Path, browser: Browser) -> None:
    out = tmp_path / "capped.html"
    write_html(random_graph(600, 1500), out, max_nodes=100)
    page = load(browser, out)
    try:
        note = page.eval("(e => e.hidden ? '' : e.innerText)(document.getElementById('cap'))")
        assert "100" in note and "600" in note and "1,500" in note and "most connected" in note
        assert_clean(page)
    finally:
        page.close()
