"""Stripe-looking identifiers that are deterministic for a seed.

Real ids are random base62 strings after a type prefix (`cus_`, `sub_`, `in_`...). Here a
per-prefix counter goes through a keyed bijection (an affine map and an xor modulo a power
of two), so the same seed gives the same ids, two ids never collide, and their order says
nothing about time (like Stripe's: nobody can page by id instead of by `created`).
"""

from __future__ import annotations

import hashlib
import math

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
# three base62 digits at a time (low digit first): a third of the big-integer divisions
_TRIPLES = [a + b + c for c in _ALPHABET for b in _ALPHABET for a in _ALPHABET]
LENGTHS = {"cus": 14, "req": 14}
DEFAULT_LENGTH = 24


class IdFactory:
    """Hands out ids per prefix: `new('cus')` -> 'cus_Q2x...'."""

    def __init__(self, seed: int) -> None:
        self._seed = seed
        self._state: dict[str, list[int]] = {}

    def _params(self, prefix: str) -> list[int]:
        length = LENGTHS.get(prefix, DEFAULT_LENGTH)
        bits = int(length * math.log2(62))
        digest = hashlib.blake2b(f"{self._seed}:{prefix}".encode(), digest_size=64).digest()
        modulus = 1 << bits
        mult = int.from_bytes(digest[:21], "big") % modulus | 1
        add = int.from_bytes(digest[21:42], "big") % modulus
        xor = int.from_bytes(digest[42:], "big") % modulus
        return [0, mult, add, xor, modulus, length]

    def new(self, prefix: str) -> str:
        state = self._state.get(prefix)
        if state is None:
            state = self._state[prefix] = self._params(prefix)
        counter, mult, add, xor, modulus, length = state
        state[0] = counter + 1
        value = ((counter * mult + add) % modulus) ^ xor
        chars = []
        for _ in range(length // 3):
            value, rest = divmod(value, 238_328)
            chars.append(_TRIPLES[rest])
        for _ in range(length % 3):
            value, rest = divmod(value, 62)
            chars.append(_ALPHABET[rest])
        return prefix + "_" + "".join(chars)
