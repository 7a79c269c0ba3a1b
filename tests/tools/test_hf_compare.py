#!/usr/bin/env python3
"""tools/hf_compare.py without a GPU: the thresholds of `compare` and `compare-attention` on small
synthetic analyses, the CUDA-backend check, the GGUF completeness check and the *.part writes.
Run by CTest as tools.hf_compare (python3 -m unittest)."""
import json
import os
import struct
import sys
import shutil
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
import hf_compare  # noqa: E402

LAYERS, HEADS, QUERIES = 3, 2, 4


def entropies(base, shift_layer=None, shift=0.0):
    """[layer][head][q] entropies around `base`, with `shift` added to one layer (or all)."""
    out = []
    for l in range(LAYERS):
        add = shift if shift_layer in (None, l) else 0.0
        out.append([[base + 0.01 * ((l + h + q) % 3) + add for q in range(QUERIES)] for h in range(HEADS)])
    return out


def analysis(backend="cuda:0 (NVIDIA H200, bf16)", shift_layer=None, shift=0.0, nll_shift=0.0):
    return {"backend": backend, "elapsed_ms": 1500.0, "query_entropy": entropies(2.0, shift_layer, shift),
            "query_nll_next": [4.0 + nll_shift + 0.1 * q for q in range(QUERIES - 1)] + [None]}


class FakeTensor:
    """Just what write_gguf asks of a torch tensor (this test runs without torch)."""

    def __init__(self, values, shape, kind="f32"):
        self.values, self.shape, self.kind = values, shape, kind

    def detach(self):
        return self

    float = contiguous = cpu = numpy = detach

    def to(self, dtype):
        return FakeTensor(self.values, self.shape, dtype)

    def view(self, dtype):
        return FakeTensor(self.values, self.shape, self.kind + "/" + dtype)

    def tofile(self, f):
        for v in self.values:
            b = struct.pack("<f", v)
            f.write(b if self.kind == "f32" else b[2:4])  # bf16: the upper half of the float32


class fake_torch:
    def __enter__(self):
        self.saved = sys.modules.get("torch")
        sys.modules["torch"] = type(sys)("torch")
        sys.modules["torch"].bfloat16, sys.modules["torch"].int16 = "bf16", "i16"

    def __exit__(self, *exc):
        if self.saved is None:
            del sys.modules["torch"]
        else:
            sys.modules["torch"] = self.saved


class Files:
    def __init__(self, test):
        self.dir = tempfile.mkdtemp()
        test.addCleanup(shutil.rmtree, self.dir, True)

    def json(self, name, value):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            json.dump(value, f)
        return path

    def path(self, name):
        return os.path.join(self.dir, name)


class CompareWithTransformers(unittest.TestCase):
    def run_compare(self, an, bench=None):
        f = Files(self)
        hf = analysis(backend="transformers")
        hf.update({"tokens": 4096, "gpu": "test"})
        args = ["compare", "--hf", f.json("hf.json", hf), "--analyze", f.json("an.json", an), "--out", f.path("c.json")]
        if bench is not None:
            args += ["--bench", f.json("bench.json", bench)]
        rc = hf_compare.main(args)
        with open(f.path("c.json")) as fh:
            return rc, json.load(fh)

    def test_close_results_pass(self):
        rc, s = self.run_compare(analysis(shift=0.03, nll_shift=-0.04), bench={"backend": "cuda:0 (x, bf16)"})
        self.assertEqual(rc, 0, s["failures"])
        self.assertTrue(s["ok"])
        self.assertAlmostEqual(s["entropy_agreement"]["mean_entropy_diff"], 0.03, places=6)

    def test_entropy_above_the_threshold_fails(self):
        rc, s = self.run_compare(analysis(shift=0.06))
        self.assertEqual(rc, 1)
        self.assertTrue(any("mean query entropy" in x for x in s["failures"]), s["failures"])

    def test_one_layer_off_fails(self):
        rc, s = self.run_compare(analysis(shift_layer=1, shift=0.12))  # overall mean moves by 0.04 only
        self.assertEqual(rc, 1)
        self.assertTrue(any(x.startswith("layer 1 ") for x in s["failures"]), s["failures"])

    def test_nll_above_the_threshold_fails(self):
        rc, s = self.run_compare(analysis(nll_shift=0.051))
        self.assertEqual(rc, 1)
        self.assertTrue(any("mean NLL" in x for x in s["failures"]), s["failures"])

    def test_cpu_backend_fails(self):
        rc, s = self.run_compare(analysis(backend="cpu (16 threads)"))
        self.assertEqual(rc, 1)
        self.assertTrue(any("not on the CUDA backend" in x for x in s["failures"]), s["failures"])

    def test_cpu_benchmark_fails(self):
        rc, s = self.run_compare(analysis(), bench={"backend": "cpu (16 threads)"})
        self.assertEqual(rc, 1)
        self.assertTrue(any("the benchmark" in x for x in s["failures"]), s["failures"])

    def test_other_shape_fails(self):
        an = analysis()
        an["query_entropy"] = an["query_entropy"][:2]
        rc, s = self.run_compare(an)
        self.assertEqual(rc, 1)
        self.assertTrue(any("shaped" in x for x in s["failures"]), s["failures"])

    def test_missing_analysis_fails(self):
        f = Files(self)
        rc = hf_compare.main(["compare", "--hf", f.json("hf.json", analysis()), "--analyze", f.path("none.json"),
                              "--out", f.path("c.json")])
        self.assertEqual(rc, 1)


class CompareAttentionKernels(unittest.TestCase):
    def run_pair(self, ref, cand):
        f = Files(self)
        rc = hf_compare.main(["compare-attention", "--reference", f.json("fp32.json", ref), "--candidate",
                              f.json("mma.json", cand), "--out", f.path("c.json")])
        with open(f.path("c.json")) as fh:
            return rc, json.load(fh)

    def test_within_tolerance_passes(self):
        rc, s = self.run_pair(analysis(), analysis(shift=0.015, nll_shift=0.01))
        self.assertEqual(rc, 0, s["failures"])

    def test_above_tolerance_fails(self):
        rc, s = self.run_pair(analysis(), analysis(shift=0.025))
        self.assertEqual(rc, 1)
        rc, s = self.run_pair(analysis(), analysis(nll_shift=0.03))
        self.assertEqual(rc, 1)

    def test_both_must_be_cuda(self):
        rc, s = self.run_pair(analysis(), analysis(backend="cpu (2 threads)"))
        self.assertEqual(rc, 1)
        self.assertTrue(any("candidate" in x for x in s["failures"]), s["failures"])


class RandomContext(unittest.TestCase):
    def test_shape_and_range(self):
        f = Files(self)
        self.assertEqual(hf_compare.main(["context", "--out", f.path("c.json"), "--tokens", "50", "--queries", "8",
                                          "--vocab", "40"]), 0)
        with open(f.path("c.json")) as fh:
            c = json.load(fh)
        self.assertEqual((len(c["chunk_ids"]), len(c["chunk_ids"][0]), len(c["query_ids"])), (1, 42, 8))
        self.assertTrue(all(3 <= i < 40 for i in c["chunk_ids"][0] + c["query_ids"]))


class WholeFiles(unittest.TestCase):
    def small_gguf(self, path):
        cfg = dict(context=64, dim=8, layers=1, ffn=16, heads=2, kv_heads=1, rope_theta=10000.0, eps=1e-5)
        header, offsets, data_bytes = hf_compare.gguf_layout(
            cfg, [("a.weight", [4, 8], hf_compare.GGML_F32), ("b.weight", [3, 8], hf_compare.GGML_BF16)])
        self.assertEqual(offsets, [0, 128])
        with hf_compare.written_whole(path, "wb") as f:
            f.write(header + b"\0" * data_bytes)
        return len(header) + data_bytes

    def test_complete_and_cut_short(self):
        f = Files(self)
        path = f.path("m.gguf")
        size = self.small_gguf(path)
        self.assertFalse(os.path.exists(path + ".part"))
        self.assertIsNone(hf_compare.gguf_problem(path))
        self.assertEqual(hf_compare.main(["check-gguf", path]), 0)
        with open(path, "r+b") as fh:
            fh.truncate(size - 16)  # the last 16 bytes are padding after b.weight's 48
        self.assertIsNone(hf_compare.gguf_problem(path))
        with open(path, "r+b") as fh:
            fh.truncate(size - 17)
        self.assertIn("cut short", hf_compare.gguf_problem(path))
        self.assertEqual(hf_compare.main(["check-gguf", path]), 1)
        with open(path, "r+b") as fh:
            fh.truncate(40)
        self.assertIn("ends inside the header", hf_compare.gguf_problem(path))
        with open(path, "wb") as fh:
            fh.write(b"GGML" + struct.pack("<I", 3))
        self.assertIn("bad magic", hf_compare.gguf_problem(path))
        self.assertIn("No such file", hf_compare.gguf_problem(f.path("absent.gguf")))

    def test_write_gguf_writes_a_whole_file_under_its_name(self):
        f = Files(self)
        path = f.path("w.gguf")
        cfg = dict(context=64, dim=8, layers=1, ffn=16, heads=2, kv_heads=1, rope_theta=10000.0, eps=1e-5)
        tensors = [("a.weight", FakeTensor([0.5] * 32, [4, 8]), hf_compare.GGML_F32),
                   ("b.weight", FakeTensor([1.0] * 24, [3, 8]), hf_compare.GGML_BF16)]
        with fake_torch():
            hf_compare.write_gguf(path, cfg, tensors)
        self.assertFalse(os.path.exists(path + ".part"))
        self.assertIsNone(hf_compare.gguf_problem(path))
        header, offsets, data_bytes = hf_compare.gguf_layout(cfg, [(n, t.shape, g) for n, t, g in tensors])
        with open(path, "rb") as fh:
            data = fh.read()
        self.assertEqual(len(data), len(header) + data_bytes)
        self.assertEqual(struct.unpack_from("<f", data, len(header))[0], 0.5)
        self.assertEqual(struct.unpack_from("<H", data, len(header) + offsets[1])[0], 0x3F80)  # bf16 1.0

    def test_a_failed_writer_leaves_no_file(self):
        f = Files(self)
        path = f.path("out.json")
        with self.assertRaises(RuntimeError):
            with hf_compare.written_whole(path) as fh:
                fh.write("{")
                raise RuntimeError("killed")
        self.assertFalse(os.path.exists(path))
        self.assertFalse(os.path.exists(path + ".part"))
        hf_compare.write_json(path, {"a": 1})
        with open(path) as fh:
            self.assertEqual(json.load(fh), {"a": 1})


if __name__ == "__main__":
    unittest.main()
