#pragma once
// The fused attention cases both attention kernels are tested on (the FP32 kernel in
// test_cuda_kernels.cpp, the tensor-core kernel in test_cuda_attention_mma.cpp): the case, its
// inputs on the device and on the host, and the passes that compare a kernel against the CPU
// twin (reference::attentionForward). Each test file brings its launcher and its tolerances.
#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "backend/cuda/kernels.h"
#include "backend/cuda/kernels_reference.h"
#include "backend/cuda/plan_view.h"
#include "core/dtype.h"
#include "cuda_test_support.h"
#include "kernel_test_data.h"

namespace attnscope::cuda::test {

struct AttentionCase {
    std::string name;
    ElemType type = ElemType::F32;
    int heads = 4, kvHeads = 2, hd = 16;
    int prefix = 3;
    std::vector<int> chunks = {20, 13, 31};
    int queries = 9;
    bool parallel = true;
    int window = 0;
    WindowRule windowRule = WindowRule::Physical;
    bool select = false;
    bool split = false;      // context and query rows in separate buffers
    bool queryOnly = false;  // only the query rows (the reuse pass)
    float amp = 1.5f;
    std::uint32_t seed = 20;  // q, k and v draw from seed, seed + 1, seed + 2
};

// ---- the cases both kernels run, on top of a kernel's default case -------------------------------

inline AttentionCase headDim256Case(AttentionCase c) {
    c.name = "parallel, hd 256";
    c.hd = 256;
    c.heads = 2;
    c.kvHeads = 2;
    c.chunks = {12, 20};
    c.queries = 5;
    return c;
}

// One case per storage type.
inline std::vector<AttentionCase> selectionSplitRowsCases(const AttentionCase& base) {
    std::vector<AttentionCase> cases;
    for (ElemType t : {ElemType::F32, ElemType::F16, ElemType::BF16}) {
        AttentionCase c = base;
        c.name = std::string("selective, split rows, ") + elemName(t);
        c.type = t;
        c.select = true;
        c.split = true;
        c.chunks = {9, 33, 16, 5, 21};
        c.queries = 12;
        c.prefix = 4;
        cases.push_back(c);
    }
    return cases;
}

inline AttentionCase queryOnlyNoPrefixCase(AttentionCase c) {
    c.name = "query rows only, no prefix";
    c.prefix = 0;
    c.queryOnly = true;
    c.split = true;
    c.select = true;
    c.chunks = {40, 40, 40};
    c.queries = 20;
    return c;
}

// 40 small chunks (3 to 13 tokens), selected, GQA 2/1 at the base's head size.
inline AttentionCase manyChunksCase(AttentionCase c) {
    c.name = "40 chunks, hd " + std::to_string(c.hd);
    c.heads = 2;
    c.kvHeads = 1;
    c.chunks.clear();
    for (int i = 0; i < 40; ++i) c.chunks.push_back(3 + (i * 7) % 11);
    c.queries = 6;
    c.select = true;
    return c;
}

// A selective parallel case with a sliding window of `window` keys.
inline AttentionCase windowCase(AttentionCase c, std::string name, int window, std::vector<int> chunks, int queries) {
    c.name = std::move(name);
    c.window = window;
    c.chunks = std::move(chunks);
    c.queries = queries;
    c.select = true;
    return c;
}

// c with its window measured by position ids (parallel mode: the chunks' positions overlap).
inline AttentionCase byPosition(AttentionCase c, std::string name) {
    c.name = std::move(name);
    c.windowRule = WindowRule::Position;
    return c;
}

// The case's plan (kernel_test_data.h makePlan).
inline EncodingPlan planOf(const AttentionCase& c) {
    return makePlan(c.prefix, c.chunks, c.queries, c.parallel, c.windowRule);
}

// c over the same tokens in full mode, with a window of `window` keys.
inline AttentionCase inFullMode(AttentionCase c, std::string name, int window) {
    c.name = std::move(name);
    c.parallel = false;
    c.window = window;
    return c;
}

// ---- inputs and passes ---------------------------------------------------------------------------

// A token-major matrix on the device, whole or split at `split`, and its host twin.
struct Rows {
    DeviceBytes head, tail;
    std::vector<std::uint8_t> host;
    TokenRows device, onHost;
    Rows(ElemType t, const std::vector<float>& values, int N, int stride, int split) : host(toBytes(t, values)) {
        const auto cut = static_cast<std::ptrdiff_t>(static_cast<std::size_t>(split) * stride * elemSize(t));
        head = DeviceBytes(std::vector<std::uint8_t>(host.begin(), host.begin() + cut));
        tail = DeviceBytes(std::vector<std::uint8_t>(host.begin() + cut, host.end()));
        device = TokenRows{head.get(), tail.get(), split, stride};
        onHost = TokenRows{host.data(), host.data(), N, stride};
    }
};

// Bounds of |kernel - twin| <= abs + rel·|twin| for each output.
struct AttentionTolerances {
    double entropyAbs, entropyRel, lseAbs, lseRel, outAbs, outRel;
};

using AttentionLauncher = cudaError_t (*)(const AttentionForwardArgs&, cudaStream_t);

// One pass on the device and on the host: rows [rowBegin, N) written from output row
// outRowOffset on; outputs start as NaN (entropy, lse) and zero (output) on both sides, so a
// kernel that writes outside its rows fails the comparison.
struct AttentionPass {
    AttentionForwardArgs dev, host;
    DeviceBytes out, ent, lse;
    std::vector<std::uint8_t> wantOut;
    std::vector<float> wantEnt, wantLse;
};

inline void prepareAttentionPass(const AttentionCase& c, int N, int rowBegin, int outRowOffset, AttentionPass& p) {
    const std::vector<float> nanHN(static_cast<std::size_t>(c.heads) * N, NAN);
    p.out = DeviceBytes(static_cast<std::size_t>(N - outRowOffset) * c.heads * c.hd * elemSize(c.type));
    p.out.zero();
    p.ent = DeviceBytes(nanHN);
    p.lse = DeviceBytes(nanHN);
    p.wantOut.assign(p.out.size(), 0);
    p.wantEnt = nanHN;
    p.wantLse = nanHN;
    p.dev.rowBegin = p.host.rowBegin = rowBegin;
    p.dev.rowEnd = p.host.rowEnd = N;
    p.dev.outRowOffset = p.host.outRowOffset = outRowOffset;
    p.dev.out = p.out.get();
    p.dev.entropy = p.ent.get<float>();
    p.dev.lse = p.lse.get<float>();
    p.host.out = p.wantOut.data();
    p.host.entropy = p.wantEnt.data();
    p.host.lse = p.wantLse.data();
}

inline void compareAttentionPass(const AttentionCase& c, AttentionPass& p, AttentionLauncher launch,
                                 const AttentionTolerances& tol, const std::string& what) {
    SCOPED_TRACE(what);
    ATTN_CUDA_OK(launch(p.dev, nullptr));
    ATTN_CUDA_OK(cudaDeviceSynchronize());
    reference::attentionForward(p.host);
    EXPECT_TRUE(allClose(p.ent.download<float>(), p.wantEnt, tol.entropyAbs, tol.entropyRel, "entropy"));
    EXPECT_TRUE(allClose(p.lse.download<float>(), p.wantLse, tol.lseAbs, tol.lseRel, "lse"));
    EXPECT_TRUE(allClose(fromBytes(c.type, p.out.download<std::uint8_t>()), fromBytes(c.type, p.wantOut), tol.outAbs,
                         tol.outRel, "output"));
}

// A case's inputs (values rounded to the storage type, so the twin and the kernel read the same
// inputs), its pass over all rows (or the query rows only) and, where c.select, its selective
// pass over the query rows: a fixed keep mask, renormalised with the floor from lseBefore.
struct AttentionRun {
    Rows q, k, v;
    DeviceBytes rowKeys, keyChunk, windowPositions;
    AttentionPass all, selected;
    std::vector<std::uint8_t> keep;
    DeviceBytes deviceKeep;
    std::vector<float> lseBefore;
    DeviceBytes deviceLseBefore;

    AttentionRun(const AttentionCase& c, const PlanView& view)
        : q(c.type, randomFloats(rowValues(view, c.heads, c), c.seed, c.amp), view.tokens, c.heads * c.hd,
            splitRow(c, view)),
          k(c.type, randomFloats(rowValues(view, c.kvHeads, c), c.seed + 1, c.amp), view.tokens, c.kvHeads * c.hd,
            splitRow(c, view)),
          v(c.type, randomFloats(rowValues(view, c.kvHeads, c), c.seed + 2, 1.0f), view.tokens, c.kvHeads * c.hd,
            splitRow(c, view)),
          rowKeys(view.rowKeys),
          keyChunk(view.keyChunk),
          windowPositions(view.windowPositions) {
        all.dev.type = all.host.type = c.type;
        all.dev.g = all.host.g = AttentionGeometry{
            view.tokens, c.heads, c.kvHeads, c.hd, 1.0f / std::sqrt(static_cast<float>(c.hd)), c.window};
        const bool byPosition = !view.windowPositions.empty();
        all.dev.vis =
            VisibilityArgs{rowKeys.get<int>(), keyChunk.get<int>(), nullptr,
                           view.queryBegin,    view.chunks,         byPosition ? windowPositions.get<int>() : nullptr};
        all.host.vis = VisibilityArgs{
            view.rowKeys.data(), view.keyChunk.data(), nullptr,
            view.queryBegin,     view.chunks,          byPosition ? view.windowPositions.data() : nullptr};
        all.dev.q = q.device, all.dev.k = k.device, all.dev.v = v.device;
        all.host.q = q.onHost, all.host.k = k.onHost, all.host.v = v.onHost;
        const int rowBegin = c.queryOnly ? view.queryBegin : 0;
        prepareAttentionPass(c, view.tokens, rowBegin, rowBegin, all);
    }

    bool selects(const AttentionCase& c, const PlanView& view) const {
        return c.select && view.queries > 0 && view.chunks > 0;
    }

    // The selective pass writes the same output rows as the first one (output row offset 0
    // unless the case is query-only) from row queryBegin on.
    void prepareSelected(const AttentionCase& c, const PlanView& view) {
        keep.resize(static_cast<std::size_t>(c.heads) * view.queries * view.chunks);
        for (std::size_t x = 0; x < keep.size(); ++x)
            keep[x] = static_cast<std::uint8_t>((x * 2654435761u >> 7) % 3 == 0);
        lseBefore = all.wantLse;
        deviceKeep = DeviceBytes(keep);
        deviceLseBefore = DeviceBytes(lseBefore);
        selected.dev = all.dev;
        selected.host = all.host;
        selected.dev.vis.selected = deviceKeep.get<std::uint8_t>();
        selected.host.vis.selected = keep.data();
        selected.dev.lseBefore = deviceLseBefore.get<float>();
        selected.host.lseBefore = lseBefore.data();
        prepareAttentionPass(c, view.tokens, view.queryBegin, all.dev.outRowOffset, selected);
    }

    // The visibility of the last pass: with the keep mask where the case selects.
    VisibilityArgs finalVisibility(bool onDevice) const {
        VisibilityArgs vis = onDevice ? all.dev.vis : all.host.vis;
        if (!keep.empty()) vis.selected = onDevice ? deviceKeep.get<std::uint8_t>() : keep.data();
        return vis;
    }

    // The kernel's lse after both passes: the selective pass's on the query rows.
    std::vector<float> finalLse(const PlanView& view) const {
        std::vector<float> lse = all.lse.download<float>();
        if (keep.empty()) return lse;
        const std::vector<float> after = selected.lse.download<float>();
        for (std::size_t hi = 0; hi < lse.size(); ++hi)
            if (static_cast<int>(hi % static_cast<std::size_t>(view.tokens)) >= view.queryBegin) lse[hi] = after[hi];
        return lse;
    }

private:
    static std::size_t rowValues(const PlanView& view, int heads, const AttentionCase& c) {
        return static_cast<std::size_t>(view.tokens) * heads * c.hd;
    }
    static int splitRow(const AttentionCase& c, const PlanView& view) {
        return c.split ? view.queryBegin : view.tokens;
    }
};

// Both passes of a case through `launch`, each against the twin within `tol`.
inline void runAttentionPasses(const AttentionCase& c, const PlanView& view, AttentionRun& run,
                               AttentionLauncher launch, const AttentionTolerances& tol) {
    compareAttentionPass(c, run.all, launch, tol, "unselected");
    if (!run.selects(c, view)) return;
    run.prepareSelected(c, view);
    compareAttentionPass(c, run.selected, launch, tol, "selected");
}

}  // namespace attnscope::cuda::test
