// The indirect-BGEMM microkernel, written once over an instruction-set "traits" type.
//
// Included only by the per-instruction-set translation units (avx2.cc, avx512_*.cc), and
// everything here has internal linkage (anonymous namespace): each of those units gets its
// own copy compiled for its own instructions, and none can leak into code that runs on
// other CPUs (see tiles.h).
//
// What one tile computes: for block_px output pixels p and block_oc output channels o,
//     acc[p][o] = sum over filter positions f and input words c of
//                 popcount(input[p, f][c] XOR weights[o, f][c])
// which is LCE's binary-convolution accumulator (core/types.h, xor_popcount: the number of
// the 32 * depth * filter_size +-1 products that are -1). The weights of one output-channel
// block are vectors of block_oc 32-bit words (one per output channel); each input word is
// broadcast to all lanes, XORed with them, counted per 32-bit lane and accumulated:
// an outer product, so no horizontal sum is ever needed.
//
// Traits T provides, with V an integer vector of T::kLanes int32 lanes, F a float vector:
//   Zero, Set1, Load, XorBroadcast(w, a) = w ^ broadcast(*a), Count, Add32, StoreInt,
//   and, when the counts are bytes (vpshufb nibble lookup, T::kMaxSteps > 0), Add8 and
//   Widen (sum of the 4 byte counts of each int32 lane; bytes overflow after 255 / 8 = 31
//   steps, so they are widened every kMaxSteps steps);
//   LoadF, TransformStore(dst, acc, mul, bias, clamp_min, clamp_max) and GreaterMask(acc,
//   thresholds) with LCE's output transforms (core/bconv2d/output_transform.h).
#ifndef BNNKIT_DELEGATE_X86_64_MICROKERNEL_H_
#define BNNKIT_DELEGATE_X86_64_MICROKERNEL_H_

#include <cstdint>
#include <cstring>

#include "tiles.h"

namespace bnnkit_x86 {
namespace {

#define BNNKIT_INLINE __attribute__((always_inline)) inline

template <class T, int BP, int NV>
struct Microkernel {
  using V = typename T::V;
  using F = typename T::F;
  static constexpr int kLanes = T::kLanes;
  static constexpr int kBlockOc = NV * kLanes;
  static constexpr int kBlockPx = BP;

  // acc[j][v] = the accumulators of pixel j, output channels v * kLanes ... + kLanes - 1.
  static BNNKIT_INLINE void Accumulate(const std::int32_t* w,
                                       const std::int32_t* const* indirection,
                                       std::int32_t filter_size, std::int32_t depth,
                                       V (&acc)[BP][NV]) {
#pragma GCC unroll 16
    for (int j = 0; j < BP; ++j) {
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[j][v] = T::Zero();
    }
    if constexpr (T::kMaxSteps == 0) {
      for (std::int32_t f = 0; f < filter_size; ++f, indirection += BP) {
        const std::int32_t* a[BP];
#pragma GCC unroll 16
        for (int j = 0; j < BP; ++j) a[j] = indirection[j];
        for (std::int32_t c = 0; c < depth; ++c, w += kBlockOc) {
          V wv[NV];
#pragma GCC unroll 4
          for (int v = 0; v < NV; ++v) wv[v] = T::Load(w + v * kLanes);
#pragma GCC unroll 16
          for (int j = 0; j < BP; ++j) {
#pragma GCC unroll 4
            for (int v = 0; v < NV; ++v) {
              acc[j][v] = T::Add32(acc[j][v], T::Count(T::XorBroadcast(wv[v], a[j] + c)));
            }
          }
        }
      }
    } else {
      V bytes[BP][NV];
#pragma GCC unroll 16
      for (int j = 0; j < BP; ++j) {
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) bytes[j][v] = T::Zero();
      }
      int budget = T::kMaxSteps;
      for (std::int32_t f = 0; f < filter_size; ++f, indirection += BP) {
        const std::int32_t* a[BP];
#pragma GCC unroll 16
        for (int j = 0; j < BP; ++j) a[j] = indirection[j];
        for (std::int32_t c = 0; c < depth; ++c, w += kBlockOc) {
          V wv[NV];
#pragma GCC unroll 4
          for (int v = 0; v < NV; ++v) wv[v] = T::Load(w + v * kLanes);
#pragma GCC unroll 16
          for (int j = 0; j < BP; ++j) {
#pragma GCC unroll 4
            for (int v = 0; v < NV; ++v) {
              bytes[j][v] = T::Add8(bytes[j][v], T::Count(T::XorBroadcast(wv[v], a[j] + c)));
            }
          }
          if (--budget == 0) {
            Widen(bytes, acc);
            budget = T::kMaxSteps;
          }
        }
      }
      Widen(bytes, acc);
    }
  }

  static BNNKIT_INLINE void Widen(V (&bytes)[BP][NV], V (&acc)[BP][NV]) {
#pragma GCC unroll 16
    for (int j = 0; j < BP; ++j) {
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) {
        acc[j][v] = T::Add32(acc[j][v], T::Widen(bytes[j][v]));
        bytes[j][v] = T::Zero();
      }
    }
  }

  // Output channels [oc0, oc0 + kBlockOc) of pixels [p0, p0 + valid_px).
  static BNNKIT_INLINE void Store(const TileArgs& args, V (&acc)[BP][NV], std::int32_t p0,
                                  std::int32_t valid_px, std::int32_t oc0) {
    const std::int32_t oc = args.output_channels;
    const std::int32_t n_oc = oc - oc0 < kBlockOc ? oc - oc0 : kBlockOc;
    if (args.output == OutputKind::kFloat) {
      StoreFloat(args, acc, p0, valid_px, oc0, n_oc);
    } else if (args.output == OutputKind::kBitpacked) {
      StoreBits(args, acc, p0, valid_px, oc0, n_oc);
    } else {
      StoreAccumulators(args, acc, p0, valid_px, oc0, n_oc);
    }
  }

  static BNNKIT_INLINE void StoreFloat(const TileArgs& args, V (&acc)[BP][NV], std::int32_t p0,
                                       std::int32_t valid_px, std::int32_t oc0,
                                       std::int32_t n_oc) {
    F mul[NV], bias[NV];
    if (n_oc == kBlockOc) {
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) {
        mul[v] = T::LoadF(args.multiplier + oc0 + v * kLanes);
        bias[v] = T::LoadF(args.bias + oc0 + v * kLanes);
      }
    } else {
      alignas(64) float m[kBlockOc] = {}, b[kBlockOc] = {};
      std::memcpy(m, args.multiplier + oc0, n_oc * sizeof(float));
      std::memcpy(b, args.bias + oc0, n_oc * sizeof(float));
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) {
        mul[v] = T::LoadF(m + v * kLanes);
        bias[v] = T::LoadF(b + v * kLanes);
      }
    }
    const V clamp_min = T::Set1(args.clamp_min), clamp_max = T::Set1(args.clamp_max);
    float* const out = static_cast<float*>(args.out);
#pragma GCC unroll 16
    for (int j = 0; j < BP; ++j) {
      if (j >= valid_px) break;
      float* dst = out + static_cast<std::size_t>(p0 + j) * args.output_channels + oc0;
      if (n_oc == kBlockOc) {
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) {
          T::TransformStore(dst + v * kLanes, acc[j][v], mul[v], bias[v], clamp_min,
                            clamp_max);
        }
      } else {
        alignas(64) float tmp[kBlockOc];
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) {
          T::TransformStore(tmp + v * kLanes, acc[j][v], mul[v], bias[v], clamp_min,
                            clamp_max);
        }
        std::memcpy(dst, tmp, n_oc * sizeof(float));
      }
    }
  }

  static BNNKIT_INLINE void StoreBits(const TileArgs& args, V (&acc)[BP][NV], std::int32_t p0,
                                      std::int32_t valid_px, std::int32_t oc0,
                                      std::int32_t n_oc) {
    static_assert(kBlockOc == 16 || kBlockOc == 32, "a block is a half or a whole word");
    V thresholds[NV];
    if (n_oc == kBlockOc) {
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) thresholds[v] = T::Load(args.thresholds + oc0 + v * kLanes);
    } else {
      alignas(64) std::int32_t t[kBlockOc] = {};
      std::memcpy(t, args.thresholds + oc0, n_oc * sizeof(std::int32_t));
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) thresholds[v] = T::Load(t + v * kLanes);
    }
    const std::uint32_t valid =
        n_oc == 32 ? 0xffffffffu : (std::uint32_t(1) << n_oc) - 1;
    const std::size_t row_bytes = static_cast<std::size_t>((args.output_channels + 31) / 32) * 4;
    unsigned char* const out = static_cast<unsigned char*>(args.out);
#pragma GCC unroll 16
    for (int j = 0; j < BP; ++j) {
      if (j >= valid_px) break;
      std::uint32_t bits = 0;
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) {
        bits |= T::GreaterMask(acc[j][v], thresholds[v]) << (v * kLanes);
      }
      bits &= valid;
      unsigned char* dst = out + static_cast<std::size_t>(p0 + j) * row_bytes + oc0 / 8;
      if (kBlockOc == 32) {
        std::memcpy(dst, &bits, 4);
      } else {
        const std::uint16_t half = static_cast<std::uint16_t>(bits);
        std::memcpy(dst, &half, 2);
      }
    }
  }

  static BNNKIT_INLINE void StoreAccumulators(const TileArgs& args, V (&acc)[BP][NV],
                                              std::int32_t p0, std::int32_t valid_px,
                                              std::int32_t oc0, std::int32_t n_oc) {
    std::int32_t* const out = static_cast<std::int32_t*>(args.out);
#pragma GCC unroll 16
    for (int j = 0; j < BP; ++j) {
      if (j >= valid_px) break;
      std::int32_t* dst = out + static_cast<std::size_t>(p0 + j) * args.output_channels + oc0;
      alignas(64) std::int32_t tmp[kBlockOc];
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) T::StoreInt(tmp + v * kLanes, acc[j][v]);
      std::memcpy(dst, tmp, n_oc * sizeof(std::int32_t));
    }
  }

  static void Run(const TileArgs& args, std::int32_t px_begin, std::int32_t px_end,
                  std::int32_t ocb_begin, std::int32_t ocb_end) {
    const std::size_t block_words =
        static_cast<std::size_t>(args.filter_size) * args.depth * kBlockOc;
    for (std::int32_t ocb = ocb_begin; ocb < ocb_end; ++ocb) {
      const std::int32_t* w = args.weights + ocb * block_words;
      for (std::int32_t p0 = px_begin; p0 < px_end; p0 += BP) {
        V acc[BP][NV];
        Accumulate(w, args.indirection + static_cast<std::size_t>(p0) * args.filter_size,
                   args.filter_size, args.depth, acc);
        Store(args, acc, p0, px_end - p0 < BP ? px_end - p0 : BP, ocb * kBlockOc);
      }
    }
  }
};

}  // namespace
}  // namespace bnnkit_x86

#endif  // BNNKIT_DELEGATE_X86_64_MICROKERNEL_H_
