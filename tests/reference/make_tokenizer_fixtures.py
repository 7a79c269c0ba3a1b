#!/usr/bin/env python3
"""Writes the SentencePiece tokenizer fixtures in tests/data/tokenizer/<model>.json.

Each fixture holds, for one tokenizer.model, a list of varied texts with the ids, pieces and
decoded text that the reference SentencePiece implementation gives. tests/engine/test_tokenizer.cpp
checks the engine's tokenizer against them.

The reference is the Python `sentencepiece` package, which wraps the same C++ library that the
engine links (libsentencepiece); the fixtures record the version used. Generate them with the
version the engine is built against (Debian 12: 0.1.97, `apt install python3-sentencepiece`, or
`pip install sentencepiece==0.1.97`). Only this script needs Python; CI only reads the JSON files.

Usage: tests/reference/make_tokenizer_fixtures.py [--models DIR] [--out DIR]
  --models  folder with the tokenizer files (default: ../shared/models beside the repository)
  --out     output folder (default: tests/data/tokenizer in the repository)
"""
import argparse
import json
import pathlib
import sys

import sentencepiece as spm

REPO = pathlib.Path(__file__).resolve().parents[2]

MODELS = [
    "tok512.model",
    "llama2-tokenizer.model",
    "mistral-v1-tokenizer.model",
    "mistral-v3-tokenizer.model",
]

# Varied texts: plain English, unicode, digits, whitespace, control characters, code, and text
# that spells out control pieces (it must be segmented as ordinary text).
TEXTS = [
    "Once upon a time, there was a little girl named Lily.",
    "Hello world",
    "The quick brown fox jumps over the lazy dog.",
    "Lily's mom said, \"Don't worry, Lily. We can help you.\"",
    "Café déjà vu: naïve façade, Ångström, Zürich, São Paulo.",
    "日本語のテキストと中文文本，한국어 문장.",
    "Emoji: I love 🍕 and 🐱‍👤! 👍🏽 ❤️",
    "مرحبا بالعالم and שלום עולם",
    "In 1984, 3.14159 and 1234567890123456789 were numbers; 0x1F and 1e-5 too.",
    "a  b   c    d",
    "col1\tcol2\t\tcol3",
    "line one\nline two\n\nline four\r\n",
    "   leading and trailing   ",
    "",
    " ",
    "   \t\n  ",
    "\u0007\u001b\u007f",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ꙮ 𓂀",
    "def f(x):\n    return x * 2  # double\n\nfor i in range(10):\n\tprint(f(i))",
    "int main() { std::vector<int> v{1, 2, 3}; return v[0] != 0 ? 1 : 0; }",
    "<s> [INST] What is <unk>? [/INST] </s> <0x0A>",
    "Hello!!! What?? (yes) [no] {maybe} 'single' @#$%^&*_+=~`|\\",
    "½ ﬁ ＡＢＣ ① ™ — – … « » „ “ ”",
    "One day, she saw a big, red ball. She wanted to play with it, but it was too high."
    " Her mom said, \"Don't worry, Lily. We can help you.\"",
]


def fixture(model_path: pathlib.Path) -> dict:
    sp = spm.SentencePieceProcessor(model_file=str(model_path))
    cases = []
    for text in TEXTS:
        ids = sp.encode(text)  # no BOS/EOS: the default of encode()
        cases.append({
            "text": text,
            "ids": ids,
            "pieces": [sp.id_to_piece(i) for i in ids],
            "decoded": sp.decode(ids),
        })
    return {
        "model": model_path.name,
        "reference": f"Python sentencepiece {spm.__version__} (wraps the C++ library)",
        "vocab_size": sp.get_piece_size(),
        "bos_id": sp.bos_id(),
        "eos_id": sp.eos_id(),
        "unk_id": sp.unk_id(),
        "cases": cases,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", type=pathlib.Path, default=REPO.parent / "shared" / "models")
    ap.add_argument("--out", type=pathlib.Path, default=REPO / "tests" / "data" / "tokenizer")
    args = ap.parse_args()

    args.out.mkdir(parents=True, exist_ok=True)
    for name in MODELS:
        path = args.models / name
        if not path.is_file():
            print(f"missing {path}", file=sys.stderr)
            return 1
        data = fixture(path)
        out = args.out / (path.stem + ".json")
        # One case per line keeps the files small and their diffs readable.
        lines = [json.dumps({k: v for k, v in data.items() if k != "cases"}, ensure_ascii=False)[:-1]
                 + ', "cases": [']
        lines += ["  " + json.dumps(c, ensure_ascii=False) + ("," if i + 1 < len(data["cases"]) else "")
                  for i, c in enumerate(data["cases"])]
        lines.append("]}")
        out.write_text("\n".join(lines) + "\n", encoding="utf-8")
        print(f"wrote {out} ({out.stat().st_size} bytes, {len(data['cases'])} cases)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
