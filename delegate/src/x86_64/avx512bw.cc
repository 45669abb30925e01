// AVX-512 microkernels for CPUs with AVX-512 BW but without VPOPCNTDQ (Skylake-SP, Cascade
// Lake): the nibble popcount of avx2.cc on 512-bit registers. Compiled with -mavx512f
// -mavx512bw (see FLAGS); only called after select.cc has seen them on the CPU.
#include <immintrin.h>

#include "avx512_common.h"
#include "microkernel.h"
#include "tiles.h"

namespace bnnkit_x86 {
namespace {

struct Avx512BwNibble : Avx512Base {
  static constexpr int kMaxSteps = 31;  // byte counts: 31 * 8 = 248 <= 255
  static V Count(V x) {                 // per byte
    const V lookup = _mm512_broadcast_i32x4(
        _mm_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4));
    const V low_nibbles = _mm512_set1_epi8(0x0f);
    const V lo = _mm512_and_si512(x, low_nibbles);
    const V hi = _mm512_and_si512(_mm512_srli_epi16(x, 4), low_nibbles);
    return _mm512_add_epi8(_mm512_shuffle_epi8(lookup, lo), _mm512_shuffle_epi8(lookup, hi));
  }
  static V Add8(V a, V b) { return _mm512_add_epi8(a, b); }
  static V Widen(V bytes) {  // the 4 byte counts of each int32 lane, summed
    const V pairs = _mm512_maddubs_epi16(bytes, _mm512_set1_epi8(1));
    return _mm512_madd_epi16(pairs, _mm512_set1_epi16(1));
  }
};

// 4 pixels x 32 output channels: 8 byte and 8 int32 accumulators.
using Kernel = Microkernel<Avx512BwNibble, 4, 2>;

}  // namespace

IsaKernels Avx512BwKernels() {
  return {"avx512bw", Kernel::kBlockOc, Kernel::kBlockPx, &Kernel::Run, &BitpackAvx512};
}

}  // namespace bnnkit_x86
