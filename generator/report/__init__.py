"""The monthly SLA report of support tickets, per tenant and per region (private: never on the public site)."""
