"""The one place that opens, migrates, reads and writes the subscriber database.

SQLite by default (a file under the repository, `notifications.database` of status.yaml), PostgreSQL when
that setting or $STATUSGEN_DATABASE_URL is a URL. Opening runs the Alembic migrations up to the newest
revision, serialized across processes (an flock beside a SQLite file, an advisory lock on PostgreSQL).
"""
from __future__ import annotations

import fcntl
import os
import secrets
import socket
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import create_engine, delete, event, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker

from .models import Delivery, Subscriber, Suppression

DATABASE_ENV = "STATUSGEN_DATABASE_URL"
MIGRATIONS = Path(__file__).parent / "migrations"
# A claim whose owner cannot be checked (another host) is taken over after this long.
CLAIM_LEASE = timedelta(minutes=10)
Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


def database_url(root: Path, setting: str) -> str:
    """The SQLAlchemy URL of the database: $STATUSGEN_DATABASE_URL, else the status.yaml setting."""
    value = os.environ.get(DATABASE_ENV) or setting
    if "://" not in value:
        path = Path(value) if Path(value).is_absolute() else Path(root).resolve() / value
        return f"sqlite:///{path}"
    # psycopg 3 is the driver statusgen installs; the bare scheme would ask SQLAlchemy for psycopg2.
    for bare in ("postgresql://", "postgres://"):
        if value.startswith(bare):
            return "postgresql+psycopg://" + value[len(bare):]
    return value


@dataclass(frozen=True)
class Claim:
    """The outcome of trying to claim a delivery."""

    claimed: bool
    state: str  # new | taken-over | sent | busy (another live run holds it)


class SubscriberStore:
    def __init__(self, url: str, now: Clock = _utc_now):
        self.url = url
        self.now = now
        self.engine: Engine = create_engine(url, **_engine_options(url))
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        # host:pid:nonce: a later run on this host can tell whether the process is still alive.
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"

    @classmethod
    def open(cls, root: Path, setting: str, now: Clock = _utc_now) -> "SubscriberStore":
        store = cls(database_url(root, setting), now)
        store.upgrade()
        return store

    def close(self) -> None:
        self.engine.dispose()

    # ------------------------------------------------------------ schema

    def upgrade(self, revision: str = "head") -> None:
        """Run the Alembic migrations up to `revision`; concurrent openers wait for each other."""
        self._migrate(command.upgrade, revision)

    def downgrade(self, revision: str) -> None:
        """Undo migrations down to `revision` ("base": an empty database)."""
        self._migrate(command.downgrade, revision)

    def _migrate(self, step, revision: str) -> None:
        config = AlembicConfig()
        config.set_main_option("script_location", str(MIGRATIONS))
        with self._migration_lock(), self.engine.begin() as connection:
            if self.engine.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(72140001)"))
            config.attributes["connection"] = connection
            step(config, revision)

    def revision(self) -> str | None:
        with self.engine.connect() as connection:
            try:
                return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
            except Exception:
                return None

    @contextmanager
    def _migration_lock(self):
        if self.engine.dialect.name != "sqlite" or self.engine.url.database in (None, "", ":memory:"):
            yield
            return
        database = Path(self.engine.url.database)
        database.parent.mkdir(parents=True, exist_ok=True)
        with open(f"{database}.migrate.lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield

    # ------------------------------------------------------------ subscribers

    def subscribe(self, kind: str, target: str, language: str, components: list[str], regions: list[str],
                  secret: str | None = None, replace_active: bool = False) -> Subscriber:
        """A pending subscription (a new row, or a fresh generation of a known one: old links stop working).

        An active subscription is left as it is unless `replace_active` (the caller proves control of the
        address again at once, as a webhook challenge does): a stranger cannot change someone's choices."""
        with self.sessions.begin() as session:
            row = session.scalar(select(Subscriber).where(Subscriber.kind == kind, Subscriber.target == target))
            if row is not None and row.state == "active" and not replace_active:
                return row
            if row is None:
                row = Subscriber(kind=kind, target=target, generation=1, created_at=self.now())
                session.add(row)
            else:
                row.generation += 1
            row.language, row.components, row.regions = language, list(components), list(regions)
            row.secret = secret
            if row.state != "active":
                row.state, row.confirmed_at, row.unsubscribed_at = "pending", None, None
            session.flush()
            return row

    def get(self, subscriber_id: int) -> Subscriber | None:
        with self.sessions() as session:
            return session.get(Subscriber, subscriber_id)

    def confirm(self, subscriber_id: int, generation: int) -> Subscriber | None:
        with self.sessions.begin() as session:
            row = session.get(Subscriber, subscriber_id)
            if row is None or row.generation != generation or row.state == "unsubscribed":
                return None
            if row.state == "pending":
                row.state, row.confirmed_at = "active", self.now()
            return row

    def unsubscribe(self, subscriber_id: int) -> Subscriber | None:
        with self.sessions.begin() as session:
            row = session.get(Subscriber, subscriber_id)
            if row is None:
                return None
            if row.state != "unsubscribed":
                row.state, row.unsubscribed_at = "unsubscribed", self.now()
            return row

    def active(self) -> list[Subscriber]:
        with self.sessions() as session:
            return list(session.scalars(select(Subscriber).where(Subscriber.state == "active")
                                        .order_by(Subscriber.id)))

    def add_active(self, rows: list[dict]) -> None:
        """Insert already-confirmed subscribers in bulk (imports, benchmarks)."""
        now = self.now()
        with self.sessions.begin() as session:
            session.add_all(Subscriber(generation=1, created_at=now, confirmed_at=now, state="active",
                                       components=[], regions=[], **row) for row in rows)

    # ------------------------------------------------------------ suppressions (tenants.yaml recipients)

    def suppress(self, channel: str, target: str) -> None:
        with self.sessions.begin() as session:
            if session.get(Suppression, (channel, target)) is None:
                session.add(Suppression(channel=channel, target=target, created_at=self.now()))

    def suppressed(self) -> set[tuple[str, str]]:
        with self.sessions() as session:
            return {(s.channel, s.target) for s in session.scalars(select(Suppression))}

    # ------------------------------------------------------------ the delivery ledger

    def claim(self, key: str, notice: str, channel: str, target: str) -> Claim:
        """Atomically claim one delivery: exactly one run, in any process, gets `claimed=True`."""
        now = self.now()
        values = dict(key=key, state="claimed", owner=self.owner, claimed_at=now, notice=notice[:300],
                      channel=channel, target=target, attempts=0)
        insert = pg_insert if self.engine.dialect.name == "postgresql" else sqlite_insert
        with self.sessions.begin() as session:
            # RETURNING names the row only when this statement inserted it (rowcount is not reliable here).
            inserted = session.execute(insert(Delivery).values(**values).on_conflict_do_nothing()
                                       .returning(Delivery.key)).scalar()
            if inserted is not None:
                return Claim(True, "new")
            row = session.get(Delivery, key)
            if row.state == "sent":
                return Claim(False, "sent")
            if row.owner == self.owner or _owner_alive(row.owner, _aware(row.claimed_at), now):
                return Claim(False, "busy")
            # The owner is gone: take the claim over, unless another run got there first.
            taken = session.execute(update(Delivery).where(Delivery.key == key, Delivery.owner == row.owner,
                                                           Delivery.state == "claimed")
                                    .values(owner=self.owner, claimed_at=now).returning(Delivery.key)).scalar()
            return Claim(taken is not None, "taken-over" if taken is not None else "busy")

    def adopt_sent(self, key: str, notice: str, channel: str, target: str) -> bool:
        """Record as sent a delivery an older statusgen sent (its JSONL record); False if already known."""
        insert = pg_insert if self.engine.dialect.name == "postgresql" else sqlite_insert
        now = self.now()
        with self.sessions.begin() as session:
            return session.execute(insert(Delivery).values(
                key=key, state="sent", owner="legacy record", claimed_at=now, sent_at=now, notice=notice[:300],
                channel=channel, target=target, attempts=1).on_conflict_do_nothing()
                .returning(Delivery.key)).scalar() is not None

    def mark_sent(self, key: str, attempts: int) -> None:
        with self.sessions.begin() as session:
            session.execute(update(Delivery).where(Delivery.key == key, Delivery.owner == self.owner)
                            .values(state="sent", sent_at=self.now(), attempts=attempts))

    def release(self, key: str) -> None:
        """Give a failed delivery back: the next run tries it again."""
        with self.sessions.begin() as session:
            session.execute(delete(Delivery).where(Delivery.key == key, Delivery.owner == self.owner,
                                                   Delivery.state == "claimed"))

    def sent_keys(self) -> set[str]:
        with self.sessions() as session:
            return set(session.scalars(select(Delivery.key).where(Delivery.state == "sent")))

    def deliveries(self) -> list[Delivery]:
        with self.sessions() as session:
            return list(session.scalars(select(Delivery).order_by(Delivery.claimed_at)))


def _aware(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes even for timezone-aware columns; they were written in UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _owner_alive(owner: str, claimed_at: datetime, now: datetime) -> bool:
    host, _, rest = owner.partition(":")
    pid = rest.partition(":")[0]
    if host == socket.gethostname() and pid.isdigit():
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    return now - claimed_at < CLAIM_LEASE


def _engine_options(url: str) -> dict:
    if url.startswith("sqlite"):
        # Several notify processes and the API write to one file: wait for the lock instead of failing.
        return {"connect_args": {"timeout": 60, "check_same_thread": False}}
    return {"pool_pre_ping": True}


def _sqlite_pragmas(connection, _record) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # In WAL mode NORMAL skips the fsync of each commit: a commit survives a killed process (what the claims
    # must survive) but may roll back on power loss. Each delivery is two commits, and a full fsync each
    # made the fan-out disk-bound (docs/notifications.md); PostgreSQL is the choice for more durability.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=60000")
    cursor.close()
