"""The repository's own files, never the build machine's: symbolic links that leave the repository are refused.

Content files and site sources are read and copied into a public site. A symbolic link among them that
points outside the repository (`/proc/self/environ`, `/etc/passwd`, a CI secret file) or into `.git/`
(where a CI checkout keeps its access token) would publish the machine instead. Such a link is an error
naming the link's own path; it is never followed, and neither its target nor the target's contents are
ever echoed. A link that stays inside the repository is read like the file it names.
"""
from __future__ import annotations

import os
import posixpath
from pathlib import Path

# Everything statusgen reads from a content repository or copies into the site.
REPOSITORY_SOURCES = (
    "status.yaml", "mkdocs.yml", "incidents", "maintenance", "rca", "site", "templates", "glossary.yaml",
    "tenants.yaml", "ledger", ".github/allowed_signers",
)
LINK_REFUSED = ("is a symbolic link pointing outside the repository; statusgen never follows it "
                "(replace the link with the file itself)")


def _escapes(root: Path, link: Path) -> bool:
    try:
        target = link.resolve()
    except (OSError, RuntimeError):  # a loop of links
        return True
    if not target.is_relative_to(root):
        return True
    return target.relative_to(root).parts[:1] == (".git",)


def outside_links(root: Path, paths: tuple[str, ...] = REPOSITORY_SOURCES) -> list[str]:
    """Repository-relative paths of the symbolic links under `paths` (files or folders of `root`) that lead
    outside the repository or into `.git/`, sorted. Folder links are reported, not descended into."""
    root = Path(root).resolve()
    found: list[str] = []

    def visit(path: Path) -> None:
        if path.is_symlink():
            if _escapes(root, path):
                found.append(path.relative_to(root).as_posix())
            return
        if path.is_dir():
            for link in _links_under(str(path)):
                if _escapes(root, Path(link)):
                    found.append(Path(link).relative_to(root).as_posix())

    for rel in paths:
        # a link on the way (e.g. `site` itself for `site/docs`) counts as much as the path
        parts = Path(rel).parts
        for depth in range(1, len(parts)):
            prefix = root.joinpath(*parts[:depth])
            if prefix.is_symlink() and _escapes(root, prefix):
                found.append(Path(*parts[:depth]).as_posix())
                break
        else:
            visit(root / rel)
    return sorted(set(found))


def _links_under(folder: str) -> list[str]:
    """The symbolic links anywhere under `folder`, which is walked without following links (like `os.walk`,
    unreadable folders skipped). The type comes with the directory listing: no `stat` per file."""
    return [entry.path for entry in scan_tree(folder) if entry.is_symlink()]


def scan_tree(folder: str) -> list[os.DirEntry]:
    """Every entry anywhere under `folder` (files, folders, links), each folder's entries followed by those
    below it; links are listed, not followed, and unreadable folders are skipped. One `os.scandir` per folder:
    the type comes with the listing, so nothing is stat-ed unless the caller asks."""
    found: list[os.DirEntry] = []
    try:
        with os.scandir(folder) as listing:
            entries = list(listing)
    except OSError:
        return found
    for entry in entries:
        found.append(entry)
        try:
            descend = entry.is_dir(follow_symlinks=False)
        except OSError:
            descend = False
        if descend:
            found += scan_tree(entry.path)
    return found


def link_target_escapes(link_path: str, target: str) -> bool:
    """Whether a symbolic link stored in Git at `link_path` (repository-relative) with `target` leaves the
    repository or leads into `.git/`. Pure: for links read from a commit (`git ls-tree`, mode 120000)."""
    if target.startswith("/") or "\x00" in target:
        return True
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(link_path), target))
    return resolved == ".." or resolved.startswith("../") or resolved.split("/", 1)[0] == ".git"
