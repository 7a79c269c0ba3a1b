#!/usr/bin/env python3
"""Writes the parity fixtures that tests/engine/test_hf_parity.cpp compares the engine against.

The reference implementation is Hugging Face transformers (eager attention, float32, CPU). For
three tiny random-weight checkpoints made here with fixed seeds -- llama with grouped-query
attention, qwen2 with Q/K/V biases and tied embeddings, gemma3 with a sliding window shorter than
the sequence and both local and global layers -- it writes

  tests/data/reference/<name>/config.json + model.safetensors   the checkpoint (float16 weights)
  tests/data/reference/<name>.gguf                              the same weights as llama.cpp's
                                                                converter lays them out
  tests/data/reference/<name>.json                              token ids, positions and the
                                                                reference outputs per case

and, when the Gemma 3 270M GGUF is given (or found by scripts/find-demo-model.sh), the top-k
next-token log-probabilities of that real model for fixed prompts in
tests/data/reference/gemma3-270m.json, and its greedy generations in
tests/data/reference/gemma3-270m-generation.json: transformers' own generate() for three prompts
with full attention, and greedy decoding under the paper's parallel mask (each generated token one
more query token at position S + M + t) for a QA context (tests/engine/test_generation.cpp).

Each case follows PAPER.md: layout [prefix | chunk_1 .. chunk_P | query]; in parallel mode a chunk
token sees the prefix and the earlier tokens of its own chunk, prefix and query tokens see
everything before them; positions by the stretch / restart / sequential rule. The mask is given to
transformers as a 4-D additive float mask (per layer type for gemma3, whose local layers also keep
only keys with i - j < sliding_window, i and j physical indices, as the engine does by default) and
the position ids explicitly, so the reference knows nothing of the engine's plan code. A model with a
sliding window also gets the WINDOW_CASES, whose local layers keep keys by position ids instead,
pos(i) - pos(j) < sliding_window (the engine's window rule `position`, llama.cpp's convention); their
"options" carry "window_rule": "position".

Per case the fixture holds, for every layer and head:
  entropy[l][h][i]            -sum_j p_ij ln p_ij (nats) of every token i, from the eager
                              attention probabilities (output_attentions=True)
  query_attention[l][h][q][j] the attention probabilities of query token q over all N keys
  query_log_probs[q][v]       log-softmax of the logits of query token q

Not needed at test time, nor by CI. Set up a separate environment once:
  python3 -m venv /tmp/refvenv
  /tmp/refvenv/bin/pip install torch transformers accelerate gguf safetensors numpy
  /tmp/refvenv/bin/python tests/reference/make_reference.py [--gemma PATH.gguf]
"""

import argparse
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

import gguf
from safetensors.numpy import save_file
from transformers import AutoModelForCausalLM, Gemma3TextConfig, LlamaConfig, Qwen2Config

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "data" / "reference"

# ---------------------------------------------------------------------------------------------
# The tiny checkpoints. Sizes keep each folder and GGUF well under 1 MB (float16 weights).

MODELS = {
    "llama-gqa": dict(
        kind="llama", seed=11,
        config=dict(model_type="llama", architectures=["LlamaForCausalLM"], hidden_size=64,
                    intermediate_size=128, num_hidden_layers=3, num_attention_heads=4,
                    num_key_value_heads=2, head_dim=16, vocab_size=384, max_position_embeddings=512,
                    rms_norm_eps=1e-5, rope_theta=10000.0, tie_word_embeddings=False,
                    hidden_act="silu", attention_bias=False, mlp_bias=False,
                    bos_token_id=1, eos_token_id=2, torch_dtype="float16")),
    "qwen2-bias": dict(
        kind="qwen2", seed=12,
        config=dict(model_type="qwen2", architectures=["Qwen2ForCausalLM"], hidden_size=64,
                    intermediate_size=96, num_hidden_layers=2, num_attention_heads=4,
                    num_key_value_heads=2, vocab_size=256, max_position_embeddings=512,
                    rms_norm_eps=1e-6, tie_word_embeddings=True,
                    # transformers 5's form of rope_theta (older configs: "rope_theta": 1e6).
                    rope_parameters={"rope_type": "default", "rope_theta": 1000000.0},
                    hidden_act="silu", use_sliding_window=False,
                    bos_token_id=1, eos_token_id=2, torch_dtype="float16")),
    # Six layers with the default pattern (every 6th global), as in the real Gemma 3 files, whose
    # GGUF has no pattern key. head_dim 32 differs from hidden/heads = 16; query_pre_attn_scalar
    # equals head_dim, the only value llama.cpp's GGUF layout can express for these sizes. Linear
    # RoPE scaling (factor 8, as in Gemma 3 4B-27B) applies to the global layer only.
    "gemma3-swa": dict(
        kind="gemma3", seed=13,
        config=dict(model_type="gemma3_text", architectures=["Gemma3ForCausalLM"], hidden_size=64,
                    intermediate_size=128, num_hidden_layers=6, num_attention_heads=4,
                    num_key_value_heads=2, head_dim=32, vocab_size=512, max_position_embeddings=1024,
                    rms_norm_eps=1e-6, rope_theta=1000000.0, rope_local_base_freq=10000.0,
                    rope_scaling={"rope_type": "linear", "factor": 8.0},
                    query_pre_attn_scalar=32, sliding_window=8, sliding_window_pattern=6,
                    layer_types=["sliding_attention"] * 5 + ["full_attention"],
                    hidden_activation="gelu_pytorch_tanh", tie_word_embeddings=True,
                    final_logit_softcapping=None, attn_logit_softcapping=None,
                    bos_token_id=2, eos_token_id=1, pad_token_id=0, torch_dtype="float16")),
}

# Case layouts: (name, mode, positions, sink?). Chunk lengths differ so stretch really stretches.
CASES = [
    ("full", "full", "sequential", True),
    ("parallel-sink-stretch", "parallel", "stretch", True),
    ("parallel-stretch", "parallel", "stretch", False),
    ("parallel-sink-restart", "parallel", "restart", True),
]
# Models with a sliding window also run these, with the window measured by position ids; drawn
# after CASES, so the earlier cases' tokens do not change.
WINDOW_CASES = [
    ("parallel-sink-stretch-window-position", "parallel", "stretch", True, "position"),
    ("full-window-position", "full", "sequential", True, "position"),
]
PREFIX_LEN, CHUNK_LENS, QUERY_LEN = 3, (9, 6, 12), 6


def fp16_exact(t):
    """Rounds to float16 and back: values every format here stores exactly."""
    return t.to(torch.float16).to(torch.float32)


def build_model(spec):
    cfg_dict = dict(spec["config"])
    cls = {"llama": LlamaConfig, "qwen2": Qwen2Config, "gemma3": Gemma3TextConfig}[spec["kind"]]
    config = cls(**{k: v for k, v in cfg_dict.items() if k not in ("model_type", "architectures", "torch_dtype")})
    config._attn_implementation = "eager"
    torch.manual_seed(spec["seed"])
    model = AutoModelForCausalLM.from_config(config, attn_implementation="eager", dtype=torch.float32)
    model.eval()
    gen = torch.Generator().manual_seed(spec["seed"])
    gemma = spec["kind"] == "gemma3"
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                # Not all ones: a norm that multiplies by 1 (or 1 + 0) hides the (1 + w) rule.
                base = 0.0 if gemma else 1.0
                val = base + 0.3 * torch.randn(p.shape, generator=gen)
            elif name.endswith(".bias"):
                val = 0.3 * torch.randn(p.shape, generator=gen)
            elif "embed_tokens" in name:
                val = (0.15 if gemma else 1.0) * torch.randn(p.shape, generator=gen)
            else:
                # Large enough that attention is far from uniform (entropy then tells cases apart).
                val = torch.randn(p.shape, generator=gen) * (1.2 / math.sqrt(p.shape[-1]))
            p.copy_(fp16_exact(val))
    if config.tie_word_embeddings:
        model.tie_weights()
    # Check the config came out as intended (names change between transformers versions).
    if gemma:
        rp = model.config.rope_parameters
        assert rp["full_attention"]["rope_theta"] == cfg_dict["rope_theta"], rp
        assert rp["sliding_attention"]["rope_theta"] == cfg_dict["rope_local_base_freq"], rp
        assert rp["full_attention"]["rope_type"] == "linear" and rp["full_attention"]["factor"] == 8.0, rp
        assert rp["sliding_attention"]["rope_type"] == "default", rp
        assert list(model.config.layer_types) == cfg_dict["layer_types"]
        assert model.config.sliding_window == cfg_dict["sliding_window"]
    return model, cfg_dict


def state_tensors(model, tied):
    out = {}
    for name, t in model.state_dict().items():
        if tied and name == "lm_head.weight":
            continue
        if "rotary_emb" in name:
            continue
        out[name] = t.detach().to(torch.float16).numpy()
    return out


def write_safetensors_folder(model, cfg_dict, folder):
    folder.mkdir(parents=True, exist_ok=True)
    tensors = state_tensors(model, cfg_dict["tie_word_embeddings"])
    save_file(tensors, str(folder / "model.safetensors"), metadata={"format": "pt"})
    (folder / "config.json").write_text(json.dumps(cfg_dict, indent=2) + "\n")


def llama_permute(w, n_head):
    """llama.cpp's converter: rotate-half rows -> adjacent-pair rows, per head."""
    rows = w.shape[0]
    return w.reshape(n_head, 2, rows // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def write_gguf(model, spec, cfg_dict, path):
    kind = spec["kind"]
    arch = {"llama": "llama", "qwen2": "qwen2", "gemma3": "gemma3"}[kind]
    c = cfg_dict
    hd = c.get("head_dim") or c["hidden_size"] // c["num_attention_heads"]
    w = gguf.GGUFWriter(str(path), arch)
    w.add_name(path.stem)
    w.add_context_length(c["max_position_embeddings"])
    w.add_embedding_length(c["hidden_size"])
    w.add_block_count(c["num_hidden_layers"])
    w.add_vocab_size(c["vocab_size"])
    w.add_feed_forward_length(c["intermediate_size"])
    w.add_head_count(c["num_attention_heads"])
    w.add_head_count_kv(c["num_key_value_heads"])
    w.add_layer_norm_rms_eps(c["rms_norm_eps"])
    w.add_rope_freq_base(c["rope_theta"] if "rope_theta" in c else c["rope_parameters"]["rope_theta"])
    w.add_file_type(gguf.LlamaFileType.MOSTLY_F16)
    if kind == "gemma3":
        # As llama.cpp's converter writes gemma3: key/value lengths, the window; no pattern key
        # (llama.cpp uses every 6th layer global) and no local rope base (10000).
        w.add_key_length(hd)
        w.add_value_length(hd)
        w.add_sliding_window(c["sliding_window"])
        if c.get("rope_scaling"):
            w.add_rope_scaling_type(gguf.RopeScalingType.LINEAR)
            w.add_rope_scaling_factor(c["rope_scaling"]["factor"])
    else:
        w.add_rope_dimension_count(hd)

    sd = {k: v.detach().to(torch.float32).numpy() for k, v in model.state_dict().items()}

    def mat(a):
        return a.astype(np.float16)

    def vec(a):
        # llama.cpp stores norms as float32; gemma's with the +1 already added.
        return (a + 1.0 if kind == "gemma3" else a).astype(np.float32)

    w.add_tensor("token_embd.weight", mat(sd["model.embed_tokens.weight"]))
    w.add_tensor("output_norm.weight", vec(sd["model.norm.weight"]))
    if not c["tie_word_embeddings"]:
        w.add_tensor("output.weight", mat(sd["lm_head.weight"]))
    for i in range(c["num_hidden_layers"]):
        p = f"model.layers.{i}."
        b = f"blk.{i}."
        q, k = sd[p + "self_attn.q_proj.weight"], sd[p + "self_attn.k_proj.weight"]
        if kind == "llama":
            q = llama_permute(q, c["num_attention_heads"])
            k = llama_permute(k, c["num_key_value_heads"])
        w.add_tensor(b + "attn_norm.weight", vec(sd[p + "input_layernorm.weight"]))
        w.add_tensor(b + "attn_q.weight", mat(q))
        w.add_tensor(b + "attn_k.weight", mat(k))
        w.add_tensor(b + "attn_v.weight", mat(sd[p + "self_attn.v_proj.weight"]))
        w.add_tensor(b + "attn_output.weight", mat(sd[p + "self_attn.o_proj.weight"]))
        if kind == "qwen2":
            for n in ("q", "k", "v"):
                w.add_tensor(b + f"attn_{n}.bias", sd[p + f"self_attn.{n}_proj.bias"].astype(np.float32))
        if kind == "gemma3":
            w.add_tensor(b + "attn_q_norm.weight", vec(sd[p + "self_attn.q_norm.weight"]))
            w.add_tensor(b + "attn_k_norm.weight", vec(sd[p + "self_attn.k_norm.weight"]))
            w.add_tensor(b + "post_attention_norm.weight", vec(sd[p + "post_attention_layernorm.weight"]))
            w.add_tensor(b + "ffn_norm.weight", vec(sd[p + "pre_feedforward_layernorm.weight"]))
            w.add_tensor(b + "post_ffw_norm.weight", vec(sd[p + "post_feedforward_layernorm.weight"]))
        else:
            w.add_tensor(b + "ffn_norm.weight", vec(sd[p + "post_attention_layernorm.weight"]))
        w.add_tensor(b + "ffn_gate.weight", mat(sd[p + "mlp.gate_proj.weight"]))
        w.add_tensor(b + "ffn_up.weight", mat(sd[p + "mlp.up_proj.weight"]))
        w.add_tensor(b + "ffn_down.weight", mat(sd[p + "mlp.down_proj.weight"]))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


# ---------------------------------------------------------------------------------------------
# PAPER.md: layout, positions and visibility, written independently of the engine.

def layout(prefix, chunks, query, mode, positions):
    """Returns (ids, segment, chunk index, position ids); segment 0 prefix, 1 chunk, 2 query."""
    ids, seg, chk, pos = [], [], [], []
    S = len(prefix)
    M = max((len(c) for c in chunks), default=0)
    seq = mode == "full" or positions == "sequential"
    for i, t in enumerate(prefix):
        ids.append(t), seg.append(0), chk.append(-1), pos.append(i)
    for m, c in enumerate(chunks):
        for t, tok in enumerate(c):
            if seq:
                p = len(ids)
            elif positions == "restart":
                p = S + t
            else:
                p = S + (t * M) // len(c)
            ids.append(tok), seg.append(1), chk.append(m), pos.append(p)
    for t, tok in enumerate(query):
        ids.append(tok), seg.append(2), chk.append(-1), pos.append(len(ids) if seq else S + M + t)
    if seq:
        pos = list(range(len(ids)))
    return ids, seg, chk, pos


def visibility(seg, chk, mode):
    n = len(seg)
    vis = np.zeros((n, n), dtype=bool)
    for i in range(n):
        for j in range(i + 1):
            if mode == "full" or seg[i] != 1:
                vis[i, j] = True
            else:
                vis[i, j] = seg[j] == 0 or chk[j] == chk[i]
    return vis


def additive(vis):
    m = torch.zeros(vis.shape, dtype=torch.float32)
    m[torch.from_numpy(~vis)] = torch.finfo(torch.float32).min
    return m[None, None]


def run_reference(model, kind, ids, pos, vis, window, window_rule="physical"):
    inp = torch.tensor([ids])
    position_ids = torch.tensor([pos])
    if kind == "gemma3":
        n = len(ids)
        coord = np.arange(n) if window_rule == "physical" else np.array(pos)
        i = coord[:, None]
        j = coord[None, :]
        local = vis & ((i - j) < window)
        mask = {"full_attention": additive(vis), "sliding_attention": additive(local)}
        vis_by_layer = [local if t == "sliding_attention" else vis for t in model.config.layer_types]
    else:
        mask = additive(vis)
        vis_by_layer = [vis] * model.config.num_hidden_layers
    with torch.no_grad():
        out = model(input_ids=inp, attention_mask=mask, position_ids=position_ids, output_attentions=True,
                    use_cache=False)
    attns = [a[0].to(torch.float64).numpy() for a in out.attentions]  # [layer] -> [head][i][j]
    for a, v in zip(attns, vis_by_layer):
        assert np.all(a[:, ~v] < 1e-30), "reference attention leaked outside the mask"
        assert np.allclose(a.sum(-1), 1.0, atol=1e-5)
    logp = torch.log_softmax(out.logits[0].to(torch.float64), dim=-1).numpy()
    return attns, logp


def entropy(p):
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(p > 0, -p * np.log(p), 0.0)
    return t.sum(-1)


def rounded(a, digits=7):
    """Nested lists with `digits` significant digits (keeps the JSON small)."""
    if isinstance(a, np.ndarray):
        a = a.tolist()
    if isinstance(a, list):
        return [rounded(x, digits) for x in a]
    return float(f"{a:.{digits}g}")


def make_case(model, kind, rng, vocab, name, mode, positions, sink, window, window_rule="physical"):
    prefix = rng.integers(3, vocab, PREFIX_LEN).tolist() if sink else []
    chunks = [rng.integers(3, vocab, n).tolist() for n in CHUNK_LENS]
    query = rng.integers(3, vocab, QUERY_LEN).tolist()
    ids, seg, chk, pos = layout(prefix, chunks, query, mode, positions)
    vis = visibility(seg, chk, mode)
    attns, logp = run_reference(model, kind, ids, pos, vis, window, window_rule)
    qb = len(ids) - len(query)
    options = {"mode": mode, "positions": positions, "sink": sink}
    if window_rule != "physical":
        options["window_rule"] = window_rule
    return {
        "name": name,
        "options": options,
        "prefix_ids": prefix,
        "chunk_ids": chunks,
        "query_ids": query,
        "positions": pos,
        "query_begin": qb,
        "entropy": rounded(np.stack([entropy(a) for a in attns])),
        "query_attention": rounded(np.stack([a[:, qb:, :] for a in attns])),
        "query_log_probs": rounded(logp[qb:]),
    }


def check_round_trip(model, folder, gguf_path, case):
    """The files written say what the in-memory model computes: transformers reloads the folder
    and (un-permuting Q/K, subtracting gemma's +1) the GGUF's weights, and gets the same logits.
    (Its GGUF reader does not read every key we write -- RoPE scaling, a query scale derived from
    the head size -- so the GGUF's weights are loaded into the known configuration; the C++ test
    checks that our loaders read the same configuration from both files.)"""
    extra = {"config": model.config}
    ids = case["prefix_ids"] + sum(case["chunk_ids"], []) + case["query_ids"]
    inp = torch.tensor([ids])
    with torch.no_grad():
        want = model(input_ids=inp).logits
        for kwargs in ({"pretrained_model_name_or_path": str(folder)},
                       {"pretrained_model_name_or_path": str(gguf_path.parent), "gguf_file": gguf_path.name, **extra}):
            other = AutoModelForCausalLM.from_pretrained(**kwargs, dtype=torch.float32, attn_implementation="eager")
            got = other(input_ids=inp).logits
            err = (got - want).abs().max().item()
            assert err < 1e-4, f"{kwargs}: reloaded model differs by {err}"


def make_tiny(name, spec):
    model, cfg = build_model(spec)
    folder = OUT / name
    write_safetensors_folder(model, cfg, folder)
    write_gguf(model, spec, cfg, OUT / f"{name}.gguf")
    rng = np.random.default_rng(spec["seed"])
    window = cfg.get("sliding_window", 0) if spec["kind"] == "gemma3" else 0
    cases = [make_case(model, spec["kind"], rng, cfg["vocab_size"], *c, window) for c in CASES]
    if window:
        cases += [make_case(model, spec["kind"], rng, cfg["vocab_size"], *c[:4], window, c[4]) for c in WINDOW_CASES]
    check_round_trip(model, folder, OUT / f"{name}.gguf", cases[0])
    doc = {
        "description": f"transformers {__import__('transformers').__version__} (eager, float32) on a random "
                       f"{spec['kind']} checkpoint, seed {spec['seed']}; see tests/reference/make_reference.py",
        "model": name,
        "safetensors_dir": name,
        "gguf": f"{name}.gguf",
        "architecture": spec["kind"],
        "layers": cfg["num_hidden_layers"],
        "heads": cfg["num_attention_heads"],
        "vocab": cfg["vocab_size"],
        "sliding_window": window,
        "layer_is_local": [t == "sliding_attention" for t in cfg.get("layer_types", [])],
        "cases": cases,
    }
    (OUT / f"{name}.json").write_text(json.dumps(doc, separators=(",", ":")) + "\n")
    sizes = {p.name: p.stat().st_size for p in [folder / "model.safetensors", OUT / f"{name}.gguf", OUT / f"{name}.json"]}
    print(f"{name}: {sizes}")


# ---------------------------------------------------------------------------------------------
# Gemma 3 270M (Q4_K_M): transformers dequantises the GGUF and runs it in float32.

GEMMA_PROMPT = (
    "The old lighthouse keeper climbed the narrow stairs every evening to light the lamp. "
    "Ships passing in the night relied on its beam to steer clear of the rocks, and the keeper "
    "took pride in never missing a single night."
)
GEMMA_PARALLEL = {
    "prefix": "Notes:",
    "chunks": [
        "The river flows north through the valley and joins the sea near the old harbour town.",
        "Apples grow best in cool climates with cold winters, and the orchard produces a large harvest each autumn.",
        "The library opens at nine in the morning and closes at six in the evening on weekdays.",
    ],
    "query": "The library closes at six in the evening, and the orchard produces a large harvest each autumn.",
}
TOP_K = 10


def top_k(logp, k):
    idx = np.argsort(-logp, axis=-1)[:, :k]
    return idx.tolist(), rounded(np.take_along_axis(logp, idx, -1))


def make_gemma(path):
    from transformers import AutoTokenizer

    d, f = os.path.dirname(path), os.path.basename(path)
    tok = AutoTokenizer.from_pretrained(d, gguf_file=f)
    model = AutoModelForCausalLM.from_pretrained(d, gguf_file=f, dtype=torch.float32, attn_implementation="eager")
    model.eval()
    window = model.config.sliding_window

    def enc(s):
        return tok(s, add_special_tokens=False).input_ids

    cases = []
    # Full attention over the plain prompt (no BOS, as every attnscope plan by default): the last
    # 12 tokens are the query.
    ids = enc(GEMMA_PROMPT)
    body, query = ids[:-12], ids[-12:]
    all_ids, seg, chk, pos = layout([], [body], query, "full", "sequential")
    attns, logp = run_reference(model, "gemma3", all_ids, pos, visibility(seg, chk, "full"), window)
    qb = len(all_ids) - len(query)
    k_ids, k_lp = top_k(logp[qb:], TOP_K)
    cases.append({"name": "full", "options": {"mode": "full", "positions": "sequential", "sink": False},
                  "text": {"prefix": "", "chunks": [GEMMA_PROMPT[:0]], "query": ""},
                  "prefix_ids": [], "chunk_ids": [body], "query_ids": query, "positions": pos,
                  "query_begin": qb, "top_ids": k_ids, "top_log_probs": k_lp,
                  "layer_query_entropy": rounded([float(entropy(a[:, qb:, :]).mean()) for a in attns])})
    # Parallel encoding with a sink prefix and the stretch rule.
    g = GEMMA_PARALLEL
    prefix, chunks, query = enc(g["prefix"]), [enc(c) for c in g["chunks"]], enc(g["query"])
    all_ids, seg, chk, pos = layout(prefix, chunks, query, "parallel", "stretch")
    attns, logp = run_reference(model, "gemma3", all_ids, pos, visibility(seg, chk, "parallel"), window)
    qb = len(all_ids) - len(query)
    k_ids, k_lp = top_k(logp[qb:], TOP_K)
    cases.append({"name": "parallel-sink-stretch", "options": {"mode": "parallel", "positions": "stretch", "sink": True},
                  "text": g, "prefix_ids": prefix, "chunk_ids": chunks, "query_ids": query, "positions": pos,
                  "query_begin": qb, "top_ids": k_ids, "top_log_probs": k_lp,
                  "layer_query_entropy": rounded([float(entropy(a[:, qb:, :]).mean()) for a in attns])})
    cases[0]["text"] = {"prompt": GEMMA_PROMPT, "query_tokens": 12}
    # A text longer than the 512-token sliding window (the sweep's example text): the query rows of
    # the local layers see only the last 512 keys.
    long_text = (ROOT / "resources" / "examples" / "harbour_town.txt").read_text()
    ids = enc(long_text)
    assert len(ids) > window + 16, (len(ids), window)
    body, query = ids[:-16], ids[-16:]
    all_ids, seg, chk, pos = layout([], [body], query, "full", "sequential")
    attns, logp = run_reference(model, "gemma3", all_ids, pos, visibility(seg, chk, "full"), window)
    qb = len(all_ids) - len(query)
    k_ids, k_lp = top_k(logp[qb:], TOP_K)
    cases.append({"name": "full-beyond-window", "options": {"mode": "full", "positions": "sequential", "sink": False},
                  "text": {"file": "resources/examples/harbour_town.txt", "query_tokens": 16},
                  "prefix_ids": [], "chunk_ids": [body], "query_ids": query, "positions": pos,
                  "query_begin": qb, "top_ids": k_ids, "top_log_probs": k_lp,
                  "layer_query_entropy": rounded([float(entropy(a[:, qb:, :]).mean()) for a in attns])})
    doc = {
        "description": f"transformers {__import__('transformers').__version__} (eager, float32) loading the Gemma 3 270M "
                       "Q4_K_M GGUF (dequantised); top-k log-probabilities of the query tokens",
        "gguf_file": f,
        "gguf_bytes": os.path.getsize(path),
        "top_k": TOP_K,
        "layers": model.config.num_hidden_layers,
        "cases": cases,
    }
    (OUT / "gemma3-270m.json").write_text(json.dumps(doc, separators=(",", ":")) + "\n")
    print(f"gemma3-270m: {len(cases)} cases")


GEN_PROMPTS = [
    "The old lighthouse keeper climbed the narrow stairs of the tower every single evening to light the lamp, "
    "and the ships",
    "Question: What is the capital of France? Answer: The capital of France is Paris. Question: What is the "
    "capital of Italy? Answer:",
    "Once upon a time, in a small village at the edge of a great forest, there lived a young girl who",
]
GEN_PARALLEL = {
    "prefix": "Given the following contexts, answer the final question accordingly:\n\n",
    "chunks": [
        "Document (Title: Harbour): The harbour town of Elmsport was founded by fishermen in 1721.\n\n",
        "Document (Title: Orchard): The orchard north of the river grows apples and pears.\n\n",
        "Document (Title: Library): The town library was designed by the architect Mara Quill.\n\n",
        "Document (Title: Bridge): The stone bridge over the river was rebuilt after the flood of 1893.\n\n",
    ],
    "query": "Question: Who designed the town library?\nAnswer:",
}
GEN_NEW_TOKENS = 16


def greedy_parallel(model, window, prefix, chunks, query, steps):
    """Greedy decoding under the parallel mask, recomputed from scratch each step: every generated
    token is one more query token (position S + M + t). Returns the generated ids, each step's
    chosen log-probability and top-two margin, and each generated token's per-layer entropy (mean
    over heads) from the final recomputation."""
    gen, chosen, margin = [], [], []
    for _ in range(steps):
        ids, seg, chk, pos = layout(prefix, chunks, query + gen, "parallel", "stretch")
        attns, logp = run_reference(model, "gemma3", ids, pos, visibility(seg, chk, "parallel"), window)
        last = logp[-1]
        order = np.argsort(-last)
        gen.append(int(order[0]))
        chosen.append(float(last[order[0]]))
        margin.append(float(last[order[0]] - last[order[1]]))
    ids, seg, chk, pos = layout(prefix, chunks, query + gen, "parallel", "stretch")
    attns, _ = run_reference(model, "gemma3", ids, pos, visibility(seg, chk, "parallel"), window)
    first = len(ids) - len(gen)
    ent = [[float(entropy(a[:, first + t, :]).mean()) for a in attns] for t in range(len(gen))]
    return gen, chosen, margin, ent


def make_gemma_generation(path):
    from transformers import AutoTokenizer

    d, f = os.path.dirname(path), os.path.basename(path)
    tok = AutoTokenizer.from_pretrained(d, gguf_file=f)
    model = AutoModelForCausalLM.from_pretrained(d, gguf_file=f, dtype=torch.float32, attn_implementation="eager")
    model.eval()
    bos = tok.bos_token_id

    def enc(s):
        return tok(s, add_special_tokens=False).input_ids

    cases = []
    for n, prompt in enumerate(GEN_PROMPTS):
        ids = [bos] + enc(prompt)  # BOS as the prefix, the prompt as one chunk, its last 4 tokens the query
        assert len(ids) >= 20, len(ids)
        with torch.no_grad():
            out = model.generate(torch.tensor([ids]), max_new_tokens=GEN_NEW_TOKENS, do_sample=False,
                                 output_scores=True, return_dict_in_generate=True, eos_token_id=None,
                                 pad_token_id=0)
        gen = out.sequences[0, len(ids):].tolist()
        logps = [torch.log_softmax(sc[0].to(torch.float64), -1).numpy() for sc in out.scores]
        chosen = [float(lp[g]) for lp, g in zip(logps, gen)]
        margin = [float(np.sort(lp)[-1] - np.sort(lp)[-2]) for lp in logps]
        cases.append({"name": f"full-{n}", "options": {"mode": "full", "positions": "sequential", "sink": True},
                      "prefix_ids": ids[:1], "chunk_ids": [ids[1:-4]], "query_ids": ids[-4:],
                      "generated_ids": gen, "chosen_log_probs": rounded(chosen), "top_two_margin": rounded(margin)})
    g = GEN_PARALLEL
    prefix, chunks, query = [bos] + enc(g["prefix"]), [enc(c) for c in g["chunks"]], enc(g["query"])
    gen, chosen, margin, ent = greedy_parallel(model, model.config.sliding_window, prefix, chunks, query,
                                               GEN_NEW_TOKENS)
    cases.append({"name": "parallel-sink-stretch", "options": {"mode": "parallel", "positions": "stretch",
                                                               "sink": True},
                  "text": g, "prefix_ids": prefix, "chunk_ids": chunks, "query_ids": query,
                  "generated_ids": gen, "chosen_log_probs": rounded(chosen), "top_two_margin": rounded(margin),
                  "token_layer_entropy": rounded(ent)})
    doc = {
        "description": f"transformers {__import__('transformers').__version__} (eager, float32) loading the Gemma 3 "
                       "270M Q4_K_M GGUF (dequantised): greedy generate() with full attention, and greedy decoding "
                       "under the parallel mask (recomputed each step)",
        "gguf_file": f,
        "gguf_bytes": os.path.getsize(path),
        "new_tokens": GEN_NEW_TOKENS,
        "cases": cases,
    }
    (OUT / "gemma3-270m-generation.json").write_text(json.dumps(doc, separators=(",", ":")) + "\n")
    for c in cases:
        print(c["name"], repr(tok.decode(c["generated_ids"])), "min margin", min(c["top_two_margin"]))


def find_gemma():
    try:
        out = subprocess.run([str(ROOT / "scripts" / "find-demo-model.sh")], capture_output=True, text=True, check=True)
        return out.stdout.strip() or None
    except (OSError, subprocess.CalledProcessError):
        return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--gemma", help="the Gemma 3 270M GGUF (default: scripts/find-demo-model.sh)")
    ap.add_argument("--skip-gemma", action="store_true")
    ap.add_argument("--only", help="comma-separated tiny model names (or gemma3-270m, gemma3-270m-generation)")
    args = ap.parse_args()
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    OUT.mkdir(parents=True, exist_ok=True)
    only = set(args.only.split(",")) if args.only else None
    for name, spec in MODELS.items():
        if only is None or name in only:
            make_tiny(name, spec)
    if not args.skip_gemma and (only is None or "gemma3-270m" in only):
        path = args.gemma or find_gemma()
        if not path:
            sys.exit("no Gemma 3 270M GGUF: pass --gemma PATH or run scripts/setup-debian.sh (or use --skip-gemma)")
        make_gemma(path)
    if not args.skip_gemma and (only is None or "gemma3-270m-generation" in only):
        path = args.gemma or find_gemma()
        if not path:
            sys.exit("no Gemma 3 270M GGUF: pass --gemma PATH or run scripts/setup-debian.sh (or use --skip-gemma)")
        make_gemma_generation(path)


if __name__ == "__main__":
    main()
