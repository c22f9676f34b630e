"""The subscriber database's tables (SQLAlchemy 2); Alembic migrations in `migrations/` create them."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, Integer, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Subscriber(Base):
    """Someone who asked for notifications: an e-mail address or a webhook/Slack/Teams URL.

    `pending` until the address is proven (e-mail link, channel link, webhook challenge), then `active`;
    `unsubscribed` rows are kept so that a late click on an old link does nothing surprising."""

    __tablename__ = "subscribers"
    __table_args__ = (UniqueConstraint("kind", "target", name="uq_subscribers_kind_target"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))  # a channel kind: email, webhook, slack, teams
    target: Mapped[str] = mapped_column(String(2048))  # the address or URL
    language: Mapped[str] = mapped_column(String(8))
    components: Mapped[list] = mapped_column(JSON, default=list)  # component ids; empty: every component
    regions: Mapped[list] = mapped_column(JSON, default=list)  # region ids; empty: every region
    state: Mapped[str] = mapped_column(String(16), default="pending")  # pending | active | unsubscribed
    secret: Mapped[str | None] = mapped_column(String(128), nullable=True)  # HMAC key of a webhook subscriber
    generation: Mapped[int] = mapped_column(Integer, default=1)  # bumped on each (re)subscription: old links die
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    unsubscribed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Delivery(Base):
    """One message to one recipient: a row per delivery key is the atomic claim that makes it happen once.

    `claimed` by the run whose `owner` is writing it, `sent` when the recipient accepted it. A claim whose
    owner died (a killed run) is taken over by the next run."""

    __tablename__ = "deliveries"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    state: Mapped[str] = mapped_column(String(16))  # claimed | sent
    owner: Mapped[str] = mapped_column(String(200))  # host:pid:nonce of the claiming run
    claimed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    notice: Mapped[str] = mapped_column(String(300))  # e.g. incident.update 2025-10-02-kr-ingest-latency #2
    channel: Mapped[str] = mapped_column(String(16))
    target: Mapped[str] = mapped_column(String(2048))
    attempts: Mapped[int] = mapped_column(Integer, default=0)


class Suppression(Base):
    """An operator-managed recipient (tenants.yaml) who used a one-click unsubscribe link."""

    __tablename__ = "suppressions"

    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    target: Mapped[str] = mapped_column(String(2048), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
