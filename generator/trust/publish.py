"""`statusgen publish`: verify -> build -> record the RCA ledger -> commit the site, SSH-signed, to the publish branch.

Where the ledger lives: on the source branch, in `ledger/`. When a publication appends RCA revisions (or
signs a new checkpoint), publish makes one SSH-signed commit on the source branch that changes only
`ledger/`, with the publishing key, and the site commit records that commit as its source. The served
copy (`<site>/ledger/`) is exported from it. So the source branch holds the complete, reviewable history
of what was published, and the publish branch is a pure function of it.

Publish works on commits, not on the working tree: the source commit is exported to a temporary
directory, verified and built there. The user's working tree, index and checkout are left alone except
for the ledger files, which are brought up to date with the new ledger commit.

What publish refuses (the same checks as `statusgen verify`, adjusted for a publication in progress):
an unparsable ledger, a checkpoint that does not match the ledger or is not signed by a listed key, a
commit touching incidents/, maintenance/ or rca/ that is not signed by its committer's listed key, a
previous publication whose served RCA copies, ledger or checkpoint no longer agree, a source ledger that
does not extend the previous publication's checkpoint, and a publish branch commit that is not signed.
An RCA file that differs from its latest ledger entry in the source is not refused: it is the
correction being published, and becomes a new revision that names the one it supersedes.
"""
from __future__ import annotations

import base64
import os
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import git
import yaml

from . import ledger as ledger_mod
from . import verify as verify_mod
from ..build import BuildFailed, build_site
from ..content.cache import Cache
from ..content.tree import LINK_REFUSED, link_target_escapes
from .ledger import Checkpoint, LedgerError

DEFAULT_BRANCH = "gh-pages"
CONFIG_FILE = "status.yaml"
LEDGER_DIR = "ledger"
# Paths of the publish branch whose commits must all be signed: every publish commit touches the ledger.
PUBLISHED_LEDGER_PATHS = (ledger_mod.SITE_LEDGER_DIR,)


class PublishRefused(Exception):
    """Publishing was refused or failed; `problems` lists each check that failed, one line each."""

    def __init__(self, message: str, problems: list[str] | None = None):
        super().__init__(message)
        self.problems = problems or []


@dataclass(frozen=True)
class PublishResult:
    branch: str
    commit: str               # the new publish commit (or the unchanged previous one)
    parent: str | None        # the previous publish commit
    source: str               # the source commit the site was built from (the ledger commit, if one was made)
    ledger_commit: str | None  # the signed ledger commit made on the source branch, if any
    checkpoint: Checkpoint
    appended: tuple[ledger_mod.LedgerEntry, ...]
    pushed: str | None
    unchanged: bool


# --- git at the edge ---------------------------------------------------------------------------


def _git(root: Path, *args: str, env: dict | None = None, input: bytes | None = None) -> str:
    done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, input=input,
                          env={**os.environ, **(env or {})})
    if done.returncode != 0:
        raise PublishRefused(f"git {args[0]} failed: {done.stderr.decode(errors='replace').strip()}")
    return done.stdout.decode().strip()


def _signing_config(key: Path, email: str) -> list[str]:
    return ["-c", "gpg.format=ssh", "-c", f"user.signingkey={key}", "-c", "user.name=statusgen publish",
            "-c", f"user.email={email}"]


def escaping_links(root: Path, rev: str, *paths: str) -> list[str]:
    """Paths of the symbolic links committed in `rev` (under `paths`) that lead out of the repository or into
    `.git/`: read from Git itself, so nothing is followed to find out."""
    listing = _git(root, "ls-tree", "-r", "-z", "--full-tree", rev, "--", *paths)
    found = []
    for record in filter(None, listing.split("\0")):
        meta, _, path = record.partition("\t")
        mode, _, blob = meta.split(" ")
        if mode == "120000" and link_target_escapes(path, _git(root, "cat-file", "blob", blob)):
            found.append(path)
    return found


def _export_tree(root: Path, rev: str, target: Path, *paths: str) -> None:
    """Write the files of `rev` (or only `paths` of it) into `target`, without touching the working tree.
    Refuses a commit holding a link out of the repository: it would publish the build machine."""
    links = escaping_links(root, rev, *paths)
    if links:
        raise PublishRefused(f"commit {rev[:12]} holds symbolic links out of the repository; nothing was published",
                             [f"{link}: {LINK_REFUSED}" for link in links])
    target.mkdir(parents=True, exist_ok=True)
    archive = target.parent / f".{target.name}.tar"
    _git(root, "archive", "--format=tar", f"--output={archive}", rev, *paths)
    try:
        with tarfile.open(archive) as tar:
            tar.extractall(target, filter="data")
    except tarfile.FilterError as exc:  # anything the check above does not know about (a link chain...)
        member = exc.tarinfo.name if exc.tarinfo else "?"
        raise PublishRefused(f"commit {rev[:12]}: {member}: refused as unsafe to extract; nothing was published",
                             [f"{member}: {type(exc).__name__}"]) from None
    finally:
        archive.unlink(missing_ok=True)


def _has_path(root: Path, rev: str, path: str) -> bool:
    return bool(_git(root, "ls-tree", "--name-only", rev, "--", path))


def _tree_of_directory(root: Path, directory: Path, index: Path) -> str:
    """The git tree of every file under `directory`, written through a temporary index."""
    env = {"GIT_INDEX_FILE": str(index), "GIT_WORK_TREE": str(directory)}
    # -f and no excludes: the built site is committed exactly as built, whatever .gitignore says.
    _git(root, "-c", f"core.excludesFile={os.devnull}", "add", "-A", "-f", ".", env=env)
    return _git(root, "write-tree", env=env)


def _tree_with_files(root: Path, base: str, files: dict[str, bytes], index: Path) -> str:
    """The tree of commit `base` with `files` (path -> bytes) replaced, through a temporary index."""
    env = {"GIT_INDEX_FILE": str(index)}
    _git(root, "read-tree", base, env=env)
    for path, data in files.items():
        blob = _git(root, "hash-object", "-w", "--stdin", input=data)
        _git(root, "update-index", "--add", "--cacheinfo", f"100644,{blob},{path}", env=env)
    return _git(root, "write-tree", env=env)


def _signed_commit(root: Path, tree: str, parents: list[str], message: str, key: Path, email: str) -> str:
    parent_args = [arg for parent in parents for arg in ("-p", parent)]
    return _git(root, *_signing_config(key, email), "commit-tree", "-S", *parent_args, tree, input=message.encode())


# --- deciding ----------------------------------------------------------------------------------


def checkpoint_origin(source_dir: Path) -> str:
    """The ledger's checkpoint origin: kept from the existing checkpoint, else `<host><path>rca-ledger`
    from `page.url` in status.yaml."""
    existing = source_dir / ledger_mod.CHECKPOINT_PATH
    if existing.exists():
        return ledger_mod.parse_checkpoint(existing.read_bytes()).origin
    config = yaml.safe_load((source_dir / CONFIG_FILE).read_text(encoding="utf-8")) or {}
    url = str((config.get("page") or {}).get("url") or "")
    host_and_path = url.split("://", 1)[-1].rstrip("/")
    if not host_and_path:
        raise PublishRefused(f"{CONFIG_FILE}: page.url: needed to name the ledger's checkpoint origin")
    return f"{host_and_path}/rca-ledger"


def signer_email(key: Path, allowed_signers: Path) -> str:
    """The principal under which `allowed_signers` lists the public half of `key`; commits are made as it,
    so that verify's committer-principal check holds for publish commits too."""
    done = subprocess.run(["ssh-keygen", "-y", "-f", str(key)], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        raise PublishRefused(f"{key}: not a usable SSH private key (a key with a passphrase cannot be used "
                             f"unattended): {done.stderr.strip()}")
    fingerprint = verify_mod.key_fingerprint(done.stdout.split()[1])
    signers = verify_mod.parse_allowed_signers(allowed_signers.read_text(encoding="utf-8"), str(allowed_signers))
    for signer in signers:
        if signer.fingerprint == fingerprint:
            plain = [p for p in signer.principals if not any(c in p for c in "*?")]
            if plain:
                return plain[0]
    raise PublishRefused(f"{key}: its public key {fingerprint} is not in {ledger_mod.ALLOWED_SIGNERS_PATH} "
                         "under a plain principal; customers could not verify what it signs")


def find_previous_publication(repo: git.Repo, branch: str, remote: str | None) -> tuple[str | None, bool]:
    """The tip of the publish branch: the local branch, else `<remote>/<branch>` (a CI checkout has only
    the remote-tracking ref). Returns (commit, whether the local branch exists)."""
    if branch in repo.heads:
        return repo.heads[branch].commit.hexsha, True
    for name in filter(None, (remote, "origin")):
        ref = f"refs/remotes/{name}/{branch}"
        try:
            return repo.commit(ref).hexsha, False
        except (git.BadName, ValueError):
            continue
    return None, False


def published_source(repo: git.Repo, publish_commit: str) -> str | None:
    """The `Source-Commit:` a publish commit records, if any."""
    for line in repo.commit(publish_commit).message.splitlines():
        if line.startswith("Source-Commit: "):
            return line.removeprefix("Source-Commit: ").strip()
    return None


def trust_root(root: Path, repo: git.Repo, previous: str | None, previous_dir: Path, source: str,
               since: str | None) -> tuple[str | None, Path | None, list[str]]:
    """Where the signatures of this publication are checked from: `(since, pinned signers, problems)`.

    After a previous publication, from its source commit, with the signers it served: that history was
    verified then, and its list is the one customers were shown. The source must still contain it; a source
    branch that does not was rewritten. Otherwise from `--since` or the first commit that has a list.
    """
    if not previous:
        return since, None, []
    before = published_source(repo, previous)
    served = previous_dir / ledger_mod.SITE_LEDGER_DIR / "allowed_signers"
    if before is None or not served.exists():
        return since, None, []
    try:
        repo.commit(before)
        contained = repo.is_ancestor(before, source)
    except (git.BadName, ValueError, git.GitCommandError):
        contained = False
    if not contained:
        return since, None, [f"publish commit {previous[:12]} was built from {before[:12]}, which is not in the "
                             f"history of {source[:12]}: the source branch was rewritten since the last publication"]
    return before, served, []


def source_problems(root: Path, source_dir: Path, source: str, since: str | None,
                    pinned_signers: Path | None = None) -> list[str]:
    """Checks on the source commit before anything is published (see the module docstring)."""
    signers = source_dir / ledger_mod.ALLOWED_SIGNERS_PATH
    if not signers.exists():
        return [f"{ledger_mod.ALLOWED_SIGNERS_PATH}: missing in {source[:12]}; nothing can be verified without it"]
    problems: list[str] = []
    try:
        entries = ledger_mod.read_ledger(source_dir / ledger_mod.LEDGER_PATH, ledger_mod.LEDGER_PATH)
    except LedgerError as exc:
        problems.append(str(exc))
        entries = None
    body_path = source_dir / ledger_mod.CHECKPOINT_PATH
    if body_path.exists():
        body = body_path.read_bytes()
        sig = source_dir / ledger_mod.SIGNATURE_PATH
        if not sig.exists():
            problems.append(f"{ledger_mod.SIGNATURE_PATH}: missing; the checkpoint is unsigned")
        else:
            problems += verify_mod.check_checkpoint_signature(body, sig.read_bytes(), signers)
        try:
            checkpoint = ledger_mod.parse_checkpoint(body)
            if entries is not None:
                problems += verify_mod.check_checkpoint(entries, checkpoint)
        except LedgerError as exc:
            problems.append(str(exc))
    elif entries:
        problems.append(f"{ledger_mod.CHECKPOINT_PATH}: missing, but the ledger has {len(entries)} entries")
    # anchored at the previous publication, --since or the first commit that has a list; never at the tip
    problems += verify_mod.check_commit_signatures(root, pinned_signers or signers, since, source,
                                                   pinned=pinned_signers is not None)
    return problems


def previous_publication_problems(root: Path, previous: str, previous_dir: Path, source_dir: Path
                                  ) -> tuple[list[str], Checkpoint | None]:
    """Checks on the previous publish commit: its commits are signed, its served ledger, checkpoint and
    RCA copies agree, and the source ledger extends its checkpoint. Returns (problems, its checkpoint)."""
    label = f"publish commit {previous[:12]}"
    signers = source_dir / ledger_mod.ALLOWED_SIGNERS_PATH
    problems = verify_mod.check_commit_signatures(root, signers, None, previous, PUBLISHED_LEDGER_PATHS)
    served = previous_dir / ledger_mod.SITE_LEDGER_DIR
    if not (served / "checkpoint").exists():
        return problems + [f"{label}: serves no {ledger_mod.SITE_LEDGER_DIR}/checkpoint; "
                           "it was not made by statusgen publish"], None
    try:
        entries = ledger_mod.read_ledger(served / "rca.jsonl", f"{label}:ledger/rca.jsonl")
        checkpoint = ledger_mod.parse_checkpoint((served / "checkpoint").read_bytes(), f"{label}:ledger/checkpoint")
    except LedgerError as exc:
        return problems + [str(exc)], None
    sig = served / "checkpoint.sig"
    body = (served / "checkpoint").read_bytes()
    problems += verify_mod.check_checkpoint_signature(body, sig.read_bytes() if sig.exists() else b"", signers,
                                                      f"{label}:ledger/checkpoint")
    problems += [f"{label}: {p}" for p in verify_mod.check_checkpoint(entries, checkpoint)]
    problems += [f"{label}: served {p}" for p in verify_mod.check_rca_files(entries,
                                                                           ledger_mod.collect_rca_files(served))]
    try:
        source_entries = ledger_mod.read_ledger(source_dir / ledger_mod.LEDGER_PATH, ledger_mod.LEDGER_PATH)
        problems += verify_mod.check_append_only(source_entries, checkpoint, f"the checkpoint of {label}")
    except LedgerError:
        pass  # already reported by source_problems
    return problems, checkpoint


def publish_message(source: str, checkpoint: Checkpoint, appended: int) -> str:
    return (f"Publish status site from {source[:12]}\n\n"
            f"Source-Commit: {source}\n"
            f"Ledger-Origin: {checkpoint.origin}\n"
            f"Ledger-Size: {checkpoint.size}\n"
            f"Ledger-Root: {base64.b64encode(checkpoint.root).decode()}\n"
            f"Ledger-Appended: {appended}\n")


# --- the whole publication ---------------------------------------------------------------------


def serve_ledger_if_any(root: Path, site_dir: Path) -> None:
    """Serve the RCA ledger (`<site>/ledger/`) when the repository has one, so customers can verify offline.
    A `build_site` extra: `statusgen build` passes it."""
    if not (root / ledger_mod.LEDGER_PATH).exists():
        return
    try:
        ledger_mod.export_ledger(root, site_dir)
    except LedgerError as exc:
        raise BuildFailed(f"the RCA ledger cannot be served: {exc}") from None


def publish(root: Path, key: Path, now: datetime, *, branch: str = DEFAULT_BRANCH, push: str | None = None,
            since: str | None = None) -> PublishResult:
    """Publish the commit checked out in `root` (see the module docstring). Raises PublishRefused."""
    root = Path(root).resolve()
    key = Path(key).resolve()
    try:
        repo = git.Repo(root)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise PublishRefused(f"{root}: not a git repository") from None
    if repo.head.is_detached:
        head_ref = "HEAD"
    else:
        head_ref = repo.head.ref.path
    source = repo.head.commit.hexsha
    dirty = _git(root, "status", "--porcelain", "--", LEDGER_DIR)
    if dirty:
        raise PublishRefused(f"{LEDGER_DIR}/ has uncommitted changes; the ledger is written only by publish",
                             dirty.splitlines())
    previous, local_branch = find_previous_publication(repo, branch, push)

    with tempfile.TemporaryDirectory(prefix="statusgen-publish-") as tmp_name:
        tmp = Path(tmp_name)
        source_dir = tmp / "source"
        _export_tree(root, source, source_dir)
        previous_dir = tmp / "previous"
        if previous and _has_path(root, previous, ledger_mod.SITE_LEDGER_DIR):
            _export_tree(root, previous, previous_dir, ledger_mod.SITE_LEDGER_DIR)
        checked_since, pinned_signers, problems = trust_root(root, repo, previous, previous_dir, source, since)
        problems += source_problems(root, source_dir, source, checked_since, pinned_signers)
        previous_checkpoint = None
        if previous:
            found, previous_checkpoint = previous_publication_problems(root, previous, previous_dir, source_dir)
            problems += found
        if problems:
            raise PublishRefused("verification failed; nothing was published", problems)
        email = signer_email(key, source_dir / ledger_mod.ALLOWED_SIGNERS_PATH)

        try:
            publication = ledger_mod.record_publication(source_dir, checkpoint_origin(source_dir), key, now)
        except LedgerError as exc:
            raise PublishRefused("the ledger could not be recorded; nothing was published", [str(exc)]) from None
        site = tmp / "site"
        try:
            # the checkout's cache: the exported tree is new each time, its files and pages mostly are not
            build_site(source_dir, site, now, extras=[serve_ledger_if_any], cache=Cache.of(root))
        except BuildFailed as failed:
            raise PublishRefused(f"the build failed: {failed}; nothing was published",
                                 [str(p) for p in failed.problems]) from None
        # Re-export with the consistency proof from the checkpoint customers last saw (none when nothing
        # was appended: an empty proof would only make an otherwise identical site differ).
        seen = previous_checkpoint or publication.previous
        if seen is not None and seen.size < publication.checkpoint.size:
            ledger_mod.export_ledger(source_dir, site, seen)
        (site / ".nojekyll").write_bytes(b"")  # GitHub Pages: serve the files as built

        ledger_files = {path: (source_dir / path).read_bytes()
                        for path in (ledger_mod.LEDGER_PATH, ledger_mod.CHECKPOINT_PATH, ledger_mod.SIGNATURE_PATH)}
        ledger_commit = None
        source_tree = _tree_with_files(root, source, ledger_files, tmp / "source.index")
        if source_tree != repo.commit(source).tree.hexsha:
            message = (f"Ledger: publish {len(publication.appended)} RCA revision(s), "
                       f"checkpoint {publication.checkpoint.size}\n")
            ledger_commit = _signed_commit(root, source_tree, [source], message, key, email)

        site_tree = _tree_of_directory(root, site, tmp / "site.index")
        new_source = ledger_commit or source
        if previous and repo.commit(previous).tree.hexsha == site_tree and not ledger_commit:
            commit, unchanged = previous, True
        else:
            commit = _signed_commit(root, site_tree, [previous] if previous else [],
                                    publish_message(new_source, publication.checkpoint, len(publication.appended)),
                                    key, email)
            unchanged = False

    # Move the refs only at the end, each one only if nobody moved it meanwhile.
    if ledger_commit:
        _git(root, "update-ref", "-m", "statusgen publish: ledger", head_ref, ledger_commit, source)
        # The user's index and files follow the new commit for ledger/ only.
        _git(root, "checkout", ledger_commit, "--", LEDGER_DIR)
    if not unchanged or not local_branch:  # a CI checkout gets the local branch it will push
        old = repo.heads[branch].commit.hexsha if local_branch else ""
        _git(root, "update-ref", "-m", "statusgen publish", f"refs/heads/{branch}", commit, old)
    pushed = None
    if push:
        refspecs = [f"{commit}:refs/heads/{branch}"]
        if ledger_commit:
            target = head_ref if head_ref.startswith("refs/heads/") else None
            if target is None:
                raise PublishRefused("HEAD is detached: the ledger commit cannot be pushed to a branch; "
                                     f"push {ledger_commit} to the source branch yourself")
            refspecs.append(f"{ledger_commit}:{target}")
        _git(root, "push", "--atomic", push, *refspecs)
        pushed = push
    return PublishResult(branch, commit, previous, new_source, ledger_commit, publication.checkpoint,
                         publication.appended, pushed, unchanged)
