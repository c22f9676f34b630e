"""statusgen: a Git-based multilingual status page and SLA toolkit."""
__version__ = "0.1.0"
