#!/usr/bin/env python3
"""attnscope next to Hugging Face transformers on one random-weight model (Llama-3.1-8B shape by
default), as run by tools/gpu-check.sh.

  hf_compare.py prepare --gguf MODEL.gguf --context CONTEXT.json --out HF.json [sizes]
      Builds a random LlamaForCausalLM on the GPU in bfloat16 (seed 0), writes the same weights
      as a llama GGUF for attnscope (BF16 matrices, F32 norms, Q/K rows reordered to GGUF's
      adjacent-pair rotary layout), writes a context of random token ids (one chunk + the query,
      for `attnscope-cli analyze --mode full`), and times, after a warm-up:
        eager: forward with attn_implementation="eager" and output_attentions=True, then the
               entropy of every (layer, head, token) from the returned probabilities - how one
               gets attention entropy out of transformers;
        sdpa:  forward with attn_implementation="sdpa", no attention outputs (fastest forward;
               entropy is not available this way).
      HF.json gets the timings and, for the query rows, the entropy [layer][head][q] and the NLL
      of the next token, to check attnscope's numbers on the same weights.

  hf_compare.py compare --hf HF.json --analyze ANALYZE.json [--bench BENCH.json] --out SUMMARY.json
      Side-by-side timings and how closely attnscope's query entropies and NLL match.

Only torch and transformers are needed (no gguf package, no network).
"""
import argparse
import json
import os
import struct
import sys
import time


def log(msg):
    print(msg, flush=True)


# ---------------------------------------------------------------------------------------------
# GGUF writing (format version 3: header, key/values, tensor infos, aligned data)

GGUF_ALIGN = 32
T_U32, T_F32, T_STRING = 4, 6, 8
GGML_F32, GGML_BF16 = 0, 30


def gguf_str(s):
    b = s.encode("utf-8")
    return struct.pack("<Q", len(b)) + b


def gguf_kv(key, vtype, value):
    out = gguf_str(key) + struct.pack("<I", vtype)
    if vtype == T_U32:
        out += struct.pack("<I", value)
    elif vtype == T_F32:
        out += struct.pack("<f", value)
    elif vtype == T_STRING:
        out += gguf_str(value)
    else:
        raise ValueError(vtype)
    return out


def write_gguf(path, cfg, tensors):
    """tensors: list of (name, torch tensor [rows][cols] or [n], ggml type)."""
    import torch

    kv = [
        ("general.architecture", T_STRING, "llama"),
        ("general.name", T_STRING, "random-llama-hf"),
        ("llama.context_length", T_U32, cfg["context"]),
        ("llama.embedding_length", T_U32, cfg["dim"]),
        ("llama.block_count", T_U32, cfg["layers"]),
        ("llama.feed_forward_length", T_U32, cfg["ffn"]),
        ("llama.attention.head_count", T_U32, cfg["heads"]),
        ("llama.attention.head_count_kv", T_U32, cfg["kv_heads"]),
        ("llama.rope.dimension_count", T_U32, cfg["dim"] // cfg["heads"]),
        ("llama.rope.freq_base", T_F32, cfg["rope_theta"]),
        ("llama.attention.layer_norm_rms_epsilon", T_F32, cfg["eps"]),
    ]
    infos, offset = [], 0
    for name, t, gtype in tensors:
        ne = list(reversed(t.shape))  # ne0 = row length
        nbytes = t.numel() * (4 if gtype == GGML_F32 else 2)
        infos.append((name, ne, gtype, offset, t))
        offset += (nbytes + GGUF_ALIGN - 1) // GGUF_ALIGN * GGUF_ALIGN
    with open(path, "wb") as f:
        f.write(b"GGUF" + struct.pack("<IQQ", 3, len(infos), len(kv)))
        for k, vt, v in kv:
            f.write(gguf_kv(k, vt, v))
        for name, ne, gtype, off, _ in infos:
            f.write(gguf_str(name) + struct.pack("<I", len(ne)) + b"".join(struct.pack("<Q", n) for n in ne))
            f.write(struct.pack("<IQ", gtype, off))
        pad = (-f.tell()) % GGUF_ALIGN
        f.write(b"\0" * pad)
        start = f.tell()
        for name, ne, gtype, off, t in infos:
            f.seek(start + off)
            if gtype == GGML_F32:
                t.detach().float().contiguous().cpu().numpy().tofile(f)
            else:  # bfloat16 bits
                t.detach().to(torch.bfloat16).contiguous().view(torch.int16).cpu().numpy().tofile(f)
        f.truncate(start + offset)


def gguf_tensors(model, cfg):
    """The HF state dict as llama GGUF tensors. Q and K rows go from Hugging Face's rotate-half
    order to GGUF's adjacent pairs: GGUF row h*hd + 2i + j = HF row h*hd + j*hd/2 + i."""
    sd = model.state_dict()
    hd = cfg["dim"] // cfg["heads"]

    def permute(w, heads):
        return w.view(heads, 2, hd // 2, w.shape[1]).transpose(1, 2).reshape(heads * hd, w.shape[1])

    out = [
        ("token_embd.weight", sd["model.embed_tokens.weight"], GGML_BF16),
        ("output_norm.weight", sd["model.norm.weight"], GGML_F32),
        ("output.weight", sd["lm_head.weight"], GGML_BF16),
    ]
    for i in range(cfg["layers"]):
        p = f"model.layers.{i}."
        b = f"blk.{i}."
        out += [
            (b + "attn_norm.weight", sd[p + "input_layernorm.weight"], GGML_F32),
            (b + "attn_q.weight", permute(sd[p + "self_attn.q_proj.weight"], cfg["heads"]), GGML_BF16),
            (b + "attn_k.weight", permute(sd[p + "self_attn.k_proj.weight"], cfg["kv_heads"]), GGML_BF16),
            (b + "attn_v.weight", sd[p + "self_attn.v_proj.weight"], GGML_BF16),
            (b + "attn_output.weight", sd[p + "self_attn.o_proj.weight"], GGML_BF16),
            (b + "ffn_norm.weight", sd[p + "post_attention_layernorm.weight"], GGML_F32),
            (b + "ffn_gate.weight", sd[p + "mlp.gate_proj.weight"], GGML_BF16),
            (b + "ffn_up.weight", sd[p + "mlp.up_proj.weight"], GGML_BF16),
            (b + "ffn_down.weight", sd[p + "mlp.down_proj.weight"], GGML_BF16),
        ]
    return out


# ---------------------------------------------------------------------------------------------
# transformers side

def transformers_version():
    import transformers

    parts = []
    for x in transformers.__version__.split(".")[:2]:
        digits = "".join(c for c in x if c.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts)


def make_model(cfg, impl):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        vocab_size=cfg["vocab"], hidden_size=cfg["dim"], intermediate_size=cfg["ffn"],
        num_hidden_layers=cfg["layers"], num_attention_heads=cfg["heads"],
        num_key_value_heads=cfg["kv_heads"], max_position_embeddings=cfg["context"],
        rms_norm_eps=cfg["eps"], rope_theta=cfg["rope_theta"], tie_word_embeddings=False,
        attn_implementation=impl)
    set_impl(config, impl)
    # Parameters are created directly on the GPU in bfloat16 (seconds instead of minutes).
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.bfloat16)
    try:
        with torch.device("cuda"):
            model = LlamaForCausalLM(config)
    finally:
        torch.set_default_dtype(old)
    set_impl(model.config, impl)
    return model.eval()


def set_impl(config, impl):
    try:
        config._attn_implementation = impl
    except Exception:  # noqa: BLE001 - read-only in some releases; the constructor argument holds
        pass


def switch_to_sdpa(model, cfg):
    """Same weights with SDPA attention. transformers >= 4.48 dispatches on the config at run
    time; older releases pick the attention class when the model is built."""
    if transformers_version() >= (4, 48):
        if hasattr(model, "set_attn_implementation"):
            try:
                model.set_attn_implementation("sdpa")
                return model
            except Exception:  # noqa: BLE001 - fall back to the config flag
                pass
        set_impl(model.config, "sdpa")
        return model
    fresh = make_model(cfg, "sdpa")
    fresh.load_state_dict(model.state_dict())
    del model
    return fresh


def timed(fn):
    import torch

    torch.cuda.synchronize()
    t0 = time.perf_counter()
    r = fn()
    torch.cuda.synchronize()
    return r, time.perf_counter() - t0


def cmd_prepare(a):
    import torch
    import transformers

    cfg = dict(dim=a.dim, layers=a.layers, heads=a.heads, kv_heads=a.kv_heads, ffn=a.ffn, vocab=a.vocab,
               context=131072, eps=1e-5, rope_theta=500000.0)
    N, Q = a.tokens, a.queries
    result = {"shape": cfg, "tokens": N, "queries": Q, "torch": torch.__version__,
              "transformers": transformers.__version__, "gpu": torch.cuda.get_device_name(0)}
    torch.manual_seed(0)
    model, t = timed(lambda: make_model(cfg, "eager"))
    log(f"model built on the GPU in {t:.1f} s ({sum(p.numel() for p in model.parameters()) / 1e9:.2f} B parameters)")

    if a.gguf:
        t0 = time.perf_counter()
        write_gguf(a.gguf, cfg, gguf_tensors(model, cfg))
        result["gguf_write_s"] = time.perf_counter() - t0
        log(f"wrote {a.gguf} ({os.path.getsize(a.gguf) / 2**30:.1f} GiB) in {result['gguf_write_s']:.1f} s")

    g = torch.Generator().manual_seed(1)
    ids = torch.randint(3, cfg["vocab"], (N,), generator=g)
    with open(a.context, "w") as f:
        json.dump({"prefix": "", "chunks": [], "query": "", "prefix_ids": [],
                   "chunk_ids": [ids[: N - Q].tolist()], "query_ids": ids[N - Q:].tolist()}, f)
    x = ids.view(1, N).cuda()

    with torch.inference_mode():
        model(x[:, :256], output_attentions=True, use_cache=False)  # warm-up

        def eager_with_entropy():
            out = model(x, output_attentions=True, use_cache=False)
            ent = torch.empty(cfg["layers"], cfg["heads"], N, dtype=torch.float32, device="cuda")
            for l, att in enumerate(out.attentions):
                for r0 in range(0, N, 1024):
                    p = att[0, :, r0:r0 + 1024, :].float()
                    ent[l, :, r0:r0 + 1024] = -(p * torch.log(p.clamp_min(1e-30))).sum(-1)
            return out.logits[0, N - Q:].float(), ent

        (logits, ent), t_eager = timed(eager_with_entropy)
        result["eager_forward_entropy_s"] = t_eager
        result["eager_peak_gib"] = torch.cuda.max_memory_allocated() / 2**30
        log(f"eager + output_attentions + entropy: {t_eager:.3f} s (peak {result['eager_peak_gib']:.1f} GiB)")
        lp = torch.log_softmax(logits, -1)
        nxt = ids[N - Q + 1:].cuda()
        nll = (-lp[:-1].gather(1, nxt.view(-1, 1)).view(-1)).tolist()
        result["query_nll_next"] = nll + [None]
        result["query_entropy"] = ent[:, :, N - Q:].tolist()
        result["layer_query_entropy"] = ent[:, :, N - Q:].mean(dim=(1, 2)).tolist()
        del logits, ent, lp
        torch.cuda.empty_cache()

        model = switch_to_sdpa(model, cfg)
        result["sdpa_attention_class"] = type(model.model.layers[0].self_attn).__name__
        model(x[:, :256], use_cache=False)  # warm-up
        _, t_sdpa = timed(lambda: model(x, use_cache=False))
        _, t_sdpa2 = timed(lambda: model(x, use_cache=False))
        result["sdpa_forward_s"] = min(t_sdpa, t_sdpa2)
        log(f"sdpa forward (no attention outputs): {result['sdpa_forward_s']:.3f} s")

    with open(a.out, "w") as f:
        json.dump(result, f)
    return 0


def cmd_compare(a):
    with open(a.hf) as f:
        hf = json.load(f)
    summary = {"transformers": {k: hf.get(k) for k in ("eager_forward_entropy_s", "sdpa_forward_s", "eager_peak_gib",
                                                      "torch", "transformers", "gpu", "tokens", "sdpa_attention_class")}}
    if a.analyze and os.path.exists(a.analyze):
        with open(a.analyze) as f:
            an = json.load(f)
        qe_a, qe_h = an["query_entropy"], hf["query_entropy"]
        layers = min(len(qe_a), len(qe_h))
        per_layer, worst = [], 0.0
        for l in range(layers):
            diffs, ma, mh = [], 0.0, 0.0
            for h in range(len(qe_h[l])):
                for q in range(len(qe_h[l][h])):
                    va, vh = qe_a[l][h][q], qe_h[l][h][q]
                    diffs.append(abs(va - vh))
                    ma += va
                    mh += vh
            n = max(1, len(diffs))
            per_layer.append({"layer": l, "attnscope": ma / n, "transformers": mh / n, "mean_abs_diff": sum(diffs) / n})
            worst = max(worst, max(diffs) if diffs else 0.0)
        nll_a = [v for v in an.get("query_nll_next", []) if v is not None]
        nll_h = [v for v in hf.get("query_nll_next", []) if v is not None]
        summary["entropy_agreement"] = {
            "layers": per_layer,
            "mean_abs_diff": sum(p["mean_abs_diff"] for p in per_layer) / max(1, len(per_layer)),
            "max_abs_diff": worst,
            "mean_nll_attnscope": sum(nll_a) / max(1, len(nll_a)),
            "mean_nll_transformers": sum(nll_h) / max(1, len(nll_h)),
            "note": "same bf16 weights and ids; transformers' eager path returns bf16 probabilities, "
                    "attnscope accumulates in float32, so differences of a few 0.01 nats are expected",
        }
        summary["attnscope_analyze_elapsed_s"] = an.get("elapsed_ms", 0) / 1000.0
    if a.bench and os.path.exists(a.bench):
        with open(a.bench) as f:
            summary["attnscope_bench"] = json.load(f)
    rows = [("transformers eager + output_attentions + entropy", summary["transformers"].get("eager_forward_entropy_s")),
            ("transformers SDPA forward (no entropy possible)", summary["transformers"].get("sdpa_forward_s"))]
    if "attnscope_bench" in summary:
        rows.append(("attnscope full analysis (entropy, chunk mass, NLL)", summary["attnscope_bench"].get("prefill_median_s")))
    if "attnscope_analyze_elapsed_s" in summary:
        rows.append(("attnscope analyze, full mode (same ids as transformers)", summary["attnscope_analyze_elapsed_s"]))
    shape = hf.get("shape") or {}
    shape_text = ("d=%(dim)s, %(layers)s layers, %(heads)s heads (%(kv_heads)s KV), FFN %(ffn)s, vocab %(vocab)s" % shape
                  if shape else "unknown shape")
    log(f"{hf.get('tokens')} tokens, {shape_text}, random bf16 weights, {hf.get('gpu')}")
    for name, t in rows:
        log(f"  {name:58s} {('%.3f s' % t) if isinstance(t, (int, float)) else 'n/a'}")
    if "entropy_agreement" in summary:
        e = summary["entropy_agreement"]
        log(f"  query entropy |attnscope - transformers|: mean {e['mean_abs_diff']:.4f}, max {e['max_abs_diff']:.4f} nats;"
            f" mean NLL {e['mean_nll_attnscope']:.4f} vs {e['mean_nll_transformers']:.4f}")
    summary["table"] = [{"what": n, "seconds": t} for n, t in rows]
    with open(a.out, "w") as f:
        json.dump(summary, f, indent=1)
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    pr = sub.add_parser("prepare")
    pr.add_argument("--gguf", default="")
    pr.add_argument("--context", required=True)
    pr.add_argument("--out", required=True)
    pr.add_argument("--tokens", type=int, default=4096)
    pr.add_argument("--queries", type=int, default=64)
    pr.add_argument("--dim", type=int, default=4096)
    pr.add_argument("--layers", type=int, default=32)
    pr.add_argument("--heads", type=int, default=32)
    pr.add_argument("--kv-heads", type=int, default=8)
    pr.add_argument("--ffn", type=int, default=14336)
    pr.add_argument("--vocab", type=int, default=128256)
    co = sub.add_parser("compare")
    co.add_argument("--hf", required=True)
    co.add_argument("--analyze", default="")
    co.add_argument("--bench", default="")
    co.add_argument("--out", required=True)
    a = p.parse_args()
    return cmd_prepare(a) if a.cmd == "prepare" else cmd_compare(a)


if __name__ == "__main__":
    sys.exit(main())
