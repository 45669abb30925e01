// bnnkit's x86 indirect-BGEMM kernels as LCE Kernel subclasses, and their run-time choice
// (see select.h). Compiled with the baseline flags: nothing here needs AVX.
#include "select.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <type_traits>
#include <vector>

#include "thread_pool.h"

namespace bnnkit_x86 {

using ::tflite::RuntimeShape;

namespace {

using compute_engine::core::CeilDiv;
using compute_engine::core::TBitpacked;
using compute_engine::core::bconv2d::BConv2DParams;
using compute_engine::core::bconv2d::OutputTransform;
using compute_engine::core::indirect_bgemm::Kernel;

thread_local Settings current_settings;

// Below this many binary MACs a convolution runs on one thread: handing work to a pool
// worker costs a few microseconds, about what the kernels do with 2^22 MACs.
constexpr std::int64_t kMinParallelMacs = std::int64_t(1) << 22;
// Work items per thread, so that a slow thread (the other core busy) does not hold the rest.
constexpr std::int32_t kItemsPerThread = 4;

template <typename DstScalar>
constexpr OutputKind OutputKindOf() {
  if (std::is_same<DstScalar, float>::value) return OutputKind::kFloat;
  if (std::is_same<DstScalar, TBitpacked>::value) return OutputKind::kBitpacked;
  return OutputKind::kAccumulators;  // int8: LCE's OutputTransform<int8_t>::Run afterwards
}

template <typename DstScalar>
class X86Kernel final : public Kernel {
 public:
  X86Kernel(const IsaKernels& isa, int threads, const BConv2DParams* params,
            const RuntimeShape& bitpacked_input_shape, const RuntimeShape& output_shape,
            const OutputTransform<DstScalar>& output_transform)
      : Kernel(isa.block_oc, isa.block_px, /*block_size_depth=*/1, params,
               bitpacked_input_shape, output_shape),
        isa_(isa),
        threads_(threads),
        output_transform_(output_transform),
        macs_per_pixel_(std::int64_t(filter_size) * params->channels_in * output_channels) {}

  void Run(const std::int32_t pixel_start, const std::int32_t pixel_end,
           void* output) const override {
    if (OutputKindOf<DstScalar>() == OutputKind::kAccumulators) {
      accumulators_.resize(std::size_t(num_output_pixels) * output_channels);
    }
    Job job{this, Args(output), pixel_start, pixel_end};
    job.tiles = CeilDiv(pixel_end - pixel_start, block_size_pixels);
    job.blocks = CeilDiv(output_channels, block_size_output_channels);
    int threads = threads_;
    if (std::int64_t(pixel_end - pixel_start) * macs_per_pixel_ < kMinParallelMacs) threads = 1;
    if (threads > 1) {
      const std::int32_t wanted = kItemsPerThread * threads;
      job.px_chunks = std::min(job.tiles, wanted);
      job.oc_chunks = std::min(job.blocks, CeilDiv(wanted, job.px_chunks));
    }
    if (OutputKindOf<DstScalar>() == OutputKind::kAccumulators) job.final_output = output;
    ParallelFor(threads, job.px_chunks * job.oc_chunks, &RunItem, &job);
  }

 private:
  // One Run: the output split into px_chunks x oc_chunks items (whole tiles and blocks).
  struct Job {
    const X86Kernel* kernel;
    TileArgs args;
    std::int32_t pixel_start, pixel_end;
    std::int32_t tiles = 0, blocks = 0, px_chunks = 1, oc_chunks = 1;
    void* final_output = nullptr;  // int8 output, written from args.out (accumulators)
  };

  TileArgs Args(void* output) const {
    TileArgs args{};
    args.weights = packed_weights.data();
    args.indirection = indirection_buffer.data();
    args.filter_size = filter_size;
    args.depth = input_depth;
    args.output_channels = output_channels;
    args.output = OutputKindOf<DstScalar>();
    args.out = output;
    SetTransform(&args);
    if (args.output == OutputKind::kAccumulators) args.out = accumulators_.data();
    return args;
  }

  void SetTransform(TileArgs* args) const {
    if constexpr (std::is_same<DstScalar, TBitpacked>::value) {
      args->thresholds = output_transform_.thresholds;
    } else {
      args->clamp_min = output_transform_.clamp_min;
      args->clamp_max = output_transform_.clamp_max;
      args->multiplier = output_transform_.multiplier;
      args->bias = output_transform_.bias;
    }
  }

  static void RunItem(void* context, std::int32_t item) {
    const Job& job = *static_cast<const Job*>(context);
    const X86Kernel& kernel = *job.kernel;
    const std::int32_t pc = item / job.oc_chunks, occ = item % job.oc_chunks;
    const std::int32_t px_begin =
        job.pixel_start + job.tiles * pc / job.px_chunks * kernel.block_size_pixels;
    const std::int32_t px_end = std::min(
        job.pixel_end,
        job.pixel_start + job.tiles * (pc + 1) / job.px_chunks * kernel.block_size_pixels);
    const std::int32_t ocb_begin = job.blocks * occ / job.oc_chunks;
    const std::int32_t ocb_end = job.blocks * (occ + 1) / job.oc_chunks;
    kernel.isa_.tiles(job.args, px_begin, px_end, ocb_begin, ocb_end);
    if (job.final_output != nullptr) {
      kernel.TransformAccumulators(job, px_begin, px_end, ocb_begin, ocb_end);
    }
  }

  // Int8 output: LCE's own transform (clamp, multiplier, bias, round, saturate).
  void TransformAccumulators(const Job& job, std::int32_t px_begin, std::int32_t px_end,
                             std::int32_t ocb_begin, std::int32_t ocb_end) const {
    if constexpr (!std::is_same<DstScalar, float>::value &&
                  !std::is_same<DstScalar, TBitpacked>::value) {
      const std::int32_t oc_begin = ocb_begin * block_size_output_channels;
      const std::int32_t oc_end = std::min(output_channels, ocb_end * block_size_output_channels);
      auto* out = static_cast<DstScalar*>(job.final_output);
      const auto* acc = static_cast<const std::int32_t*>(job.args.out);
      for (std::int32_t p = px_begin; p < px_end; ++p) {
        const std::size_t row = std::size_t(p) * output_channels;
        for (std::int32_t c = oc_begin; c < oc_end; ++c) {
          out[row + c] = output_transform_.Run(acc[row + c], c);
        }
      }
    }
  }

  const IsaKernels isa_;
  const int threads_;
  const OutputTransform<DstScalar> output_transform_;
  const std::int64_t macs_per_pixel_;
  mutable std::vector<std::int32_t> accumulators_;  // int8 output only
};

}  // namespace

const char* IsaName(Isa isa) {
  switch (isa) {
    case Isa::kAvx2: return "avx2";
    case Isa::kAvx512Bw: return "avx512bw";
    case Isa::kAvx512Vpopcntdq: return "avx512_vpopcntdq";
    default: return "none";
  }
}

bool Supported(Isa isa) {
  __builtin_cpu_init();
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("popcnt");
  const bool avx512bw = avx2 && __builtin_cpu_supports("avx512f") &&
                        __builtin_cpu_supports("avx512bw");
  switch (isa) {
    case Isa::kAvx2: return avx2;
    case Isa::kAvx512Bw: return avx512bw;
    case Isa::kAvx512Vpopcntdq: return avx512bw && __builtin_cpu_supports("avx512vpopcntdq");
    default: return false;
  }
}

Isa Best(Isa limit) {
  for (int i = static_cast<int>(limit); i > 0; --i) {
    if (Supported(static_cast<Isa>(i))) return static_cast<Isa>(i);
  }
  return Isa::kNone;
}

const IsaKernels* KernelsFor(Isa isa) {
  if (!Supported(isa)) return nullptr;
  // Each family's function runs only once its instructions are known to be there.
  switch (isa) {
    case Isa::kAvx2: {
      static const IsaKernels kernels = Avx2Kernels();
      return &kernels;
    }
    case Isa::kAvx512Bw: {
      static const IsaKernels kernels = Avx512BwKernels();
      return &kernels;
    }
    case Isa::kAvx512Vpopcntdq: {
      static const IsaKernels kernels = Avx512VpopcntdqKernels();
      return &kernels;
    }
    default: return nullptr;
  }
}

template <typename DstScalar>
std::unique_ptr<Kernel> MakeKernel(Isa isa, int threads, const BConv2DParams* params,
                                   const RuntimeShape& bitpacked_input_shape,
                                   const RuntimeShape& output_shape,
                                   const OutputTransform<DstScalar>& output_transform) {
  const IsaKernels* kernels = KernelsFor(isa);
  if (kernels == nullptr || params->groups != 1) return nullptr;
  return std::make_unique<X86Kernel<DstScalar>>(*kernels, std::max(threads, 1), params,
                                                bitpacked_input_shape, output_shape,
                                                output_transform);
}

const Settings& CurrentSettings() { return current_settings; }

ScopedSettings::ScopedSettings(const Settings& settings) : previous_(current_settings) {
  current_settings = settings;
}

ScopedSettings::~ScopedSettings() { current_settings = previous_; }

namespace {

// With $BNNKIT_X86_KERNELS_LOG set, each choice is printed to stderr, one line per
// convolution (at its first invoke), e.g.
//   bnnkit x86 kernels: LceBconv2d 3x3 64->64 stride 1 float: avx512_vpopcntdq, 2 threads
template <typename DstScalar>
void LogChoice(const BConv2DParams* params, const Kernel* kernel, Isa isa, int threads) {
  if (std::getenv("BNNKIT_X86_KERNELS_LOG") == nullptr) return;
  const char* output = OutputKindOf<DstScalar>() == OutputKind::kFloat ? "float"
                       : OutputKindOf<DstScalar>() == OutputKind::kBitpacked ? "bitpacked"
                                                                               : "int8";
  std::fprintf(stderr, "bnnkit x86 kernels: LceBconv2d %dx%d %d->%d stride %d %s: ",
               params->filter_height, params->filter_width, params->channels_in,
               params->channels_out, params->stride_height, output);
  if (kernel != nullptr) {
    std::fprintf(stderr, "%s, %d threads\n", IsaName(isa), std::max(threads, 1));
  } else {
    std::fprintf(stderr, "LCE's kernel (%s)\n",
                 params->groups != 1 ? "grouped convolution" : "no x86 kernel for this CPU");
  }
}

}  // namespace

template <typename DstScalar>
std::unique_ptr<Kernel> SelectKernel(const BConv2DParams* params,
                                     const RuntimeShape& bitpacked_input_shape,
                                     const RuntimeShape& output_shape,
                                     const OutputTransform<DstScalar>& output_transform) {
  const Settings& settings = current_settings;
  if (!settings.active) return nullptr;
  const Isa isa = Best(settings.limit);
  auto kernel = MakeKernel<DstScalar>(isa, settings.threads, params, bitpacked_input_shape,
                                      output_shape, output_transform);
  LogChoice<DstScalar>(params, kernel.get(), isa, settings.threads);
  return kernel;
}

#define BNNKIT_X86_INSTANTIATE(DstScalar)                                                    \
  template std::unique_ptr<Kernel> MakeKernel<DstScalar>(                                    \
      Isa, int, const BConv2DParams*, const RuntimeShape&, const RuntimeShape&,              \
      const OutputTransform<DstScalar>&);                                                    \
  template std::unique_ptr<Kernel> SelectKernel<DstScalar>(                                  \
      const BConv2DParams*, const RuntimeShape&, const RuntimeShape&,                        \
      const OutputTransform<DstScalar>&);
BNNKIT_X86_INSTANTIATE(float)
BNNKIT_X86_INSTANTIATE(std::int8_t)
BNNKIT_X86_INSTANTIATE(TBitpacked)
#undef BNNKIT_X86_INSTANTIATE

}  // namespace bnnkit_x86
