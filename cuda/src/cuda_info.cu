// CUDA presence check and a self-test kernel (bf16 -> f32 GEMV) that the device script runs first.
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "hogwild.h"

namespace hogwild {
namespace {

// y[n] = sum_k W[n][k] * x[k]: one warp per output row.
__global__ void gemv_bf16(const __nv_bfloat16* w, const float* x, float* y, int N, int K) {
  const int n = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32, lane = threadIdx.x % 32;
  if (n >= N) return;
  float acc = 0;
  for (int k = lane; k < K; k += 32) acc += __bfloat162float(w[size_t(n) * K + k]) * x[k];
  for (int o = 16; o > 0; o /= 2) acc += __shfl_down_sync(0xffffffff, acc, o);
  if (lane == 0) y[n] = acc;
}

int selftest() {
  const int N = 64, K = 256;
  std::vector<__nv_bfloat16> w(N * K);
  std::vector<float> x(K), y(N), want(N, 0.0f);
  for (int k = 0; k < K; k++) x[k] = float(k % 7) - 3;
  for (int n = 0; n < N; n++)
    for (int k = 0; k < K; k++) {
      const float v = float((n * 31 + k * 17) % 13) / 8 - 0.75f;  // exact in bf16
      w[n * K + k] = __float2bfloat16(v);
      want[n] += v * x[k];
    }
  __nv_bfloat16* dw;
  float *dx, *dy;
  if (cudaMalloc(&dw, w.size() * 2) || cudaMalloc(&dx, K * 4) || cudaMalloc(&dy, N * 4)) return 0;
  cudaMemcpy(dw, w.data(), w.size() * 2, cudaMemcpyHostToDevice);
  cudaMemcpy(dx, x.data(), K * 4, cudaMemcpyHostToDevice);
  gemv_bf16<<<N / 4, 128>>>(dw, dx, dy, N, K);
  const bool ok = cudaMemcpy(y.data(), dy, N * 4, cudaMemcpyDeviceToHost) == cudaSuccess;
  cudaFree(dw);
  cudaFree(dx);
  cudaFree(dy);
  if (!ok) return 0;
  for (int n = 0; n < N; n++)
    if (std::fabs(y[n] - want[n]) > 1e-3f) return 0;
  return 1;
}

}  // namespace

double device_copy_bandwidth(size_t bytes, int reps) {
  if (reps < 1) throw Error("device_copy_bandwidth: reps must be at least 1, got " + std::to_string(reps));
  void *a, *b;
  if (cudaMalloc(&a, bytes) || cudaMalloc(&b, bytes)) throw Error("device_copy_bandwidth: cudaMalloc failed");
  cudaMemset(a, 1, bytes);
  cudaEvent_t e0, e1;
  cudaEventCreate(&e0);
  cudaEventCreate(&e1);
  std::vector<float> ms;
  for (int r = 0; r <= reps; r++) {
    cudaEventRecord(e0);
    cudaMemcpy(b, a, bytes, cudaMemcpyDeviceToDevice);
    cudaEventRecord(e1);
    cudaEventSynchronize(e1);
    float t;
    cudaEventElapsedTime(&t, e0, e1);
    if (r) ms.push_back(t);  // the first copy warms up
  }
  cudaFree(a);
  cudaFree(b);
  cudaEventDestroy(e0);
  cudaEventDestroy(e1);
  std::sort(ms.begin(), ms.end());
  return 2.0 * double(bytes) / (ms[ms.size() / 2] / 1e3);
}

CudaInfo cuda_info() {
  CudaInfo info;
  info.compiled = true;
  cudaError_t err = cudaGetDeviceCount(&info.device_count);
  if (err != cudaSuccess) {
    info.device_count = 0;
    info.error = cudaGetErrorString(err);
    return info;
  }
  if (info.device_count > 0) {
    cudaDeviceProp prop;
    if (cudaGetDeviceProperties(&prop, 0) == cudaSuccess) info.name = prop.name;
    info.selftest = selftest();
    // why it could not run (no kernel image for this card, no memory), where a CUDA call said so
    if (info.selftest != 1)
      if (const cudaError_t e = cudaGetLastError(); e != cudaSuccess) info.error = cudaGetErrorString(e);
  }
  return info;
}

}  // namespace hogwild
