"""The status API, the customer notifier and the ticket sync: the imperative shell around the content files.

Git stays the source of truth: every accepted change is written as the same incident file an engineer
would commit, validated with the rules of `statusgen check`, and committed.
"""
