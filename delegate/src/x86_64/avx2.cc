// AVX2 microkernels: the population count of each byte by two vpshufb lookups of its
// nibbles (the "nibble popcount" of Mula, Kurz and Lemire, "Faster Population Counts Using
// AVX2 Instructions", The Computer Journal 61(1), 2018), accumulated in bytes and widened to
// the 32-bit lane sums (vpmaddubsw, vpmaddwd) every 31 steps, before a byte can overflow.
// Compiled with -mavx2 (see FLAGS); only called after select.cc has seen AVX2 on the CPU.
#include <immintrin.h>

#include "microkernel.h"
#include "tiles.h"

namespace bnnkit_x86 {
namespace {

struct Avx2Nibble {
  using V = __m256i;
  using F = __m256;
  static constexpr int kLanes = 8;
  static constexpr int kMaxSteps = 31;  // 31 * 8 = 248 <= 255

  static V Zero() { return _mm256_setzero_si256(); }
  static V Set1(std::int32_t x) { return _mm256_set1_epi32(x); }
  static V Load(const std::int32_t* p) {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  }
  static V XorBroadcast(V w, const std::int32_t* a) {
    return _mm256_xor_si256(w, _mm256_set1_epi32(*a));
  }
  static V Count(V x) {  // per byte
    const V lookup = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4,
                                      0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
    const V low_nibbles = _mm256_set1_epi8(0x0f);
    const V lo = _mm256_and_si256(x, low_nibbles);
    const V hi = _mm256_and_si256(_mm256_srli_epi16(x, 4), low_nibbles);
    return _mm256_add_epi8(_mm256_shuffle_epi8(lookup, lo), _mm256_shuffle_epi8(lookup, hi));
  }
  static V Add8(V a, V b) { return _mm256_add_epi8(a, b); }
  static V Add32(V a, V b) { return _mm256_add_epi32(a, b); }
  static V Widen(V bytes) {
    const V pairs = _mm256_maddubs_epi16(bytes, _mm256_set1_epi8(1));
    return _mm256_madd_epi16(pairs, _mm256_set1_epi16(1));
  }
  static void StoreInt(std::int32_t* p, V x) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), x);
  }
  static F LoadF(const float* p) { return _mm256_loadu_ps(p); }
  static void TransformStore(float* dst, V acc, F mul, F bias, V cmin, V cmax) {
    V x = _mm256_slli_epi32(acc, 1);
    x = _mm256_max_epi32(_mm256_min_epi32(x, cmax), cmin);
    _mm256_storeu_ps(dst, _mm256_add_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(x), mul), bias));
  }
  static std::uint32_t GreaterMask(V acc, V thresholds) {
    return static_cast<std::uint32_t>(
        _mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpgt_epi32(acc, thresholds))));
  }
};

void BitpackAvx2(const float* in, std::size_t words, std::int32_t* out) {
  const __m256 zero = _mm256_setzero_ps();
  for (std::size_t w = 0; w < words; ++w, in += 32) {
    std::uint32_t bits = 0;
    for (int q = 0; q < 4; ++q) {
      const __m256 less = _mm256_cmp_ps(_mm256_loadu_ps(in + 8 * q), zero, _CMP_LT_OQ);
      bits |= static_cast<std::uint32_t>(_mm256_movemask_ps(less)) << (8 * q);
    }
    out[w] = static_cast<std::int32_t>(bits);
  }
}

// 4 pixels x 16 output channels: 8 byte and 8 int32 accumulators in 16 ymm registers.
using Kernel = Microkernel<Avx2Nibble, 4, 2>;

}  // namespace

IsaKernels Avx2Kernels() {
  return {"avx2", Kernel::kBlockOc, Kernel::kBlockPx, &Kernel::Run, &BitpackAvx2};
}

}  // namespace bnnkit_x86
