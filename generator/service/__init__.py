"""The parts that run as a process or talk to the outside: the status API (`api`, with the self-service
subscription routes in `api/subscriptions`), customer notifications (`notifier`) over the channels
(`channels`: e-mail, webhook, Slack, Teams), signed webhook delivery (`webhook`), the subscriber database and
delivery ledger (`subscriptions`: SQLAlchemy models, Alembic migrations, signed links) and the ticket <->
incident sync (`ticketsync`).

May import everything below it (`content`, `sla`, `comms`, `render`, `generator.check`); the API never imports
the sync: it calls the write listeners it is given (the CLI registers the sync's outbox).
"""
