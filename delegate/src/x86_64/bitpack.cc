// See bitpack.h. Compiled with the baseline flags.
#include "bitpack.h"

#include <cstddef>

#include "tensorflow/lite/kernels/internal/types.h"
#include "larq_compute_engine/core/bitpacking/bitpack.h"

namespace bnnkit_x86 {

void BitpackFloatMatrix(const IsaKernels& kernels, const float* in, std::int32_t rows,
                        std::int32_t cols, std::int32_t* out) {
  constexpr std::int32_t kBits = compute_engine::core::bitpacking_bitwidth;
  const std::int32_t full_words = cols / kBits, tail = cols % kBits;
  if (tail == 0) {  // no padding: one flat array
    kernels.bitpack(in, std::size_t(rows) * full_words, out);
    return;
  }
  for (std::int32_t row = 0; row < rows; ++row) {
    kernels.bitpack(in, full_words, out);
    compute_engine::core::bitpacking::bitpack_array(in + full_words * kBits, tail,
                                                    out + full_words, 0.0f);
    in += cols;
    out += full_words + 1;
  }
}

}  // namespace bnnkit_x86
