// The tensor-core attention kernel compiled as C++ for the emulator (see cuda_emu.h).
#include "backend/cuda/attention_mma.cu"
