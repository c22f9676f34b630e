"""The parts that run as a process or talk to the outside: the status API (`api`), customer notifications by
e-mail and webhook (`notifier`), signed webhook delivery (`webhook`) and the ticket <-> incident sync
(`ticketsync`).

May import everything below it (`content`, `sla`, `comms`, `render`, `generator.check`); the API never imports
the sync: it calls the write listeners it is given (the CLI registers the sync's outbox).
"""
