// AVX-512 microkernels with VPOPCNTDQ: one vpopcntd counts the 16 32-bit lanes of a zmm
// register, so a binary MAC costs 3/512 instructions (vpxord with an embedded broadcast,
// vpopcntd, vpaddd). Compiled with -mavx512f -mavx512bw -mavx512vpopcntdq (see FLAGS);
// only called after select.cc has seen these features on the CPU.
#include <immintrin.h>

#include "avx512_common.h"
#include "microkernel.h"
#include "tiles.h"

namespace bnnkit_x86 {
namespace {

struct Avx512Vpopcntdq : Avx512Base {
  static constexpr int kMaxSteps = 0;  // 32-bit counts: nothing to widen
  static V Count(V x) { return _mm512_popcnt_epi32(x); }
};

// 8 pixels x 32 output channels: 16 zmm accumulators, 2 of weights.
using Kernel = Microkernel<Avx512Vpopcntdq, 8, 2>;

}  // namespace

IsaKernels Avx512VpopcntdqKernels() {
  return {"avx512_vpopcntdq", Kernel::kBlockOc, Kernel::kBlockPx, &Kernel::Run,
          &BitpackAvx512};
}

}  // namespace bnnkit_x86
