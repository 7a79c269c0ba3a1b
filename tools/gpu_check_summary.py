#!/usr/bin/env python3
"""gpu_check_summary.py OUTDIR BUDGET_S ELAPSED_S - OUTDIR/summary.json from what tools/gpu-check.sh
has written so far (steps.tsv, preflight.log, cuda_tests.log and the steps' JSON files).
Written to a temporary file of this process and renamed, so a reader never sees half a file.
all_ok is true only when there are steps, every one is "ok" and no CUDA test was skipped."""
import json
import os
import re
import sys


def load(out, name):
    try:
        with open(os.path.join(out, name)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def read_lines(out, name):
    try:
        with open(os.path.join(out, name)) as f:
            return f.read().splitlines()
    except OSError:
        return None


def steps_of(out):
    steps = []
    for line in read_lines(out, "steps.tsv") or []:
        parts = line.split("\t")
        if len(parts) >= 3:
            steps.append({"step": parts[0], "status": parts[1], "seconds": int(parts[2]) if parts[2].isdigit() else None,
                          "limit_s": int(parts[3]) if len(parts) > 3 and parts[3].isdigit() else None})
    return steps


def cuda_tests_of(out):
    lines = read_lines(out, "cuda_tests.log")
    if lines is None:
        return None
    text = "\n".join(lines)
    m = re.search(r"(\d+)% tests passed, (\d+) tests failed out of (\d+)", text)
    return {
        "summary": m.group(0) if m else None,
        "results": re.findall(r"Test +#\d+: (\S+) \.+\** *(\w+)", text),
        "skipped": sorted(set(re.findall(r"\[  SKIPPED \] (\S+)", text))),
        "cannot_run": sorted(set(re.findall(r"(CUDA test (?:skipped|cannot run)[^\n]*)", text)))[:5],
        "failed": sorted(set(re.findall(r"\[  FAILED  \] (\w+\.\w+)", text)))[:20],
    }


def main():
    out, budget, elapsed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    steps = steps_of(out)
    s = {"elapsed_s": elapsed, "budget_s": budget, "steps": steps,
         "failed_steps": [x["step"] + ": " + x["status"] for x in steps if x["status"] != "ok"]}
    pre = read_lines(out, "preflight.log")
    if pre is not None:
        s["preflight"] = [line.strip() for line in pre if re.match(r"  (ok|note|BLOCKER) ", line)][:40]
        s["preflight_blockers"] = [line.split("BLOCKER", 1)[1].strip() for line in pre if line.startswith("  BLOCKER")]
    ct = cuda_tests_of(out)
    if ct is not None:
        s["cuda_tests"] = ct
    for key, name in (("transformers_comparison", "compare.json"), ("attention_kernels", "compare_attention.json"),
                      ("bench_4k", "bench_4k.json"), ("bench_128k", "bench_128k.json")):
        v = load(out, name)
        if v is not None:
            s[key] = v
    hf = load(out, "hf.json")
    if hf is not None:
        s["transformers"] = {k: hf.get(k) for k in ("gpu", "torch", "transformers", "tokens", "eager_forward_entropy_s",
                                                    "sdpa_forward_s", "eager_peak_gib", "gguf_write_s",
                                                    "sdpa_attention_class")}
    s["all_ok"] = bool(steps) and not s["failed_steps"] and not (ct or {}).get("skipped")
    tmp = os.path.join(out, "summary.json.tmp-%d" % os.getpid())
    with open(tmp, "w") as f:
        json.dump(s, f, indent=1)
    os.replace(tmp, os.path.join(out, "summary.json"))


if __name__ == "__main__":
    main()
