"""Every notebook runs top to bottom against the emulator, and says what it found."""
import json
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"

pytestmark = pytest.mark.slow


def _run(name: str, tmp_path) -> tuple[dict, list[str]]:
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    texts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            assert out.get("output_type") != "error", out
            if out.get("output_type") == "stream":
                texts.append(out["text"])
            elif "data" in out:
                texts.append(out["data"].get("text/plain", ""))
    line = next(line for t in texts for line in t.splitlines() if line.startswith("SUMMARY "))
    return json.loads(line[len("SUMMARY "):]), texts


def test_notebook_license_audit_reports_waste_cost_and_exports(tmp_path):
    summary, texts = _run("license_audit.ipynb", tmp_path)
    assert summary["tenants"] == 4
    assert summary["seats_purchased"] >= summary["seats_consumed"] > 0
    assert summary["licenses_on_disabled_accounts"] > 0      # the demo world has such accounts
    assert summary["skus_out_of_seats"] >= 1                  # and a SKU with no seats left
    assert summary["monthly_cost"] > summary["monthly_waste"] > 0
    out = tmp_path / "license_audit_output"
    assert {"licenses.csv", "license_holders.csv", "license_audit.xlsx"} <= {p.name for p in out.iterdir()}


def test_notebook_bulk_onboarding_reports_bad_rows_and_creates_the_rest(tmp_path):
    summary, _ = _run("bulk_onboarding.ipynb", tmp_path)
    assert summary["problem_rows"] == [10, 11]
    assert summary["created"] == 8 and summary["licensed"] == 8
    assert summary["failed_steps"] == 0
    assert (tmp_path / "bulk_results.csv").exists()


def test_notebook_offboarding_review_clears_disabled_licensed_accounts(tmp_path):
    summary, _ = _run("offboarding_review.ipynb", tmp_path)
    assert summary["candidates"] > 0
    assert summary["succeeded"] == summary["applied"] > 0
    assert summary["still_licensed_disabled"] < summary["candidates"]


def test_notebook_dashboard_shows_pages_inline(tmp_path):
    nb = nbformat.read(NOTEBOOKS / "dashboard.ipynb", as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    pages = [c for c in nb.cells if c.cell_type == "code" and "page(\"" in c.source]
    assert len(pages) == 3
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            assert out.get("output_type") != "error", out
    # Each page cell renders as Panel/Bokeh output (an embedded root), not as a text repr.
    for cell in pages:
        kinds = [set(o.get("data", {})) for o in cell.outputs]
        assert any("application/vnd.holoviews_exec.v0+json" in k for k in kinds), kinds
        html = next(o["data"]["text/html"] for o in cell.outputs if "text/html" in o.get("data", {}))
        assert "data-root-id" in html
    summary = next(line for c in nb.cells for o in c.get("outputs", [])
                   if o.get("output_type") == "stream" for line in o["text"].splitlines()
                   if line.startswith("SUMMARY "))
    assert json.loads(summary[len("SUMMARY "):])["users"] == 120
