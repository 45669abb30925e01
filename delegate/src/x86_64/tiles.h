// The interface between the x86 microkernels and the code that drives them.
//
// Plain data only: this header is included by the translation units compiled with AVX2 or
// AVX-512 flags (avx2.cc, avx512_*.cc), which must not include LCE's or the standard
// library's inline code. An inline function compiled there with -mavx512f could be the copy
// the linker keeps for the whole library and then fault on a CPU without AVX-512.
#ifndef BNNKIT_DELEGATE_X86_64_TILES_H_
#define BNNKIT_DELEGATE_X86_64_TILES_H_

#include <cstddef>
#include <cstdint>

namespace bnnkit_x86 {

// What a microkernel writes for each (pixel, output channel).
enum class OutputKind {
  kFloat,         // LCE's float output transform: float(clamp(acc << 1)) * mul + bias
  kBitpacked,     // LCE's bitpacked output transform: bit = acc > threshold, 32 per word
  kAccumulators,  // the raw XOR-popcount sum as int32 (LCE's transform is applied after)
};

// One binary convolution, laid out by LCE's indirect-BGEMM Kernel (kernel.h):
//   weights:     Kernel::PackWeights with block_size_depth = 1 and block_size_output_channels
//                = the microkernel's block_oc: for each block of block_oc output channels,
//                for each filter position, for each 32-bit input word, block_oc words.
//   indirection: Kernel::FillIndirectionBuffer with block_size_pixels = block_px: for each
//                tile of block_px output pixels, for each filter position, block_px
//                pointers to the 32-bit words of one input pixel (or to LCE's zero buffer).
struct TileArgs {
  const std::int32_t* weights;
  const std::int32_t* const* indirection;
  std::int32_t filter_size;      // filter height * width
  std::int32_t depth;            // bitpacked input channels (32-bit words)
  std::int32_t output_channels;  // unpacked
  OutputKind output;
  // The fields of LCE's OutputTransform<float> (kFloat) or <TBitpacked> (kBitpacked).
  std::int32_t clamp_min;
  std::int32_t clamp_max;
  const float* multiplier;
  const float* bias;
  const std::int32_t* thresholds;
  // kFloat / kAccumulators: [pixel][output_channels]; kBitpacked: [pixel][ceil(oc / 32)].
  void* out;
};

// Computes output pixels [px_begin, px_end) for output-channel blocks [ocb_begin, ocb_end).
// px_begin is a multiple of block_px; px_end may cut the last tile short (the indirection
// buffer holds whole tiles, so the kernel computes it whole and stores only valid pixels).
using TileFunction = void (*)(const TileArgs& args, std::int32_t px_begin,
                              std::int32_t px_end, std::int32_t ocb_begin,
                              std::int32_t ocb_end);

// Sign-bitpacking of floats, LCE's LceQuantize semantics: bit i of word w is
// (in[32 * w + i] < 0.0f). Packs `words` full words.
using BitpackFunction = void (*)(const float* in, std::size_t words, std::int32_t* out);

// A microkernel family for one instruction set.
struct IsaKernels {
  const char* name;
  std::int32_t block_oc;  // output channels per block (16 or 32)
  std::int32_t block_px;  // output pixels per tile
  TileFunction tiles;
  BitpackFunction bitpack;
};

// Defined in the translation unit of each instruction set. Call one only after checking
// that the CPU has its instructions (see Detect in select.cc).
IsaKernels Avx2Kernels();                 // AVX2: vpshufb nibble popcount
IsaKernels Avx512BwKernels();             // AVX-512 F+BW: vpshufb nibble popcount, 512-bit
IsaKernels Avx512VpopcntdqKernels();      // AVX-512 F+BW+VPOPCNTDQ: vpopcntd

}  // namespace bnnkit_x86

#endif  // BNNKIT_DELEGATE_X86_64_TILES_H_
