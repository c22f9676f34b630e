"""The signed history: the Merkle tree of RCA revisions (`merkle`), the append-only ledger and its signed
checkpoints (`ledger`), verification of the ledger and of commit signatures (`verify`) and publishing the
built site as a signed commit (`publish`).

May import `content` and the pipeline (`generator.build`); nothing imports `trust` but the CLI.
"""
