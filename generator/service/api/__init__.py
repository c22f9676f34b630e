"""The status API: HTTP requests -> validated incident files -> one commit per write.

Git stays the source of truth: every accepted change is written as the same incident file an engineer
would commit, checked with the rules of `statusgen check`, and committed.
"""
