// LceQuantize's sign-bitpacking of a float tensor with the x86 kernels.
#ifndef BNNKIT_DELEGATE_X86_64_BITPACK_H_
#define BNNKIT_DELEGATE_X86_64_BITPACK_H_

#include <cstdint>

#include "tiles.h"

namespace bnnkit_x86 {

// Bitpacks each row of a rows x cols float matrix as LCE's bitpack_matrix does (zero
// point 0): bit i of word w of a row is (row[32 * w + i] < 0.0f); a row's last word is
// padded with zero bits. Full words go through kernels.bitpack, a row's partial last word
// through LCE's own bitpack_array.
void BitpackFloatMatrix(const IsaKernels& kernels, const float* in, std::int32_t rows,
                        std::int32_t cols, std::int32_t* out);

}  // namespace bnnkit_x86

#endif  // BNNKIT_DELEGATE_X86_64_BITPACK_H_
