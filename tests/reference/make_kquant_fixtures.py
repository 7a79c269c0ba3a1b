#!/usr/bin/env python3
"""Writes tests/data/kquants.json: random GGML quant blocks and their float32 dequantisation.

The expected values come from the numpy reference dequantisers in the `gguf` package
(gguf/quants.py), which follow ggml's C reference. Only needed to regenerate the fixture:

    python3 -m venv /tmp/venv && /tmp/venv/bin/pip install gguf numpy
    /tmp/venv/bin/python tests/reference/make_kquant_fixtures.py

Fixture layout:
    {"generator": ..., "cases": [{"type": "Q4_K", "name": ..., "elements": N,
      "bytes": "<hex of the raw blocks>", "expected": "<8 hex digits per float32 bit pattern>"}]}
Each expected float is written as its IEEE-754 bit pattern (big-endian hex of the uint32), so the
test can compare exactly without decimal round trips.
"""
from __future__ import annotations

import json
import pathlib

import numpy as np
from gguf import GGMLQuantizationType as T
from gguf import quants

OUT = pathlib.Path(__file__).resolve().parents[1] / "data" / "kquants.json"

# type -> (elements per block, bytes per block, byte offsets of f16 scale fields)
LAYOUT = {
    "Q8_0": (32, 34, [0]),
    "Q4_0": (32, 18, [0]),
    "Q5_0": (32, 22, [0]),
    "Q4_K": (256, 144, [0, 2]),     # d, dmin
    "Q5_K": (256, 176, [0, 2]),     # d, dmin
    "Q6_K": (256, 210, [208]),      # d (ql, qh, scales come first)
}
QTYPE = {"Q8_0": T.Q8_0, "Q4_0": T.Q4_0, "Q5_0": T.Q5_0, "Q4_K": T.Q4_K, "Q5_K": T.Q5_K, "Q6_K": T.Q6_K}


def sane_f16(rng: np.random.Generator) -> np.ndarray:
    """A finite f16 scale of a size real models use, either sign."""
    mag = 10.0 ** rng.uniform(-4.5, -0.5)
    return np.array([mag * rng.choice([-1.0, 1.0])], dtype=np.float16)


def random_blocks(rng: np.random.Generator, qtype: str, nblocks: int, scale_mode: str) -> bytes:
    _, size, scale_offsets = LAYOUT[qtype]
    raw = bytearray(rng.integers(0, 256, size=size * nblocks, dtype=np.uint8).tobytes())
    for b in range(nblocks):
        for off in scale_offsets:
            if scale_mode == "sane":
                h = sane_f16(rng)
            elif scale_mode == "zero":
                h = np.array([0.0], dtype=np.float16)
            elif scale_mode == "subnormal":
                h = np.array([rng.integers(1, 0x3FF)], dtype=np.uint16).view(np.float16)
            elif scale_mode == "large":
                h = np.array([rng.choice([-1.0, 1.0]) * rng.uniform(100.0, 60000.0)], dtype=np.float16)
            else:
                raise ValueError(scale_mode)
            raw[b * size + off: b * size + off + 2] = h.tobytes()
    return bytes(raw)


def all_ones_blocks(qtype: str) -> bytes:
    """Every quant and scale bit set, with scale fields 1.0 (extremes of every field)."""
    _, size, scale_offsets = LAYOUT[qtype]
    raw = bytearray(b"\xff" * size)
    for off in scale_offsets:
        raw[off: off + 2] = np.array([1.0], dtype=np.float16).tobytes()
    return bytes(raw)


def dequant(qtype: str, raw: bytes) -> np.ndarray:
    data = np.frombuffer(raw, dtype=np.uint8)
    out = quants.dequantize(data, QTYPE[qtype])
    return np.asarray(out, dtype=np.float32).reshape(-1)


def main() -> None:
    rng = np.random.default_rng(20240501)
    cases = []

    def add(qtype: str, name: str, raw: bytes) -> None:
        y = dequant(qtype, raw)
        block, size, _ = LAYOUT[qtype]
        assert len(raw) % size == 0 and y.size == len(raw) // size * block
        cases.append({
            "type": qtype,
            "name": name,
            "elements": int(y.size),
            "bytes": raw.hex(),
            "expected": y.astype(">f4").tobytes().hex(),
        })

    for qtype in LAYOUT:
        block = LAYOUT[qtype][0]
        nsane = 3 if block == 256 else 8
        add(qtype, "single block", random_blocks(rng, qtype, 1, "sane"))
        add(qtype, "row of blocks", random_blocks(rng, qtype, nsane, "sane"))
        add(qtype, "zero scales", random_blocks(rng, qtype, 1, "zero"))
        add(qtype, "subnormal scales", random_blocks(rng, qtype, 1, "subnormal"))
        add(qtype, "large scales", random_blocks(rng, qtype, 1, "large"))
        add(qtype, "all bits set", all_ones_blocks(qtype))

    doc = {
        "generator": "tests/reference/make_kquant_fixtures.py (gguf package numpy dequantisers)",
        "cases": cases,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes, {len(cases)} cases)")


if __name__ == "__main__":
    main()
