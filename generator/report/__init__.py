"""The monthly SLA report of support tickets, per tenant and per region (private: never on the public site).

Reads the ticket export (`tickets`), evaluates clocks with `sla`, renders Markdown/JSON/HTML. May import
`content`, `sla` and `generator.localtime`.
"""
