"""RFC 9162 (Certificate Transparency v2) Merkle tree hashes and proofs over SHA-256.

Pure functions over bytes, used by the RCA ledger: the ledger lines are the leaves, the
checkpoint carries the root, and customers check inclusion and consistency proofs against it.
Proof generation follows RFC 9162 section 2.1.3.1 / 2.1.4.1 (the recursive PATH and SUBPROOF
definitions); verification follows the iterative algorithms of sections 2.1.3.2 / 2.1.4.2.
"""
from __future__ import annotations

import hashlib
from collections.abc import Sequence

HASH_SIZE = 32
# MTH({}) is the hash of the empty string (RFC 9162 2.1.1).
EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(leaf: bytes) -> bytes:
    """MTH of a single leaf: SHA-256(0x00 || leaf)."""
    return hashlib.sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Interior node: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly smaller than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def _mth(hashes: Sequence[bytes]) -> bytes:
    # Works on leaf hashes so proofs do not rehash every leaf at every level.
    n = len(hashes)
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return hashes[0]
    k = _split(n)
    return node_hash(_mth(hashes[:k]), _mth(hashes[k:]))


def root(leaves: Sequence[bytes]) -> bytes:
    """The Merkle tree head MTH(D[n]) of the given leaves (raw leaf bytes, not hashes)."""
    return _mth([leaf_hash(leaf) for leaf in leaves])


def _path(m: int, hashes: Sequence[bytes]) -> list[bytes]:
    n = len(hashes)
    if n <= 1:
        return []
    k = _split(n)
    if m < k:
        return _path(m, hashes[:k]) + [_mth(hashes[k:])]
    return _path(m - k, hashes[k:]) + [_mth(hashes[:k])]


def inclusion_proof(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """PATH(index, D[n]): the audit path proving leaf `index` is in the tree of `leaves`."""
    if not 0 <= index < len(leaves):
        raise ValueError(f"leaf index {index} is outside a tree of size {len(leaves)}")
    return _path(index, [leaf_hash(leaf) for leaf in leaves])


def _root_from_inclusion(leaf_digest: bytes, index: int, size: int, proof: Sequence[bytes]) -> bytes | None:
    # RFC 9162 2.1.3.2; returns None where the algorithm says "fail".
    if index >= size or index < 0:
        return None
    fn, sn = index, size - 1
    r = leaf_digest
    for p in proof:
        if len(p) != HASH_SIZE or sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        return None
    return r


def verify_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes], root_hash: bytes) -> bool:
    """True when `proof` shows that `leaf` (raw bytes) is leaf `index` of the tree of `size` with `root_hash`."""
    computed = _root_from_inclusion(leaf_hash(leaf), index, size, proof)
    return computed is not None and computed == root_hash


def _subproof(m: int, hashes: Sequence[bytes], whole: bool) -> list[bytes]:
    n = len(hashes)
    if m == n:
        return [] if whole else [_mth(hashes)]
    k = _split(n)
    if m <= k:
        return _subproof(m, hashes[:k], whole) + [_mth(hashes[k:])]
    return _subproof(m - k, hashes[k:], False) + [_mth(hashes[:k])]


def consistency_proof(leaves: Sequence[bytes], old_size: int) -> list[bytes]:
    """PROOF(old_size, D[n]): shows the tree of the first `old_size` leaves is a prefix of `leaves`."""
    if not 0 <= old_size <= len(leaves):
        raise ValueError(f"old size {old_size} is outside 0..{len(leaves)}")
    if old_size == 0:
        # Every tree extends the empty tree; RFC 9162 defines no proof for it.
        return []
    return _subproof(old_size, [leaf_hash(leaf) for leaf in leaves], True)


def verify_consistency(old_size: int, new_size: int, old_root: bytes, new_root: bytes,
                       proof: Sequence[bytes]) -> bool:
    """True when `proof` shows the tree (old_size, old_root) is a prefix of (new_size, new_root)."""
    if old_size < 0 or new_size < old_size:
        return False
    if any(len(c) != HASH_SIZE for c in proof):
        return False
    if old_size == 0:
        return not proof
    if old_size == new_size:
        return not proof and old_root == new_root
    if not proof:
        return False
    path = list(proof)
    # RFC 9162 2.1.4.2 step 2: a power-of-two old tree is itself a node of the new one.
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root
