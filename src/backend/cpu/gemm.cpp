// GEMMs go to OpenBLAS (its OpenMP build: inside an OpenMP parallel region it runs on the
// calling thread only, which is what the per-head attention loop wants).
#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <cstring>

#include "backend/ops.h"

namespace bertkit::ops {

void set_num_threads(int n) {
  if (n <= 0) n = omp_get_num_procs();
  omp_set_num_threads(n);
  openblas_set_num_threads(n);
}

int num_threads() { return omp_get_max_threads(); }

void gemm(bool trans_a, bool trans_b, std::int64_t M, std::int64_t N, std::int64_t K, float alpha,
          const float* A, std::int64_t lda, const float* B, std::int64_t ldb, float beta, float* C,
          std::int64_t ldc) {
  if (M == 0 || N == 0) return;
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
              trans_b ? CblasTrans : CblasNoTrans, static_cast<blasint>(M), static_cast<blasint>(N),
              static_cast<blasint>(K), alpha, A, static_cast<blasint>(lda), B,
              static_cast<blasint>(ldb), beta, C, static_cast<blasint>(ldc));
}

void gemm_strided_batched(bool trans_a, bool trans_b, std::int64_t M, std::int64_t N,
                          std::int64_t K, float alpha, const float* A, std::int64_t lda,
                          std::int64_t stride_a, const float* B, std::int64_t ldb,
                          std::int64_t stride_b, float beta, float* C, std::int64_t ldc,
                          std::int64_t stride_c, std::int64_t batch) {
  // Small independent problems: one per thread beats threading inside each.
#pragma omp parallel for schedule(static)
  for (std::int64_t i = 0; i < batch; ++i) {
    gemm(trans_a, trans_b, M, N, K, alpha, A + i * stride_a, lda, B + i * stride_b, ldb, beta,
         C + i * stride_c, ldc);
  }
}

void matmul_forward(float* out, const float* inp, const float* weight, const float* bias,
                    std::int64_t N, std::int64_t C, std::int64_t OC, std::int64_t ldi,
                    std::int64_t ldo) {
  if (ldi == 0) ldi = C;
  if (ldo == 0) ldo = OC;
  float beta = 0.0f;
  if (bias) {
    // Bias epilogue as GEMM prologue: C starts as the broadcast bias and beta = 1.
#pragma omp parallel for schedule(static)
    for (std::int64_t n = 0; n < N; ++n) std::memcpy(out + n * ldo, bias, sizeof(float) * OC);
    beta = 1.0f;
  }
  gemm(false, true, N, OC, C, 1.0f, inp, ldi, weight, C, beta, out, ldo);
}

}  // namespace bertkit::ops
