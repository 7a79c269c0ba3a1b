#pragma once
// Attention entropy from online softmax statistics: the one formula behind the CPU backend,
// the CUDA kernels and their CPU twins (DESIGN.md, lesson 5).
//
// For one attention row with scores s_j over the keys it keeps and a running maximum m:
//   l = Σ e^(s_j − m)               (the softmax normaliser, relative to m)
//   t = Σ e^(s_j − m) · (s_j − m)
// With p_j = e^(s_j − m) / D the entropy in nats is
//   H = −Σ p_j ln p_j = (l / D) · ln D − t / D.
// D = l for a plain softmax. Selective attention drops keys and renormalises the rest with
// D = max(l_kept, 1e-5 · l_all) (PAPER.md: p ← p / max(Σp, 1e-5)); l and t then run over the
// kept keys only.
//
// Everything here is inline and compiles as device code too.
#include <math.h>

#include "core/host_device.h"

namespace attnscope {

constexpr double kRenormalisationFloor = 1e-5;              // PAPER.md's 1e-5
constexpr float kLogRenormalisationFloor = -11.512925465f;  // ln 1e-5

// D = max(l_kept, 1e-5 · l_all): the renormaliser of the kept probabilities.
ATTN_HOST_DEVICE inline double renormaliser(double lKept, double lAll) {
    return lKept > kRenormalisationFloor * lAll ? lKept : kRenormalisationFloor * lAll;
}

// H = (l / D) · ln D − t / D, in double (the CPU backend).
ATTN_HOST_DEVICE inline double entropyNats(double l, double t, double D) { return l / D * log(D) - t / D; }

// The same in float with D given by its logarithm, so that nothing overflows (the kernels):
// H = e^(ln l − ln D) · ln D − t · e^(−ln D).
ATTN_HOST_DEVICE inline float entropyNatsLog(float logL, float t, float logD) {
    return expf(logL - logD) * logD - t * expf(-logD);
}

// ln D for the kept keys' ln l and the unselected row's log-sum-exp relative to m
// (lseAll − m): max(ln l_kept, ln 1e-5 + ln l_all).
ATTN_HOST_DEVICE inline float logRenormaliser(float logLKept, float lseAllMinusM) {
    const float floorLog = kLogRenormalisationFloor + lseAllMinusM;
    return logLKept > floorLog ? logLKept : floorLog;
}

// The running (m, l, t) of one row, updated one tile of keys at a time (FlashAttention's online
// softmax, extended by t).
struct OnlineStats {
    float m = -INFINITY;  // running maximum of the scores
    float l = 0;          // Σ e^(s − m)
    float t = 0;          // Σ e^(s − m) · (s − m)

    // Takes in a tile whose keys, relative to the new maximum mNew >= m, sum to
    // sumE = Σ e^(s − mNew) and sumES = Σ e^(s − mNew)·(s − mNew). Returns the factor
    // e^(m − mNew) by which accumulators formed relative to the old m (the value mix) must be
    // scaled. Old keys: Σ e^(s − mNew)(s − mNew) = c · (t + l · (m − mNew)).
    ATTN_HOST_DEVICE inline float absorb(float mNew, float sumE, float sumES) {
        const float c = m == -INFINITY ? 0.0f : expf(m - mNew);
        t = (l > 0 ? c * (t + l * (m - mNew)) : 0.0f) + sumES;
        l = l * c + sumE;
        m = mNew;
        return c;
    }
};

}  // namespace attnscope
