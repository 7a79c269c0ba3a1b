// The CUDA backend compiled as C++ for the emulator (see cuda_emu.h).
#include "backend/cuda/cuda_backend.cu"
