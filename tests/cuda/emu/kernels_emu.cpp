// The CUDA kernels compiled as C++ for the emulator (see cuda_emu.h).
#include "backend/cuda/kernels.cu"
