"""`statusgen init`: a new company's status repository that checks, builds and publishes at once, also with
an installed (non-editable) statusgen; a real Chromium opens the published site in each chosen language."""
from __future__ import annotations

import os
import subprocess
import sys
import tarfile
from pathlib import Path

import yaml
from click.testing import CliRunner

from generator.cli import main
from generator.trust.publish import publish

from conftest import PROJECT, GitRepo

NOW = "2026-07-15T10:00:00-04:00"  # New York in summer time (EDT)


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def init(target: Path, *args: str):
    return run("init", str(target), "--yes", *args)


def test_init_with_only_english_and_one_region_in_new_york_checks_and_builds(tmp_path):
    repo = tmp_path / "acme"
    result = init(repo, "--name", "Acme Cloud", "--languages", "en", "--region", "US:America/New_York:US",
                  "--service", "api", "--dashboard-host", "grafana.acme.example")
    assert result.exit_code == 0, result.output
    assert (repo / ".git").is_dir()
    for name in ("status.yaml", "mkdocs.yml", "glossary.yaml", "tenants.yaml", ".gitignore", "README.md",
                 ".github/allowed_signers", ".github/workflows/check.yml", ".github/workflows/publish.yml",
                 "templates/macros/s2_first_notice.en.txt", "incidents/.gitkeep", "maintenance/.gitkeep",
                 "rca/.gitkeep", "scripts/setup"):
        assert (repo / name).is_file(), name
    config = yaml.safe_load((repo / "status.yaml").read_text(encoding="utf-8"))
    assert config["languages"] == ["en"]
    assert config["regions"][0]["holidays"] == {"country": "US", "categories": ["public"]}
    assert config["sla"]["policies"]["S1"]["first_response"] == "15m"  # the mission's table
    # An incident during summer time: the page must say EDT, the offset of that day.
    created = run("new", "incident", "--root", str(repo), "--now", NOW, "--region", "US", "--severity", "S2",
                  "--component", "api", "--ticket", "T-1", "--slug", "errors", "--var", "metric=API error rate",
                  "--evidence", "https://grafana.acme.example/d/api",
                  "--var", "value=4 %")
    assert created.exit_code == 0, created.output
    path = repo / "incidents/2026/2026-07-15-us-errors.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("draft: true\n", ""), encoding="utf-8")
    written = path.read_text(encoding="utf-8")
    assert "at: 2026-07-15T10:00-04:00" in written
    assert "  en: " in written and "ko:" not in written and "ja:" not in written  # the repository's languages only
    checked = run("check", "--root", str(repo), "--now", NOW)
    assert checked.exit_code == 0, checked.output
    built = run("--root", str(repo), "build", "--now", "2026-07-15T10:05:00-04:00", "--out", str(repo / "public"))
    assert built.exit_code == 0, built.output
    home = (repo / "public/index.html").read_text(encoding="utf-8")
    assert 'lang="en"' in home and "Acme Cloud Service Status" in home
    page = (repo / "public/incidents/2026-07-15-us-errors/index.html").read_text(encoding="utf-8")
    assert "10:00 EDT (14:00 UTC)" in page
    assert not (repo / "public/ko").exists() and not (repo / "public/ja").exists()


def test_init_accepts_a_subdivision_and_refuses_an_unknown_country_leaving_nothing(tmp_path):
    ok = init(tmp_path / "uk", "--name", "Acme", "--languages", "en", "--region", "GB:Europe/London:GB-ENG",
              "--service", "api")
    assert ok.exit_code == 0, ok.output
    assert yaml.safe_load((tmp_path / "uk/status.yaml").read_text())["regions"][0]["holidays"]["subdiv"] == "ENG"
    bad = init(tmp_path / "xx", "--name", "Acme", "--region", "XX:Europe/London:XX", "--service", "api")
    assert bad.exit_code == 1
    assert "regions[0].holidays.country: expected an ISO 3166 country code" in bad.output and "got 'XX'" in bad.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["uk"]
    busy = init(tmp_path / "uk", "--name", "Acme", "--region", "US:America/New_York:US", "--service", "api")
    assert busy.exit_code == 1 and "already exists and is not empty" in busy.output


def test_init_without_yes_outside_a_terminal_names_the_missing_option(tmp_path):
    result = run("init", str(tmp_path / "x"), "--region", "US:America/New_York:US", "--service", "api")
    assert result.exit_code == 2
    assert "missing --name" in result.output
    assert not (tmp_path / "x").exists()


def test_an_installed_statusgen_builds_an_init_repository(tmp_path):
    # A real (non-editable) install of this project: templates, macros and theme must come from the package.
    target = tmp_path / "installed"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(PROJECT)],
                   check=True, capture_output=True)
    env = {**os.environ, "PYTHONPATH": str(target), "NO_MKDOCS_2_WARNING": "1"}
    statusgen = [sys.executable, str(target / "bin" / "statusgen")]

    def cli(*args):
        return subprocess.run([*statusgen, *args], cwd=tmp_path, env=env, capture_output=True, text=True)

    where = subprocess.run([sys.executable, "-c", "import generator; print(generator.__file__)"], cwd=tmp_path,
                           env=env, capture_output=True, text=True, check=True).stdout
    assert where.startswith(str(target))
    repo = tmp_path / "acme"
    made = cli("init", str(repo), "--name", "Acme Cloud", "--languages", "en,ko", "--region",
               "US:America/New_York:US", "--region", "KR:Asia/Seoul:KR", "--service", "api", "--service",
               "console", "--yes")
    assert made.returncode == 0, made.stderr
    built = cli("--root", str(repo), "build", "--out", str(repo / "public"))
    assert built.returncode == 0, built.stderr
    assert (repo / "public/ko/index.html").is_file() and (repo / "public/assets/status.css").is_file()
    assert (repo / "public/verify/index.html").is_file()


def test_init_check_build_publish_then_chromium_opens_each_language(tmp_path, make_key, serve, browser):
    engineer, ci = make_key("oncall@acme.example"), make_key("ci@acme.example")
    repo_path = tmp_path / "acme"
    result = init(repo_path, "--name", "Acme Cloud", "--languages", "ja,en", "--region", "JP:Asia/Tokyo:JP",
                  "--service", "api", "--service", "console",
                  "--signer", f"{engineer.principal}={engineer.private}.pub", "--signer", f"{ci.principal}={ci.private}.pub")
    assert result.exit_code == 0, result.output
    assert run("check", "--root", str(repo_path)).exit_code == 0
    repo = GitRepo(repo_path)  # `git init` again is harmless; it gives the test's isolated git environment
    repo.commit("Acme status repository from statusgen init", key=engineer)

    published = publish(repo_path, ci.private, __import__("datetime").datetime.fromisoformat("2026-12-01T10:00:00+09:00"))
    assert published.appended == () and published.checkpoint.size == 0  # no RCA yet: an empty ledger
    site = tmp_path / "site"
    site.mkdir()
    archive = tmp_path / "site.tar"
    repo.git("archive", "--format=tar", f"--output={archive}", "gh-pages")
    with tarfile.open(archive) as tar:
        tar.extractall(site, filter="data")
    url = serve(site)
    for prefix, lang, title in (("", "ja", "Acme Cloud サービスステータス"), ("en/", "en", "Acme Cloud Service Status")):
        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(url + prefix, wait_until="networkidle")
        assert page.locator("html").get_attribute("lang") == lang
        assert title in page.title()
        assert page.locator('section[data-region="JP"] li[data-component]').count() == 2
        assert errors == []
        page.close()


def test_the_macros_init_ships_are_the_sample_repositorys_macros():
    # One set of default macros: the package's copy (for installed use) must not drift from templates/macros.
    from generator.starter import FILES

    shipped = {p.name: p.read_bytes() for p in (FILES / "templates" / "macros").glob("*.txt")}
    sample = {p.name: p.read_bytes() for p in (PROJECT / "templates" / "macros").glob("*.txt")}
    assert shipped == sample


def test_init_in_a_terminal_prompts_for_what_is_missing(tmp_path):
    import pty
    import select

    master, slave = pty.openpty()
    target = tmp_path / "asked"
    process = subprocess.Popen([sys.executable, "-m", "generator", "init", str(target), "--languages", "en"],
                               stdin=slave, stdout=slave, stderr=slave, cwd=PROJECT, close_fds=True,
                               env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    os.close(slave)
    answers = [("Product name", "Acme Cloud"), ("Regions", "US:America/New_York:US"), ("Services", "api,console"),
               ("Public address", "")]
    seen = ""
    try:
        for prompt, answer in answers:
            while prompt not in seen:
                ready, _, _ = select.select([master], [], [], 60)
                assert ready, f"no prompt {prompt!r}; got {seen!r}"
                seen += os.read(master, 4096).decode(errors="replace")
            os.write(master, (answer + "\n").encode())
        assert process.wait(timeout=60) == 0
    finally:
        process.kill()
        os.close(master)
    config = yaml.safe_load((target / "status.yaml").read_text(encoding="utf-8"))
    assert config["page"]["name"] == {"en": "Acme Cloud Service Status"}
    assert [s["id"] for s in config["services"]] == ["api", "console"]
    assert config["regions"][0]["timezone"] == "America/New_York"


def test_the_workflows_init_ships_are_this_repositorys_hardened_workflows():
    # A new repository starts with the audited workflows (pinned actions, least privilege): the package's copy
    # must not drift from .github/workflows, which tests/test_workflows.py checks with zizmor.
    from generator.starter import FILES

    shipped = {p.name: p.read_bytes() for p in (FILES / "github" / "workflows").glob("*.yml")}
    ours = {p.name: p.read_bytes() for p in (PROJECT / ".github" / "workflows").glob("*.yml")}
    assert shipped == ours
