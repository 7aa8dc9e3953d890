"""The report page in a real headless browser: Debian's chromium driven by Playwright.

`make test` installs chromium first (`make browser`: apt-get, only when it is missing).
The page must load without console errors, show every figure as an SVG, and carry the
key numbers of report.json in its DOM. The screenshot is kept in build/test-artifacts/.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from neurocc.report_page import energy_text, percent

ARTIFACTS = Path(__file__).resolve().parents[2] / "build" / "test-artifacts"
FIGURES = ("energy-totals", "latency", "energy-breakdown", "utilization", "spike-counts",
           "rates", "rasters")
CHROMIUM = shutil.which("chromium")


def test_page_in_chromium(example_report) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    assert CHROMIUM, "chromium is not installed: run `make browser` (apt-get install chromium)"
    directory, record = example_report
    messages: list[str] = []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.on("console", lambda m: messages.append(f"{m.type}: {m.text}")
                if m.type in ("error", "warning") else None)
        page.on("pageerror", lambda e: messages.append(f"page error: {e}"))
        page.on("request", lambda r: messages.append(f"request: {r.url}")
                if not r.url.startswith(("file:", "data:")) else None)
        page.goto((directory / "report.html").as_uri())
        page.wait_for_load_state("load")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=True)
        figures = {f: page.locator(f"figure[data-figure='{f}'] svg").count() for f in FIGURES}
        sizes = {f: page.locator(f"figure[data-figure='{f}'] svg").bounding_box()
                 for f in FIGURES}
        cells = {}
        for target in record["targets"]:
            row = page.locator(f"#summary-table tr[data-target='{target['label']}']")
            cells[target["label"]] = {key: row.locator(f"td[data-key='{key}']").inner_text()
                                       for key in ("accuracy", "energy")}
        browser.close()
    assert messages == []  # no console error, no network request: the page is self-contained
    assert figures == dict.fromkeys(FIGURES, 1)
    assert all(box and box["width"] > 100 and box["height"] > 50 for box in sizes.values())
    for target in record["targets"]:
        shown = cells[target["label"]]
        assert shown["accuracy"] == percent(target["fidelity"]["accuracy"])
        energy = target["run"]["energy"]
        if energy is not None:
            assert shown["energy"] == energy_text(energy["energy_per_inference_pj"])
    assert (ARTIFACTS / "report.png").stat().st_size > 10_000
