"""The HTML report in a real headless Chromium, with JavaScript off: its SVG charts are there and visible."""
from __future__ import annotations


import pytest
from click.testing import CliRunner

from conftest import PROJECT
from generator.cli import main



@pytest.mark.parametrize("lang", ["ko", "ja", "en"])
def test_html_report_shows_both_charts_without_javascript(browser, serve, tmp_path, lang):
    out = tmp_path / "reports"
    result = CliRunner().invoke(main, ["report", "--root", str(PROJECT), "--month", "2025-10", "--format", "html",
                                       "--lang", lang, "--out", str(out), "--now", "2025-11-20T12:00+09:00"])
    assert result.exit_code == 0, result.output
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.goto(serve(out) + f"sla-report-2025-10.{lang}.html")
    assert page.locator("html").get_attribute("lang") == lang
    attainment = page.locator('svg[data-chart="attainment"]')
    volume = page.locator('svg[data-chart="volume"]')
    assert attainment.is_visible() and volume.is_visible()
    box = attainment.bounding_box()
    assert box["width"] > 300 and box["height"] > 150
    # Two regions x four severities (all have decided tickets in the sample), one target line for S1-S3.
    assert attainment.locator("rect.bar").count() == 8
    assert attainment.locator("line.target").count() == 3
    assert volume.locator("rect.bar").count() >= 31  # every day of October has tickets in at least one region
    assert page.locator('section[data-scope="region"]').count() == 2
    assert page.locator("#breaches tr").count() > 1
    # Verdicts are words with a coloured inline SVG mark, no emoji (a missing-glyph box without an emoji font).
    text = page.locator("body").inner_text()
    assert not any(0x1F000 <= ord(ch) <= 0x1FAFF or 0x2600 <= ord(ch) <= 0x27BF for ch in text)
    missed = page.locator("td.missed").first
    assert missed.locator("svg.mark").is_visible()
    assert missed.evaluate("cell => getComputedStyle(cell).color") == "rgb(185, 28, 28)"
    assert page.locator("td.met svg.mark").first.is_visible()
    page.screenshot(path=str(tmp_path / f"report-{lang}.png"), full_page=False)
    assert errors == []
    context.close()
