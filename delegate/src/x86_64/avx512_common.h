// What the two AVX-512 microkernel families share: 16 int32 lanes per zmm register, LCE's
// output transforms on them, and sign-bitpacking of floats. Internal linkage only; included
// by avx512bw.cc and avx512_vpopcntdq.cc (see tiles.h for why).
#ifndef BNNKIT_DELEGATE_X86_64_AVX512_COMMON_H_
#define BNNKIT_DELEGATE_X86_64_AVX512_COMMON_H_

#include <immintrin.h>

#include <cstddef>
#include <cstdint>

namespace bnnkit_x86 {
namespace {

struct Avx512Base {
  using V = __m512i;
  using F = __m512;
  static constexpr int kLanes = 16;

  static V Zero() { return _mm512_setzero_si512(); }
  static V Set1(std::int32_t x) { return _mm512_set1_epi32(x); }
  static V Load(const std::int32_t* p) { return _mm512_loadu_si512(p); }
  // Compiles to one vpxord with an embedded {1to16} broadcast of the input word.
  static V XorBroadcast(V w, const std::int32_t* a) {
    return _mm512_xor_si512(w, _mm512_set1_epi32(*a));
  }
  static V Add32(V a, V b) { return _mm512_add_epi32(a, b); }
  static void StoreInt(std::int32_t* p, V x) { _mm512_storeu_si512(p, x); }
  static F LoadF(const float* p) { return _mm512_loadu_ps(p); }
  // LCE's float transform: x = clamp(acc << 1, clamp_min, clamp_max); float(x) * mul + bias,
  // rounded after the product and after the sum (no fused multiply-add: the files that
  // include this are compiled with -ffp-contract=off).
  static void TransformStore(float* dst, V acc, F mul, F bias, V cmin, V cmax) {
    V x = _mm512_slli_epi32(acc, 1);
    x = _mm512_max_epi32(_mm512_min_epi32(x, cmax), cmin);
    _mm512_storeu_ps(dst, _mm512_add_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(x), mul), bias));
  }
  // LCE's bitpacked transform: bit = acc > threshold (signed).
  static std::uint32_t GreaterMask(V acc, V thresholds) {
    return _mm512_cmpgt_epi32_mask(acc, thresholds);
  }
};

// LCE's bitpack_bitfield: bit i = (x[i] < 0.0f); NaN and -0.0f give 0, as _CMP_LT_OQ does.
void BitpackAvx512(const float* in, std::size_t words, std::int32_t* out) {
  const __m512 zero = _mm512_setzero_ps();
  for (std::size_t w = 0; w < words; ++w, in += 32) {
    const std::uint32_t lo = _mm512_cmp_ps_mask(_mm512_loadu_ps(in), zero, _CMP_LT_OQ);
    const std::uint32_t hi = _mm512_cmp_ps_mask(_mm512_loadu_ps(in + 16), zero, _CMP_LT_OQ);
    out[w] = static_cast<std::int32_t>(lo | (hi << 16));
  }
}

}  // namespace
}  // namespace bnnkit_x86

#endif  // BNNKIT_DELEGATE_X86_64_AVX512_COMMON_H_
