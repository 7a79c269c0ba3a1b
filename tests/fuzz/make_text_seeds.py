#!/usr/bin/env python3
"""Writes the text seed corpora under tests/fuzz/corpus/ (context_json, session, sentencepiece,
bpe and the Hugging Face config seeds) from the demo context and the test data. The binary model
seeds come from make_seeds (built with the fuzz targets). Usage: make_text_seeds.py SOURCE_DIR MODELS_DIR"""
import json
import struct
import sys
from pathlib import Path

src, models = Path(sys.argv[1]), Path(sys.argv[2])
corpus = src / "tests/fuzz/corpus"


def seed(target, name, data):
    path = corpus / target / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if isinstance(data, bytes) else data.encode())


# Contexts: the demo, text and id forms, and the edge cases the engine has to refuse.
demo = json.loads((src / "resources/demo_context.json").read_text())
seed("context_json", "demo.json", json.dumps(demo, indent=2))
seed("context_json", "ids.json", json.dumps({"prefix_ids": [1, 5], "chunk_ids": [[7, 8, 9], [10, 11]], "query_ids": [12, 13]}))
seed("context_json", "mixed.json", json.dumps({"prefix": "Sink.", "chunks": ["a", "b b", ""], "query": "q?", "query_ids": [3]}))
seed("context_json", "no-chunks.json", '{"chunks": [], "query": "Why?"}')
seed("context_json", "escapes.json", '{"prefix": "\\u00e9\\ud83d\\ude00\\n\\t\\"", "chunks": ["1e3", "-0.5e-2"], "query": "x", "n": [1e308, -0, 0.1]}')
seed("context_json", "nested.json", '{"chunks": [[[[[]]]]], "query": {"a": {"b": null}}, "x": [true, false, null]}')

# Sessions: every field set, and a bare minimum.
session = {
    "format": "attnscope-session", "version": 1, "model": "stories260K.gguf", "context": demo,
    "method": {"mode": "parallel", "sink": True, "selective": True, "select_k": 2, "score_top_n": 5,
               "aggregation": "heads-queries", "positions": "restart", "bos": "per-chunk"},
    "selection": {"layer": 1, "head": 3, "query_token": 2, "rows": "all"},
    "sweep": {"parts": [1, 2, 4, 8], "query_tokens": 64},
    "view": {"presentation": True, "log_scale": False, "current_view": "heatmap", "geometry": "AdnQywADAAA=",
             "state": "AAAA/wAAAAD9"},
}
seed("session", "every-field.attnscope.json", json.dumps(session, indent=4))
seed("session", "minimal.attnscope.json", '{"format": "attnscope-session", "version": 1, "context": {"query": "q"}}')
seed("session", "ids.attnscope.json", json.dumps({"format": "attnscope-session", "version": 1, "model": "",
                                                   "context": {"chunk_ids": [[1, 2]], "query_ids": [3]},
                                                   "method": {"mode": "full", "bos": "shared"}}))

# SentencePiece: mode byte 0-2 + a text from the tokenizer test fixtures; mode 3 + a model.
texts = []
for fixture in sorted((src / "tests/data/tokenizer").glob("*.json")):
    texts += [c["text"] for c in json.loads(fixture.read_text())["cases"]]
texts = sorted(set(texts), key=len)[:40]
for i, text in enumerate(texts):
    seed("sentencepiece", f"text-{i:02d}", bytes([i % 3]) + text.encode())
seed("sentencepiece", "model-tok512", b"\x03" + (models / "tok512.model").read_bytes())

# BPE: mode byte 0-2 + a text from the BPE fixtures; mode 3 + a small vocabulary.
texts = []
for name in ("qwen2", "llama3", "gpt2"):
    texts += [c["text"] for c in json.loads((src / f"tests/data/bpe/{name}.json").read_text())["cases"]]
texts = sorted(set(texts), key=len)[:40]
for i, text in enumerate(texts):
    seed("bpe", f"text-{i:02d}", bytes([i % 3]) + text.encode())
vocab = "\n".join(["a", "b", "c", "Ġ", "ab", "Ġa", "abc", "<|im_start|>", "\u0120\u0120"]) + "\n\n" + "\n".join(["a b", "Ġ a", "ab c"])
for pick in range(3):
    seed("bpe", f"vocab-{pick}", bytes([3, pick]) + vocab.encode())

# Hugging Face: the reference folders' config.json with the safetensors header (data cut off).
for folder in sorted((src / "tests/data/reference").iterdir()):
    if not (folder / "config.json").is_file():
        continue
    weights = (folder / "model.safetensors").read_bytes()
    (n,) = struct.unpack("<Q", weights[:8])
    seed("hf_model", f"{folder.name}-header.bin", (folder / "config.json").read_bytes() + b"\0" + weights[: 8 + n])
