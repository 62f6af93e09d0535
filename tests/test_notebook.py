"""notebooks/explore.ipynb runs top to bottom in a fresh kernel and shows what it promises.

The notebook is executed once per session with nbclient, in a kernel started with this very
interpreter (a kernelspec written to a temporary JUPYTER_PATH, so a user-level or system
`python3` kernelspec cannot point it at another Python), with ZHKG_GRAPH_DIR set to an empty
temporary folder (the notebook builds examples/corpus itself) and MPLBACKEND=Agg.
"""
from __future__ import annotations

import base64
import json
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "explore.ipynb"
KERNEL = "zhkg-test-python"


def _kernelspec(jupyter_path: Path) -> None:
    spec = jupyter_path / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "zhkg tests (this interpreter)",
        "language": "python",
    }), encoding="utf-8")


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """(executed notebook, graph folder the notebook built into)."""
    tmp = tmp_path_factory.mktemp("notebook")
    graph_dir = tmp / "graph"  # does not exist yet: the notebook must build it
    _kernelspec(tmp / "jupyter")
    (tmp / "ipython").mkdir()
    nb = nbformat.read(NOTEBOOK, as_version=4)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ZHKG_GRAPH_DIR", str(graph_dir))
        mp.setenv("MPLBACKEND", "Agg")
        mp.setenv("JUPYTER_PATH", str(tmp / "jupyter"))
        mp.setenv("IPYTHONDIR", str(tmp / "ipython"))  # no user profile / startup files
        mp.setenv("PYDEVD_DISABLE_FILE_VALIDATION", "1")
        client = nbclient.NotebookClient(
            nb, timeout=300, startup_timeout=120, kernel_name=KERNEL,
            resources={"metadata": {"path": str(NOTEBOOK.parent)}})
        client.execute()
    return nb, graph_dir


def _cell(nb, tag: str):
    cells = [c for c in nb.cells if tag in c.get("metadata", {}).get("tags", [])]
    assert len(cells) == 1, f"expected one cell tagged {tag!r}"
    return cells[0]


def _text(cell) -> str:
    """All text of a cell's outputs: streams and the text/plain of results and displays."""
    parts = []
    for out in cell.get("outputs", []):
        if out.output_type == "stream":
            parts.append(out.text)
        elif out.output_type in ("execute_result", "display_data"):
            parts.append(out.data.get("text/plain", ""))
    return "\n".join(parts)


def test_committed_notebook_is_clean():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.kernelspec.name == "python3"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(not c.outputs and c.execution_count is None for c in code)
    params = code[0]
    assert "parameters" in params.metadata.get("tags", [])
    assert 'os.environ.get("ZHKG_GRAPH_DIR", "../output")' in params.source


def test_runs_and_builds_the_graph(executed):
    nb, graph_dir = executed
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            assert out.output_type != "error", out
    assert (graph_dir / "graph.ttl").is_file() and (graph_dir / "graph.graphml").is_file()
    assert str(graph_dir) in _text(_cell(nb, "locate"))


def test_counts(executed):
    nb, _ = executed
    text = _text(_cell(nb, "counts"))
    for term in ("kg:Person", "kg:District", "kg:Organization", "kg:Enterprise", "kg:Project",
                 "kg:leads", "kg:worksFor", "kg:locatedIn", "kg:invests", "人物", "投资"):
        assert term in text


def test_centrality_names_people(executed):
    import rdflib
    from rdflib.namespace import RDF, RDFS
    nb, graph_dir = executed
    g = rdflib.Graph().parse(graph_dir / "graph.ttl", format="turtle")
    kg = rdflib.Namespace("https://w3id.org/zhkg/ontology#")
    people = {str(g.value(p, RDFS.label)) for p in g.subjects(RDF.type, kg.Person)}
    assert people
    text = _text(_cell(nb, "centrality"))
    assert "Top 10 people" in text and "betweenness" in text
    assert any(name in text for name in people)


def test_communities_and_sparql(executed):
    nb, _ = executed
    assert "communities over" in _text(_cell(nb, "communities"))
    sparql = _cell(nb, "sparql")
    assert any("text/html" in out.get("data", {}) for out in sparql.outputs)
    assert "sentence" in _text(sparql)


def test_chart_is_a_png(executed):
    nb, _ = executed
    chart = _cell(nb, "chart")
    pngs = [out.data["image/png"] for out in chart.outputs
            if out.output_type == "display_data" and "image/png" in out.data]
    assert len(pngs) == 1
    assert base64.b64decode(pngs[0]).startswith(b"\x89PNG\r\n\x1a\n")
    stderr = "".join(out.text for out in chart.outputs
                     if out.output_type == "stream" and out.name == "stderr")
    assert "missing from" not in stderr  # no missing-glyph warnings for the Chinese labels
