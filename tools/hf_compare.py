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
      Side-by-side timings and how closely attnscope's query entropies and NLL match. Fails
      (exit 1) when the analysis did not run on the CUDA backend, when the shapes differ, or when
      the mean query entropy (over everything, or of any one layer) or the mean NLL differs from
      transformers' by more than --max-diff (0.05 nats).

  hf_compare.py compare-attention --reference FP32.json --candidate MMA.json --out SUMMARY.json
      Two `attnscope-cli analyze` results of the same context, from the FP32 attention kernel and
      the tensor-core (BF16 mma) one: both must come from the CUDA backend, and their mean query
      entropy (overall and per layer) and mean NLL must agree within --max-diff (0.02 nats; see
      MMA_TOLERANCE_NOTE).

  hf_compare.py context --out CONTEXT.json [--tokens 4096 --queries 64 --vocab 128256]
      A context of random ids shaped like prepare's (one chunk + the query), without torch: for
      the FP32 against mma comparison when transformers is not there.

  hf_compare.py check-gguf FILE
      Exit 0 when FILE is a whole GGUF file (header, tensor table and every tensor's data within
      the file), else 1 with the reason: a model cut short by a timeout is never reused.

Files are written as NAME.part and renamed when complete. Only torch and transformers are needed
(no gguf package, no network); compare, compare-attention and check-gguf need neither.
"""
import argparse
import contextlib
import json
import os
import struct
import sys
import time

# The transformers comparison: same BF16 weights and ids; transformers' eager path returns BF16
# probabilities and keeps a BF16 residual stream, attnscope accumulates in float32. A few 0.01
# nats of difference are expected; a RoPE-layout, mask or scale bug moves entropies by 0.1-1.
HF_TOLERANCE = 0.05
# FP32 against tensor-core attention: the mma kernel rounds the probabilities to BF16 before
# P·V (Q and K are stored in BF16 by both), a subset of what separates the BF16 mode from the
# CPU's float32 (measured on random models: per-layer mean entropy < 0.025, mean NLL < 0.01;
# tests/cuda/test_cuda_backend.cpp). Means over thousands of rows average the rounding out.
MMA_TOLERANCE = 0.02
MMA_TOLERANCE_NOTE = ("the mma kernel rounds probabilities to BF16 before P.V; per-layer means of BF16 "
                      "against float32 differ by < 0.025 nats on random models, this is a subset of that")


def log(msg):
    print(msg, flush=True)


@contextlib.contextmanager
def written_whole(path, mode="w"):
    """Opens PATH.part for writing and renames it to PATH only when the block ends without an
    exception (a killed or failed writer leaves no file under the final name)."""
    part = path + ".part"
    f = open(part, mode)
    try:
        yield f
        f.close()
        os.replace(part, path)
    except BaseException:
        f.close()
        with contextlib.suppress(OSError):
            os.remove(part)
        raise


def write_json(path, value, indent=None):
    with written_whole(path) as f:
        json.dump(value, f, indent=indent)


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


def gguf_layout(cfg, shapes):
    """The header of a llama GGUF (key/values and tensor table, padded to the alignment) for
    tensors given as (name, shape, ggml type), and the size of the data that follows."""
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
    header = b"GGUF" + struct.pack("<IQQ", 3, len(shapes), len(kv))
    header += b"".join(gguf_kv(k, vt, v) for k, vt, v in kv)
    offsets, offset = [], 0
    for name, shape, gtype in shapes:
        ne = list(reversed(shape))  # ne0 = row length
        count = 1
        for n in shape:
            count *= n
        header += gguf_str(name) + struct.pack("<I", len(ne)) + b"".join(struct.pack("<Q", n) for n in ne)
        header += struct.pack("<IQ", gtype, offset)
        offsets.append(offset)
        offset += (count * (4 if gtype == GGML_F32 else 2) + GGUF_ALIGN - 1) // GGUF_ALIGN * GGUF_ALIGN
    header += b"\0" * ((-len(header)) % GGUF_ALIGN)
    return header, offsets, offset


def write_gguf(path, cfg, tensors):
    """tensors: list of (name, torch tensor [rows][cols] or [n], ggml type). Written to
    PATH.part, renamed to PATH when every byte is there."""
    import torch

    header, offsets, data_bytes = gguf_layout(cfg, [(n, list(t.shape), g) for n, t, g in tensors])
    with written_whole(path, "wb") as f:
        f.write(header)
        start = f.tell()
        for (name, t, gtype), off in zip(tensors, offsets):
            f.seek(start + off)
            if gtype == GGML_F32:
                t.detach().float().contiguous().cpu().numpy().tofile(f)
            else:  # bfloat16 bits
                t.detach().to(torch.bfloat16).contiguous().view(torch.int16).cpu().numpy().tofile(f)
        f.truncate(start + data_bytes)


# ---------------------------------------------------------------------------------------------
# GGUF completeness (any GGUF v2/v3 file: the stories and Gemma models as well as ours)

# ggml type -> (elements per block, bytes per block)
GGML_SIZES = {0: (1, 4), 1: (1, 2), 2: (32, 18), 3: (32, 20), 6: (32, 22), 7: (32, 24), 8: (32, 34),
              9: (32, 36), 10: (256, 84), 11: (256, 110), 12: (256, 144), 13: (256, 176), 14: (256, 210),
              15: (256, 292), 24: (1, 1), 25: (1, 2), 26: (1, 4), 27: (1, 8), 28: (1, 8), 30: (1, 2)}
GGUF_SCALAR = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}


class GgufReader:
    def __init__(self, f):
        self.f = f

    def take(self, fmt):
        size = struct.calcsize("<" + fmt)
        b = self.f.read(size)
        if len(b) != size:
            raise ValueError("ends inside the header")
        return struct.unpack("<" + fmt, b)[0]

    def string(self):
        n = self.take("Q")
        if n > 1 << 24:
            raise ValueError("implausible string length %d in the header" % n)
        b = self.f.read(n)
        if len(b) != n:
            raise ValueError("ends inside the header")
        return b.decode("utf-8", "replace")

    def value(self, vtype):
        if vtype == T_STRING:
            return self.string()
        if vtype == 9:  # array
            etype, n = self.take("I"), self.take("Q")
            return [self.value(etype) for _ in range(n)]
        if vtype not in GGUF_SCALAR:
            raise ValueError("unknown value type %d in the header" % vtype)
        return self.take(GGUF_SCALAR[vtype])


def gguf_problem(path):
    """Why PATH is not a whole GGUF file, or None when it is."""
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            if f.read(4) != b"GGUF":
                return "not a GGUF file (bad magic)"
            r = GgufReader(f)
            version, n_tensors, n_kv = r.take("I"), r.take("Q"), r.take("Q")
            if version not in (2, 3):
                return "GGUF version %d is not supported" % version
            align = GGUF_ALIGN
            for _ in range(n_kv):
                key, vtype = r.string(), r.take("I")
                v = r.value(vtype)
                if key == "general.alignment":
                    align = int(v)
            end = 0
            for _ in range(n_tensors):
                name, dims = r.string(), r.take("I")
                count = 1
                for _ in range(dims):
                    count *= r.take("Q")
                gtype, offset = r.take("I"), r.take("Q")
                block, nbytes = GGML_SIZES.get(gtype, (1, 0))
                end = max(end, offset + count // block * nbytes)
            start = (f.tell() + align - 1) // align * align
    except (OSError, ValueError, UnicodeDecodeError) as e:
        return str(e)
    if size < start + end:
        return "cut short: %d bytes, the tensors need %d" % (size, start + end)
    return None


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
    write_json(a.context, {"prefix": "", "chunks": [], "query": "", "prefix_ids": [],
                           "chunk_ids": [ids[: N - Q].tolist()], "query_ids": ids[N - Q:].tolist()})
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

    write_json(a.out, result)
    return 0


def load_json(path):
    with open(path) as f:
        return json.load(f)


def mean(values):
    values = [v for v in values if v is not None]
    return sum(values) / len(values) if values else None


def entropy_means(query_entropy):
    """Per-layer means of [layer][head][q] entropies, and the overall mean."""
    layers = [mean([v for head in layer for v in head]) for layer in query_entropy]
    return layers, mean(layers)


def backend_problem(doc, what):
    backend = str((doc or {}).get("backend", ""))
    if not backend.startswith("cuda"):
        return "%s ran on %r, not on the CUDA backend" % (what, backend or "an unnamed backend")
    return None


def agreement(ent_a, ent_b, nll_a, nll_b, max_diff):
    """How two sets of query entropies [layer][head][q] and next-token NLLs agree, and the
    failures at max_diff nats (shapes, overall mean entropy, any layer's mean, mean NLL)."""
    failures = []
    shape_a = (len(ent_a), len(ent_a[0]) if ent_a else 0, len(ent_a[0][0]) if ent_a and ent_a[0] else 0)
    shape_b = (len(ent_b), len(ent_b[0]) if ent_b else 0, len(ent_b[0][0]) if ent_b and ent_b[0] else 0)
    if shape_a != shape_b or 0 in shape_a:
        return {"shape": [shape_a, shape_b]}, ["query entropies shaped %s vs %s (layers, heads, queries)" % (shape_a, shape_b)]
    layers_a, mean_a = entropy_means(ent_a)
    layers_b, mean_b = entropy_means(ent_b)
    diffs = [abs(x - y) for la, lb in zip(ent_a, ent_b) for ha, hb in zip(la, lb) for x, y in zip(ha, hb)]
    layer_diffs = [abs(x - y) for x, y in zip(layers_a, layers_b)]
    worst_layer = max(range(len(layer_diffs)), key=lambda i: layer_diffs[i])
    nll_ma, nll_mb = mean(nll_a), mean(nll_b)
    r = {"mean_entropy": [mean_a, mean_b], "mean_entropy_diff": abs(mean_a - mean_b),
         "layers": [{"layer": i, "means": [x, y], "diff": d} for i, (x, y, d) in enumerate(zip(layers_a, layers_b, layer_diffs))],
         "worst_layer_diff": layer_diffs[worst_layer], "worst_layer": worst_layer,
         "mean_abs_diff": sum(diffs) / len(diffs), "max_abs_diff": max(diffs),
         "mean_nll": [nll_ma, nll_mb], "max_diff_allowed": max_diff}
    if r["mean_entropy_diff"] > max_diff:
        failures.append("mean query entropy %.4f vs %.4f: differs by %.4f > %.3f nats" % (mean_a, mean_b, r["mean_entropy_diff"], max_diff))
    if r["worst_layer_diff"] > max_diff:
        failures.append("layer %d mean query entropy differs by %.4f > %.3f nats" % (worst_layer, r["worst_layer_diff"], max_diff))
    if nll_ma is None or nll_mb is None:
        failures.append("no next-token NLL to compare")
    else:
        r["mean_nll_diff"] = abs(nll_ma - nll_mb)
        if r["mean_nll_diff"] > max_diff:
            failures.append("mean NLL %.4f vs %.4f: differs by %.4f > %.3f nats" % (nll_ma, nll_mb, r["mean_nll_diff"], max_diff))
    return r, failures


def finish(summary, failures, out):
    summary["failures"] = failures
    summary["ok"] = not failures
    write_json(out, summary, indent=1)
    for f in failures:
        log("FAIL: " + f)
    log("ok" if not failures else "%d check(s) failed" % len(failures))
    return 0 if not failures else 1


def cmd_compare(a):
    hf = load_json(a.hf)
    summary = {"transformers": {k: hf.get(k) for k in ("eager_forward_entropy_s", "sdpa_forward_s", "eager_peak_gib",
                                                      "torch", "transformers", "gpu", "tokens", "sdpa_attention_class")}}
    failures = []
    if not (a.analyze and os.path.exists(a.analyze)):
        failures.append("no attnscope analysis to compare (%s)" % (a.analyze or "none given"))
    else:
        an = load_json(a.analyze)
        summary["attnscope_backend"] = an.get("backend")
        failures += [p for p in [backend_problem(an, "the analysis")] if p]
        agree, bad = agreement(an.get("query_entropy") or [], hf.get("query_entropy") or [],
                               an.get("query_nll_next") or [], hf.get("query_nll_next") or [], a.max_diff)
        agree["note"] = "[attnscope, transformers]; same bf16 weights and ids; " + \
            "transformers' eager path returns bf16 probabilities, attnscope accumulates in float32"
        summary["entropy_agreement"] = agree
        failures += bad
        summary["attnscope_analyze_elapsed_s"] = an.get("elapsed_ms", 0) / 1000.0
    if a.bench and os.path.exists(a.bench):
        summary["attnscope_bench"] = load_json(a.bench)
        failures += [p for p in [backend_problem(summary["attnscope_bench"], "the benchmark")] if p]
    print_table(hf, summary)
    return finish(summary, failures, a.out)


def print_table(hf, summary):
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
    e = summary.get("entropy_agreement") or {}
    if "mean_abs_diff" in e:
        log(f"  query entropy |attnscope - transformers|: mean {e['mean_abs_diff']:.4f}, max {e['max_abs_diff']:.4f},"
            f" worst layer mean {e['worst_layer_diff']:.4f} nats; mean NLL {e['mean_nll'][0]} vs {e['mean_nll'][1]}")
    summary["table"] = [{"what": n, "seconds": t} for n, t in rows]


def cmd_compare_attention(a):
    ref, cand = load_json(a.reference), load_json(a.candidate)
    failures = [p for p in (backend_problem(ref, "the reference (FP32 attention) analysis"),
                            backend_problem(cand, "the candidate (mma attention) analysis")) if p]
    agree, bad = agreement(cand.get("query_entropy") or [], ref.get("query_entropy") or [],
                           cand.get("query_nll_next") or [], ref.get("query_nll_next") or [], a.max_diff)
    summary = {"backends": [ref.get("backend"), cand.get("backend")],
               "elapsed_s": [ref.get("elapsed_ms", 0) / 1000.0, cand.get("elapsed_ms", 0) / 1000.0],
               "agreement": agree, "order": "[candidate (mma), reference (fp32)]", "tolerance_note": MMA_TOLERANCE_NOTE}
    if "mean_abs_diff" in agree:
        log("mma against fp32 attention: mean entropy differs by %.4f (worst layer %.4f), mean NLL by %s nats; "
            "%.3f s vs %.3f s" % (agree["mean_entropy_diff"], agree["worst_layer_diff"], agree.get("mean_nll_diff"),
                                  summary["elapsed_s"][1], summary["elapsed_s"][0]))
    return finish(summary, failures + bad, a.out)


def cmd_context(a):
    import random

    rng = random.Random(1)
    ids = [rng.randrange(3, a.vocab) for _ in range(a.tokens)]
    n, q = a.tokens, a.queries
    write_json(a.out, {"prefix": "", "chunks": [], "query": "", "prefix_ids": [],
                       "chunk_ids": [ids[: n - q]], "query_ids": ids[n - q:]})
    return 0


def cmd_check_gguf(a):
    problem = gguf_problem(a.file)
    log("%s: %s" % (a.file, problem or "complete"))
    return 1 if problem else 0


def main(argv=None):
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
    co.add_argument("--max-diff", type=float, default=HF_TOLERANCE)
    ca = sub.add_parser("compare-attention")
    ca.add_argument("--reference", required=True, help="analysis with the FP32 attention kernel")
    ca.add_argument("--candidate", required=True, help="analysis with the tensor-core (mma) attention kernel")
    ca.add_argument("--out", required=True)
    ca.add_argument("--max-diff", type=float, default=MMA_TOLERANCE)
    cx = sub.add_parser("context")
    cx.add_argument("--out", required=True)
    cx.add_argument("--tokens", type=int, default=4096)
    cx.add_argument("--queries", type=int, default=64)
    cx.add_argument("--vocab", type=int, default=128256)
    cg = sub.add_parser("check-gguf")
    cg.add_argument("file")
    a = p.parse_args(argv)
    commands = {"prepare": cmd_prepare, "compare": cmd_compare, "compare-attention": cmd_compare_attention,
                "check-gguf": cmd_check_gguf, "context": cmd_context}
    return commands[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
