"""The HTML report in headless Chromium (Debian's chromium + chromium-driver, no network): every
image loads, every table is there, every link points at a file of the report."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(shutil.which("chromedriver") is None and not Path("/usr/bin/chromedriver").exists(),
                                reason="chromium-driver is not installed (.ci/run installs it)")


@pytest.fixture(scope="module")
def browser():  # noqa: ANN201 - a selenium WebDriver
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver") or "/usr/bin/chromedriver"), options=opts)
    yield driver
    driver.quit()


def test_every_image_loads_and_every_table_is_there(browser, ae_report: Path) -> None:  # noqa: ANN001
    index = json.loads((ae_report / "report.json").read_text())
    browser.get((ae_report / "index.html").as_uri())
    images = browser.execute_script(
        "return Array.from(document.images).map(i => [i.getAttribute('src'), i.complete && i.naturalWidth > 0])")
    srcs = {src for src, _ in images}
    assert all(ok for _, ok in images), images
    expected = {s["figure_png"] for s in index["spectra"]} | {lim["figure_png"] for lim in index["limits"]}
    assert expected | set(index["search_plots"]) == srcs
    tables = set(browser.execute_script("return Array.from(document.querySelectorAll('table')).map(t => t.id)"))
    assert {"run-metadata", "headline", "cutflow-background"} | {f"table-{t['key']}" for t in index["tables"]} <= tables
    rows = browser.execute_script(
        "return document.getElementById('table-significances').querySelectorAll('tr').length")
    assert rows == 1 + len(index["spectra"])
    hrefs = browser.execute_script("return Array.from(document.links).map(a => a.getAttribute('href'))")
    for href in hrefs:
        assert (ae_report / href).exists(), href
    assert any(h.startswith("workspaces/") and h.endswith(".json") for h in hrefs)
    assert "hepdata/submission.yaml" in hrefs
