"""The self-service subscription, end to end: a real Chromium fills the form of the built site, a real SMTP
server receives the confirmation mail, the link confirms, `statusgen notify` notifies, the RFC 8058 one-click
unsubscribe POST stops it."""
from __future__ import annotations

import re

import httpx
from click.testing import CliRunner

from api_support import ServerThread, make_tokens, smtp_sink  # noqa: F401 - fixtures
from conftest import git
from generator.build import build_site
from generator.cli import main
from generator.service.api.app import create_app
from generator.service.api.auth import parse_tokens
from generator.service.api.subscriptions import mount_subscriptions
from generator.service.channels import Smtp

KR_ID = "2025-10-02-kr-ingest-latency"
JP_ID = "2025-10-15-jp-search-false-positive"
SECRET = "subscription-secret-for-tests-0123456789"


def notify(root, smtp_port: int, item: str):
    return CliRunner().invoke(main, ["notify", "--root", str(root), "--smtp-host", "127.0.0.1",
                                     "--smtp-port", str(smtp_port), item],
                              env={"STATUSGEN_SUBSCRIPTION_SECRET": SECRET})


def test_subscribe_confirm_notify_unsubscribe_in_chromium(sample_repo, smtp_sink, browser, serve, monkeypatch):
    monkeypatch.setenv("STATUSGEN_SUBSCRIPTION_SECRET", SECRET)
    writer, _, tokens = make_tokens()
    app = create_app(sample_repo, parse_tokens(tokens, "tokens.yaml"))
    server = ServerThread(app)
    api_url = f"http://127.0.0.1:{server.port}"
    config = sample_repo / "status.yaml"
    config.write_text(config.read_text(encoding="utf-8") + f"notifications:\n  api_url: {api_url}\n", encoding="utf-8")
    git(sample_repo, "commit", "-qam", "Subscriptions on")
    assert mount_subscriptions(app, sample_repo, Smtp("127.0.0.1", smtp_sink.port)) is None
    site = build_site(sample_repo, sample_repo / "public", __import__("conftest").SAMPLE_NOW).out
    with server:
        page = browser.new_page()
        page.goto(serve(site) + "en/", wait_until="networkidle")
        form = page.locator("section.sg-subscribe")
        assert form.locator("h2").inner_text() == "Subscribe to updates"

        from axe_playwright_python.sync_playwright import Axe
        results = Axe().run(page, context="section.sg-subscribe")
        assert results.violations_count == 0, results.generate_report()

        page.get_by_label("E-mail address").fill("reader@customer.example.com")
        page.get_by_label("Language of the notices").select_option("ja")
        page.locator("summary").click()
        page.get_by_label("Korea · Ingest").check()
        page.get_by_role("button", name="Subscribe").click()
        page.wait_for_load_state()
        assert page.locator("h1").inner_text() == "メールをご確認ください"  # the chosen language

        confirmation, = smtp_sink.messages
        assert confirmation["To"] == "reader@customer.example.com" and confirmation["Date"]
        link = re.search(r"http://\S+/v1/subscriptions/confirm\?token=\S+", confirmation.get_content()).group()
        page.goto(link)
        assert page.locator("h1").inner_text() == "購読を開始しました"

        kr = notify(sample_repo, smtp_sink.port, KR_ID)  # kr-ingest: five updates, the subscriber wants each
        jp = notify(sample_repo, smtp_sink.port, JP_ID)  # jp-search: not a component the subscriber chose
        assert kr.exit_code == 0 and jp.exit_code == 0, kr.output + jp.output
        notices = smtp_sink.messages[1:]
        assert len(notices) == 5 and "0 sent" in jp.output
        assert notices[0]["Subject"].startswith("[KR] 障害") and notices[0]["Content-Language"] == "ja"
        assert notices[0]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        unsubscribe = re.search(r"<(http://[^>]+)>", notices[0]["List-Unsubscribe"]).group(1)

        # What a mail client does on "Unsubscribe" (RFC 8058 3.1): a POST with this exact body, no cookies.
        assert httpx.get(unsubscribe).status_code == 200  # a GET (a link scanner) changes nothing
        again = CliRunner().invoke(main, ["notify", "--root", str(sample_repo), KR_ID],
                                   env={"STATUSGEN_SUBSCRIPTION_SECRET": SECRET})
        assert "0 sent, 5 already sent" in again.output
        one_click = httpx.post(unsubscribe, content=b"List-Unsubscribe=One-Click",
                               headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert one_click.status_code == 200 and "配信を停止しました" in one_click.text

        # A new update after the unsubscription reaches nobody.
        reopened = httpx.patch(f"{api_url}/v1/status/{KR_ID}", headers={"Authorization": f"Bearer {writer}"}, json={
            "update": {"at": "2025-10-02T12:00:00+09:00", "status": "monitoring",
                       "text": {"ko": "재확인 중입니다.", "ja": "再確認しています。", "en": "We are checking again."}}})
        assert reopened.status_code == 200, reopened.text
        after = notify(sample_repo, smtp_sink.port, KR_ID)
        assert after.exit_code == 0 and after.output.endswith("0 sent, 0 already sent, 0 failed\n"), after.output
        assert len(smtp_sink.messages) == 6


def test_a_site_without_an_api_url_has_no_subscribe_form(built_sample):
    # the Subscribe block (feeds, calendar, API, badge) is on every page; the form only with an API to post to
    for page in ("index.html", "en/index.html", "ja/incidents/2025-10-02-kr-ingest-latency/index.html"):
        html = (built_sample / page).read_text(encoding="utf-8")
        assert 'class="sg-subscribe"' in html
        assert "sg-subscribe-form" not in html and "<form" not in html
