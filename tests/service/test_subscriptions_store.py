"""The subscriber database on SQLite (always) and on a real PostgreSQL (started by the test setup)."""
from __future__ import annotations

import threading
import uuid

import pytest
from sqlalchemy import create_engine, text

from db_support import postgres_url  # noqa: F401 - fixture
from generator.service.subscriptions.store import SubscriberStore, database_url


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    if request.param == "sqlite":
        url = database_url(tmp_path, ".statusgen/subscribers.sqlite")
    else:
        base = request.getfixturevalue("postgres_url")
        name = f"t_{uuid.uuid4().hex[:12]}"  # one database per test: nothing leaks between them
        admin = create_engine(database_url(tmp_path, base), isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f"CREATE DATABASE {name}"))
        admin.dispose()
        url = database_url(tmp_path, base.rsplit("/", 1)[0] + f"/{name}")
    opened = SubscriberStore(url)
    opened.upgrade()
    yield opened
    opened.close()


def test_database_url_is_a_file_under_the_repository_or_the_url_given(tmp_path, monkeypatch):
    monkeypatch.delenv("STATUSGEN_DATABASE_URL", raising=False)
    assert database_url(tmp_path, ".statusgen/s.sqlite") == f"sqlite:///{tmp_path.resolve()}/.statusgen/s.sqlite"
    assert database_url(tmp_path, "postgresql://db.internal/status") == "postgresql+psycopg://db.internal/status"
    monkeypatch.setenv("STATUSGEN_DATABASE_URL", "postgresql://other/status")
    assert database_url(tmp_path, ".statusgen/s.sqlite") == "postgresql+psycopg://other/status"


def test_migrations_bring_an_empty_database_to_the_newest_revision_and_are_idempotent(store):
    assert store.revision() == "0001"
    store.upgrade()
    assert store.revision() == "0001"
    store.downgrade("base")
    assert store.revision() is None
    store.upgrade()
    assert store.revision() == "0001"


def test_a_subscription_is_pending_until_confirmed_and_old_links_die_on_resubscription(store):
    row = store.subscribe("email", "a@customer.example.com", "ja", ["kr-ingest"], [])
    assert row.state == "pending" and store.active() == []
    again = store.subscribe("email", "a@customer.example.com", "en", [], ["JP"])
    assert again.id == row.id and again.generation == 2
    assert store.confirm(row.id, 1) is None  # the first mail's link
    assert store.confirm(row.id, 2).state == "active"
    assert [(s.target, s.language, s.regions) for s in store.active()] == [("a@customer.example.com", "en", ["JP"])]
    # A stranger cannot change an active subscriber's choices by subscribing the address again.
    store.subscribe("email", "a@customer.example.com", "ko", [], [])
    assert store.active()[0].language == "en"
    store.unsubscribe(row.id)
    assert store.active() == [] and store.confirm(row.id, 2) is None


def test_exactly_one_of_many_concurrent_claims_wins(store):
    others = [SubscriberStore(store.url) for _ in range(8)]
    results = []
    barrier = threading.Barrier(len(others))

    def claim(other):
        barrier.wait()
        results.append(other.claim("delivery-1", "incident.first x", "email", "a@example.com").claimed)

    threads = [threading.Thread(target=claim, args=(other,)) for other in others]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for other in others:
        other.close()
    assert sorted(results) == [False] * 7 + [True], results


def test_a_sent_delivery_is_never_claimed_again_and_a_released_one_is(store):
    assert store.claim("k", "n", "email", "a@example.com").claimed
    store.release("k")
    assert store.claim("k", "n", "email", "a@example.com").state == "new"
    store.mark_sent("k", 2)
    assert store.claim("k", "n", "email", "a@example.com").state == "sent"
    assert store.sent_keys() == {"k"}


def test_a_claim_of_a_dead_process_is_taken_over(store):
    import socket

    dead = SubscriberStore(store.url)
    dead.owner = f"{socket.gethostname()}:999999999:gone"  # no such pid
    assert dead.claim("k", "n", "email", "a@example.com").claimed
    assert store.claim("k", "n", "email", "a@example.com").state == "taken-over"
    dead.close()


def test_suppressions_are_kept_per_channel_and_address(store):
    store.suppress("email", "ops@tenant.example.com")
    store.suppress("email", "ops@tenant.example.com")
    assert store.suppressed() == {("email", "ops@tenant.example.com")}
