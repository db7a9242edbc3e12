"""Stripe-looking identifiers that are deterministic for a seed.

Real ids are random base62 strings after a type prefix (`cus_`, `sub_`, `in_`...). Here a
per-prefix counter goes through keyed 64-bit bijections (an odd multiplier, an offset and
an xor, modulo 2**64), so the same seed gives the same ids, two ids of a prefix never
collide (the first 11 characters alone are unique), and their order says nothing about
time, like Stripe's: nobody can page by id instead of by `created`. Ids are made in
vectorised blocks (millions are needed for big accounts).
"""

from __future__ import annotations

import hashlib

import numpy as np

_ALPHABET = np.frombuffer(
    b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", dtype=np.uint8
)
LENGTHS = {"cus": 14, "req": 14}
DEFAULT_LENGTH = 24
MAX_BLOCK = 4096


def _digits(values: np.ndarray, count: int) -> np.ndarray:
    """(n, count) base62 digit characters of uint64 values, low digit first."""
    out = np.empty((values.size, count), dtype=np.uint8)
    rest = values.copy()
    for position in range(count):
        out[:, position] = _ALPHABET[rest % 62]
        rest //= 62
    return out


class IdFactory:
    """Hands out ids per prefix: `new('cus')` -> 'cus_Q2x...'."""

    def __init__(self, seed: int) -> None:
        self._seed = seed
        self._keys: dict[str, np.ndarray] = {}
        self._made: dict[str, int] = {}
        self._ready: dict[str, list[str]] = {}

    def new(self, prefix: str) -> str:
        ready = self._ready.get(prefix)
        if not ready:
            ready = self._ready[prefix] = self._block(prefix)
        return ready.pop()

    def _block(self, prefix: str) -> list[str]:
        keys = self._keys.get(prefix)
        if keys is None:
            digest = hashlib.blake2b(f"{self._seed}:{prefix}".encode(), digest_size=48).digest()
            keys = self._keys[prefix] = np.frombuffer(digest, dtype=">u8").astype(np.uint64)
            keys[0] |= np.uint64(1)
            keys[3] |= np.uint64(1)
        start = self._made.get(prefix, 0)
        size = min(MAX_BLOCK, max(64, start))  # small for rare prefixes, then doubling
        self._made[prefix] = start + size
        counters = np.arange(start, start + size, dtype=np.uint64)
        with np.errstate(over="ignore"):
            first = (counters * keys[0] + keys[1]) ^ keys[2]
            second = (counters * keys[3] + keys[4]) ^ keys[5]
        length = LENGTHS.get(prefix, DEFAULT_LENGTH)
        chars = np.concatenate(
            [_digits(first, 11), _digits(second, 11), _digits(first ^ second, 2)], axis=1
        )[:, :length]
        text = np.ascontiguousarray(chars).view(f"S{length}").ravel()
        head = prefix + "_"
        ids = [head + raw.decode() for raw in text.tolist()]
        ids.reverse()  # pop() hands them out in counter order
        return ids
