"""The Merkle tree agrees with the RFC 6962 reference vectors used by certificate-transparency logs."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from generator.trust import merkle

# The eight leaves of the CT reference test data.
LEAVES = [bytes.fromhex(h) for h in (
    "", "00", "10", "2021", "3031", "40414243", "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
)]

# ROOTS[n] is MTH(D[0:n]).
ROOTS = [bytes.fromhex(h) for h in (
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
)]


def _hx(*hashes: str) -> list[bytes]:
    return [bytes.fromhex(h) for h in hashes]


INCLUSION_VECTORS = [
    (0, 1, []),
    (0, 8, _hx("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
               "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
               "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4")),
    (5, 8, _hx("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
               "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
               "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7")),
    (2, 3, _hx("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125")),
    (1, 5, _hx("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
               "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
               "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b")),
]

CONSISTENCY_VECTORS = [
    (1, 1, []),
    (1, 8, _hx("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
               "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
               "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4")),
    (6, 8, _hx("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
               "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
               "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7")),
    (2, 5, _hx("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
               "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b")),
]


@pytest.mark.parametrize("size", range(0, 9))
def test_root_matches_reference_vector(size):
    assert merkle.root(LEAVES[:size]) == ROOTS[size]


@pytest.mark.parametrize("index,size,expected", INCLUSION_VECTORS)
def test_inclusion_proof_matches_reference_vector(index, size, expected):
    assert merkle.inclusion_proof(LEAVES[:size], index) == expected


@pytest.mark.parametrize("index,size,proof", INCLUSION_VECTORS)
def test_reference_inclusion_proof_verifies(index, size, proof):
    assert merkle.verify_inclusion(LEAVES[index], index, size, proof, ROOTS[size])


@pytest.mark.parametrize("index,size,proof", [v for v in INCLUSION_VECTORS if v[2]])
def test_reference_inclusion_proof_fails_for_wrong_index_size_leaf_or_root(index, size, proof):
    root = ROOTS[size]
    leaf = LEAVES[index]
    assert not merkle.verify_inclusion(leaf, index + 1, size, proof, root)
    assert not merkle.verify_inclusion(leaf, index, size * 2, proof, root)
    assert not merkle.verify_inclusion(b"WrongLeaf", index, size, proof, root)
    assert not merkle.verify_inclusion(leaf, index, size, proof, merkle.EMPTY_ROOT)
    assert not merkle.verify_inclusion(leaf, index, size, proof[:-1], root)
    assert not merkle.verify_inclusion(leaf, index, size, proof + [root], root)
    assert not merkle.verify_inclusion(leaf, index, size, [root] + proof, root)


@pytest.mark.parametrize("old,new,expected", CONSISTENCY_VECTORS)
def test_consistency_proof_matches_reference_vector(old, new, expected):
    assert merkle.consistency_proof(LEAVES[:new], old) == expected


@pytest.mark.parametrize("old,new,proof", CONSISTENCY_VECTORS)
def test_reference_consistency_proof_verifies(old, new, proof):
    assert merkle.verify_consistency(old, new, ROOTS[old], ROOTS[new], proof)


@pytest.mark.parametrize("old,new,proof", [v for v in CONSISTENCY_VECTORS if v[2]])
def test_reference_consistency_proof_fails_for_wrong_sizes_roots_or_path(old, new, proof):
    r1, r2 = ROOTS[old], ROOTS[new]
    assert not merkle.verify_consistency(old - 1, new, r1, r2, proof)
    assert not merkle.verify_consistency(old + 1, new, r1, r2, proof)
    assert not merkle.verify_consistency(old, new * 2, r1, r2, proof)
    assert not merkle.verify_consistency(old, new, r2, r1, proof)
    assert not merkle.verify_consistency(old, new, merkle.EMPTY_ROOT, r2, proof)
    assert not merkle.verify_consistency(old, new, r1, r2, [])
    assert not merkle.verify_consistency(old, new, r1, r2, proof[:-1])
    assert not merkle.verify_consistency(old, new, r1, r2, proof + [r1])


def test_shrinking_tree_is_never_consistent():
    assert not merkle.verify_consistency(2, 1, ROOTS[2], ROOTS[1], [])


def test_inclusion_proof_rejects_index_outside_tree():
    with pytest.raises(ValueError, match="outside a tree of size 3"):
        merkle.inclusion_proof(LEAVES[:3], 3)


leaves_st = st.lists(st.binary(max_size=16), min_size=1, max_size=40)


def _flip(proof: list[bytes], which: int, byte: int) -> list[bytes]:
    tampered = list(proof)
    h = bytearray(tampered[which])
    h[byte] ^= 0x01
    tampered[which] = bytes(h)
    return tampered


@settings(max_examples=200, deadline=None)
@given(leaves=leaves_st, data=st.data())
def test_every_generated_inclusion_proof_verifies_and_a_flipped_byte_fails(leaves, data):
    index = data.draw(st.integers(0, len(leaves) - 1))
    root = merkle.root(leaves)
    proof = merkle.inclusion_proof(leaves, index)
    assert merkle.verify_inclusion(leaves[index], index, len(leaves), proof, root)
    if proof:
        which = data.draw(st.integers(0, len(proof) - 1))
        byte = data.draw(st.integers(0, merkle.HASH_SIZE - 1))
        assert not merkle.verify_inclusion(leaves[index], index, len(leaves), _flip(proof, which, byte), root)
    assert not merkle.verify_inclusion(leaves[index] + b"x", index, len(leaves), proof, root)


@settings(max_examples=200, deadline=None)
@given(leaves=leaves_st, data=st.data())
def test_every_generated_consistency_proof_verifies_and_a_flipped_byte_fails(leaves, data):
    old = data.draw(st.integers(1, len(leaves)))
    old_root, new_root = merkle.root(leaves[:old]), merkle.root(leaves)
    proof = merkle.consistency_proof(leaves, old)
    assert merkle.verify_consistency(old, len(leaves), old_root, new_root, proof)
    if proof:
        which = data.draw(st.integers(0, len(proof) - 1))
        byte = data.draw(st.integers(0, merkle.HASH_SIZE - 1))
        assert not merkle.verify_consistency(old, len(leaves), old_root, new_root, _flip(proof, which, byte))


@settings(max_examples=100, deadline=None)
@given(leaves=leaves_st, data=st.data())
def test_rewritten_history_is_not_consistent(leaves, data):
    # An operator who edits an old leaf and re-roots cannot prove the new tree extends the old one.
    old = data.draw(st.integers(1, len(leaves)))
    victim = data.draw(st.integers(0, old - 1))
    rewritten = list(leaves)
    rewritten[victim] = leaves[victim] + b"edited"
    proof = merkle.consistency_proof(rewritten, old)
    assert not merkle.verify_consistency(old, len(leaves), merkle.root(leaves[:old]), merkle.root(rewritten), proof)
