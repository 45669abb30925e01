// x86_kernel_check: bit-exactness tests and benchmarks of bnnkit's x86 binary-convolution
// kernels (delegate/src/x86_64) against LCE's portable indirect-BGEMM kernel, outside any
// TFLite runtime. Built by build-x86-kernel-check.sh; prints one JSON document.
//
//   x86_kernel_check features
//   x86_kernel_check check    [--seed N] [--cases N] [--max-macs N] [--threads N]
//   x86_kernel_check bitpack  [--seed N] [--cases N]
//   x86_kernel_check bench    [--rounds N] [--min-ms X] [--threads N] [--output float|bitpacked]
//                             --layer NAME:H,W,CIN,COUT,K,STRIDE,same|valid ...
//   x86_kernel_check roofline [--ms X]
//
// check: random convolutions (channels 32-1024, one in eight below 32, kernel 1/3/5/7,
//   stride 1/2, dilation 1/2, same/valid padding, pad value 0/1, batch 1/2, float, int8
//   and bitpacked output). Each runs through LCE's BConv2DOptimizedIndirectBGEMM (output
//   pre-zeroing, zero-padding correction) with LCE's Kernel4x2Portable and with every
//   instruction set this CPU has, on 1 and N threads; outputs (and a guard zone after
//   them) must be identical byte for byte.
// bitpack: random float matrices (any column count; negative and positive zeros, NaN,
//   infinities) bitpacked by LCE's bitpack_matrix and by BitpackFloatMatrix.
// bench: per-layer time of each kernel, interleaved rounds; binary MACs = output pixels x
//   output channels x filter taps x input channels.
// roofline: this core's throughput of XOR + popcount + accumulate on registers (no memory
//   traffic), per instruction set, in binary MACs per second (bits counted per second).
#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <thread>

#include <time.h>
#include <vector>

#include "bitpack.h"
#include "select.h"
#include "larq_compute_engine/core/bconv2d/optimized_indirect_bgemm.h"
#include "larq_compute_engine/core/bitpacking/bitpack.h"
#include "larq_compute_engine/core/indirect_bgemm/kernel_4x2_portable.h"
#include "tensorflow/lite/kernels/padding.h"

namespace {

using compute_engine::core::TBitpacked;
using compute_engine::core::bconv2d::BConv2DParams;
using compute_engine::core::bconv2d::OutputTransform;
using compute_engine::core::indirect_bgemm::Kernel;
using compute_engine::core::indirect_bgemm::Kernel4x2Portable;
namespace bitpacking = compute_engine::core::bitpacking;
namespace zpc = compute_engine::core::bconv2d::zero_padding_correction;
using bnnkit_x86::Isa;

// ---------------------------------------------------------------- arguments and output
struct Args {
  std::vector<std::string> values;
  std::string Get(const char* name, const char* fallback) const {
    for (std::size_t i = 0; i + 1 < values.size(); ++i) {
      if (values[i] == name) return values[i + 1];
    }
    return fallback;
  }
  std::vector<std::string> All(const char* name) const {
    std::vector<std::string> out;
    for (std::size_t i = 0; i + 1 < values.size(); ++i) {
      if (values[i] == name) out.push_back(values[i + 1]);
    }
    return out;
  }
  long Int(const char* name, long fallback) const {
    return std::stol(Get(name, std::to_string(fallback).c_str()));
  }
  double Real(const char* name, double fallback) const {
    return std::stod(Get(name, std::to_string(fallback).c_str()));
  }
};

std::vector<Isa> SupportedIsas() {
  std::vector<Isa> isas;
  for (Isa isa : {Isa::kAvx2, Isa::kAvx512Bw, Isa::kAvx512Vpopcntdq}) {
    if (bnnkit_x86::Supported(isa)) isas.push_back(isa);
  }
  return isas;
}

std::string IsaList() {
  std::string text = "[";
  for (Isa isa : SupportedIsas()) {
    text += std::string(text.size() > 1 ? ", " : "") + "\"" + bnnkit_x86::IsaName(isa) + "\"";
  }
  return text + "]";
}

double Seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// CPU time of the calling thread: on a shared machine, unlike wall time, it leaves out the
// time the scheduler gives to other processes.
double CpuSeconds() {
  timespec now;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return double(now.tv_sec) + 1e-9 * double(now.tv_nsec);
}

// ---------------------------------------------------------------- one convolution
enum class Out { kFloat, kInt8, kBitpacked };
const char* OutName(Out out) {
  return out == Out::kFloat ? "float" : out == Out::kInt8 ? "int8" : "bitpacked";
}

struct Shape {
  int batch = 1, height = 8, width = 8, cin = 64, cout = 64, kernel = 3, stride = 1;
  int dilation = 1;
  bool same = true;
  int pad_value = 1;
  Out out = Out::kFloat;
  bool clamp = false;
  std::string Describe() const {
    char text[256];
    std::snprintf(text, sizeof text,
                  "{\"batch\": %d, \"height\": %d, \"width\": %d, \"cin\": %d, \"cout\": %d, "
                  "\"kernel\": %d, \"stride\": %d, \"dilation\": %d, \"padding\": \"%s\", "
                  "\"pad_value\": %d, \"output\": \"%s\", \"clamp\": %s}",
                  batch, height, width, cin, cout, kernel, stride, dilation,
                  same ? "same" : "valid", pad_value, OutName(out), clamp ? "true" : "false");
    return text;
  }
};

// Random +-1 data bitpacked by LCE, LCE's parameters, and room for the output.
struct Problem {
  Shape shape;
  BConv2DParams params{};
  tflite::RuntimeShape input_shape, output_shape;
  std::vector<TBitpacked> input, filter;
  std::vector<float> multiplier, bias, padding_buffer;
  std::vector<std::int32_t> thresholds;
  OutputTransform<float> float_transform;
  OutputTransform<std::int8_t> int8_transform;
  OutputTransform<TBitpacked> bit_transform;
  std::size_t output_bytes = 0;
  int out_height = 0, out_width = 0;

  long long Macs() const {
    return 1LL * shape.batch * out_height * out_width * shape.cout * shape.kernel *
           shape.kernel * shape.cin;
  }
};

std::vector<TBitpacked> RandomBits(std::mt19937_64& rng, int rows, int cols) {
  std::vector<float> values(std::size_t(rows) * cols);
  for (float& v : values) v = (rng() & 1) ? -1.0f : 1.0f;
  std::vector<TBitpacked> packed(std::size_t(rows) * bitpacking::GetBitpackedSize(cols) +
                                 LCE_EXTRA_BYTES / sizeof(TBitpacked));
  bitpacking::bitpack_matrix(values.data(), rows, cols, packed.data());
  return packed;
}

void SetTransforms(std::mt19937_64& rng, Problem* p) {
  const Shape& s = p->shape;
  const int k = s.kernel * s.kernel * s.cin;  // the largest accumulator
  std::uniform_real_distribution<float> mul(-2.0f, 2.0f), bias(-50.0f, 50.0f);
  std::uniform_real_distribution<float> mul8(-0.6f, 0.6f);
  for (int c = 0; c < s.cout; ++c) {
    p->multiplier.push_back(s.out == Out::kInt8 ? mul8(rng) : mul(rng));
    p->bias.push_back(bias(rng));
    const int spread = 2 + int(std::sqrt(double(k)));
    p->thresholds.push_back(k / 2 + int(rng() % (2 * spread)) - spread);
  }
  // LCE's portable kernel reads up to 3 entries past the last output channel (it computes
  // 4 channels at a time); LCE pads these arrays with LCE_EXTRA_BYTES (bconv2d.cc).
  for (std::size_t i = 0; i < LCE_EXTRA_BYTES / sizeof(float); ++i) {
    p->multiplier.push_back(0.0f), p->bias.push_back(0.0f), p->thresholds.push_back(0);
  }
  std::int32_t clamp_min = std::numeric_limits<std::int32_t>::lowest();
  std::int32_t clamp_max = std::numeric_limits<std::int32_t>::max();
  if (s.clamp) {  // like a fused ReLU/ReLU6 after LCE's back-transformation
    clamp_min = int(rng() % (k + 1));
    clamp_max = clamp_min + int(rng() % (2 * k + 1));
  }
  for (auto* t : {&p->float_transform}) {
    t->clamp_min = clamp_min, t->clamp_max = clamp_max;
    t->multiplier = p->multiplier.data(), t->bias = p->bias.data();
  }
  p->int8_transform.clamp_min = clamp_min, p->int8_transform.clamp_max = clamp_max;
  p->int8_transform.multiplier = p->multiplier.data();
  p->int8_transform.bias = p->bias.data();
  p->bit_transform.thresholds = p->thresholds.data();
}

void SetShape(tflite::RuntimeShape* shape, std::initializer_list<int> dims) {
  shape->Resize(int(dims.size()));
  int i = 0;
  for (int d : dims) shape->SetDim(i++, d);
}

std::unique_ptr<Problem> MakeProblem(const Shape& s, std::mt19937_64& rng) {
  auto p = std::make_unique<Problem>();
  p->shape = s;
  BConv2DParams& params = p->params;
  params.filter_width = params.filter_height = s.kernel;
  params.channels_in = s.cin;
  params.channels_out = s.cout;
  params.groups = 1;
  params.stride_height = params.stride_width = s.stride;
  params.dilation_height_factor = params.dilation_width_factor = s.dilation;
  params.padding_type = s.same ? kTfLitePaddingSame : kTfLitePaddingValid;
  params.pad_value = s.pad_value;
  params.padding_values = tflite::ComputePaddingHeightWidth(
      s.stride, s.stride, s.dilation, s.dilation, s.height, s.width, s.kernel, s.kernel,
      params.padding_type, &p->out_height, &p->out_width);
  const int words_in = bitpacking::GetBitpackedSize(s.cin);
  SetShape(&p->input_shape, {s.batch, s.height, s.width, words_in});
  const int out_depth = s.out == Out::kBitpacked ? bitpacking::GetBitpackedSize(s.cout) : s.cout;
  SetShape(&p->output_shape, {s.batch, p->out_height, p->out_width, out_depth});
  p->input = RandomBits(rng, s.batch * s.height * s.width, s.cin);
  p->filter = RandomBits(rng, s.cout * s.kernel * s.kernel, s.cin);
  SetTransforms(rng, p.get());
  if (s.same && s.pad_value == 0) {
    p->padding_buffer.resize(zpc::GetCacheSize(s.kernel, s.kernel, s.cout, s.dilation,
                                               s.dilation));
    zpc::CacheCorrectionValues(p->filter.data(), s.kernel, s.kernel, s.cout, s.cin,
                               s.dilation, s.dilation, p->multiplier.data(),
                               p->padding_buffer.data());
  }
  const std::size_t elements = std::size_t(s.batch) * p->out_height * p->out_width * out_depth;
  p->output_bytes = elements * (s.out == Out::kInt8 ? 1 : 4);
  return p;
}

// isa == kNone: LCE's portable kernel.
template <typename DstScalar>
std::unique_ptr<Kernel> MakeKernelFor(const Problem& p, Isa isa, int threads,
                                      const OutputTransform<DstScalar>& transform) {
  std::unique_ptr<Kernel> kernel;
  if (isa == Isa::kNone) {
    kernel = std::make_unique<Kernel4x2Portable<DstScalar>>(&p.params, p.input_shape,
                                                            p.output_shape, transform);
  } else {
    kernel = bnnkit_x86::MakeKernel<DstScalar>(isa, threads, &p.params, p.input_shape,
                                               p.output_shape, transform);
  }
  kernel->PackWeights(p.filter.data());
  kernel->FillIndirectionBuffer(&p.params, p.input_shape, p.output_shape, p.input.data());
  return kernel;
}

std::unique_ptr<Kernel> MakeAnyKernel(const Problem& p, Isa isa, int threads) {
  switch (p.shape.out) {
    case Out::kFloat: return MakeKernelFor<float>(p, isa, threads, p.float_transform);
    case Out::kInt8: return MakeKernelFor<std::int8_t>(p, isa, threads, p.int8_transform);
    default: return MakeKernelFor<TBitpacked>(p, isa, threads, p.bit_transform);
  }
}

// LCE's driver of an indirect-BGEMM kernel, as bconv2d.cc calls it.
void Convolve(const Problem& p, const Kernel* kernel, void* out) {
  const float* padding = p.padding_buffer.empty() ? nullptr : p.padding_buffer.data();
  switch (p.shape.out) {
    case Out::kFloat:
      compute_engine::core::bconv2d::BConv2DOptimizedIndirectBGEMM<float>(
          kernel, &p.params, p.input_shape, p.output_shape, static_cast<float*>(out),
          padding, p.shape.pad_value);
      break;
    case Out::kInt8:
      compute_engine::core::bconv2d::BConv2DOptimizedIndirectBGEMM<std::int8_t>(
          kernel, &p.params, p.input_shape, p.output_shape, static_cast<std::int8_t*>(out),
          padding, p.shape.pad_value);
      break;
    default:
      compute_engine::core::bconv2d::BConv2DOptimizedIndirectBGEMM<TBitpacked>(
          kernel, &p.params, p.input_shape, p.output_shape, static_cast<TBitpacked*>(out),
          padding, p.shape.pad_value);
  }
}

// ---------------------------------------------------------------- check
Shape RandomShape(std::mt19937_64& rng, long long max_macs) {
  static const int kAwkward[] = {32, 33, 63, 64, 65, 96, 100, 127, 128, 129, 160, 192, 255,
                                 256, 257, 320, 384, 500, 511, 512, 513, 640, 1000, 1024};
  auto channels = [&]() {
    const unsigned pick = rng() % 8;
    if (pick == 0) return 1 + int(rng() % 31);  // below one 32-bit word
    if (pick < 4) return kAwkward[rng() % (sizeof kAwkward / sizeof kAwkward[0])];
    if (pick < 6) return 64 * (1 + int(rng() % 16));
    return 32 + int(rng() % 993);
  };
  static const int kKernels[] = {1, 3, 5, 7};
  for (;;) {
    Shape s;
    s.cin = channels();
    s.cout = channels();
    s.kernel = kKernels[rng() % 4];
    s.stride = 1 + int(rng() % 2);
    s.dilation = rng() % 8 == 0 ? 2 : 1;
    s.same = rng() % 2 == 0;
    s.batch = rng() % 6 == 0 ? 2 : 1;
    const int span = (s.kernel - 1) * s.dilation + 1;
    s.height = (s.same ? 1 : span) + int(rng() % 14);
    s.width = (s.same ? 1 : span) + int(rng() % 14);
    s.out = static_cast<Out>(rng() % 3);
    s.clamp = s.out != Out::kBitpacked && rng() % 3 == 0;
    // LCE supports zero padding only with float output and no fused activation.
    s.pad_value = (s.same && s.out == Out::kFloat && !s.clamp && rng() % 2 == 0) ? 0 : 1;
    const int oh = s.same ? (s.height + s.stride - 1) / s.stride
                          : (s.height - span + s.stride) / s.stride;
    const int ow = s.same ? (s.width + s.stride - 1) / s.stride
                          : (s.width - span + s.stride) / s.stride;
    const long long macs = 1LL * s.batch * oh * ow * s.cout * s.kernel * s.kernel * s.cin;
    if (macs <= max_macs) return s;
  }
}

constexpr std::size_t kGuard = 256;

// Runs `kernel` on a buffer filled with `fill` and a guard zone after the output.
std::vector<unsigned char> RunInto(const Problem& p, const Kernel* kernel, unsigned char fill) {
  std::vector<unsigned char> out(p.output_bytes + kGuard, fill);
  Convolve(p, kernel, out.data());
  return out;
}

int Check(const Args& args) {
  std::mt19937_64 rng(args.Int("--seed", 1));
  const long cases = args.Int("--cases", 300);
  const long long max_macs = args.Int("--max-macs", 20000000);
  const int threads = int(args.Int("--threads", 2));
  const std::vector<Isa> isas = SupportedIsas();
  long compared = 0, failures = 0;
  long long macs = 0;
  int coverage[4][2][3] = {};  // kernel index, stride - 1, output kind
  std::string failed;
  const double start = Seconds();
  for (long i = 0; i < cases; ++i) {
    const Shape shape = RandomShape(rng, max_macs);
    const auto problem = MakeProblem(shape, rng);
    macs += problem->Macs();
    const unsigned char fill = static_cast<unsigned char>(rng());
    const auto portable = MakeAnyKernel(*problem, Isa::kNone, 1);
    const auto expected = RunInto(*problem, portable.get(), fill);
    coverage[shape.kernel / 2][shape.stride - 1][int(shape.out)] += 1;
    for (Isa isa : isas) {
      for (int t : {1, threads}) {
        const auto kernel = MakeAnyKernel(*problem, isa, t);
        ++compared;
        if (RunInto(*problem, kernel.get(), fill) != expected) {
          ++failures;
          if (failures <= 20) {
            failed += std::string(failed.empty() ? "" : ",\n    ") + "{\"isa\": \"" +
                      bnnkit_x86::IsaName(isa) + "\", \"threads\": " + std::to_string(t) +
                      ", \"shape\": " + shape.Describe() + "}";
          }
        }
      }
    }
  }
  std::string cover;
  for (int k = 0; k < 4; ++k) {
    for (int s = 0; s < 2; ++s) {
      char text[160];
      std::snprintf(text, sizeof text,
                    "%s\"k%d_s%d\": {\"float\": %d, \"int8\": %d, \"bitpacked\": %d}",
                    cover.empty() ? "" : ", ", 2 * k + 1, s + 1, coverage[k][s][0],
                    coverage[k][s][1], coverage[k][s][2]);
      cover += text;
    }
  }
  std::printf("{\"mode\": \"check\", \"isas\": %s, \"cases\": %ld, \"comparisons\": %ld, "
              "\"failures\": %ld, \"binary_macs\": %lld, \"threads\": [1, %d], "
              "\"seconds\": %.2f,\n  \"coverage\": {%s},\n  \"failed\": [%s]}\n",
              IsaList().c_str(), cases, compared, failures, macs, threads, Seconds() - start,
              cover.c_str(), failed.c_str());
  return failures == 0 ? 0 : 1;
}

// ---------------------------------------------------------------- bitpack
int CheckBitpack(const Args& args) {
  std::mt19937_64 rng(args.Int("--seed", 1));
  const long cases = args.Int("--cases", 300);
  const float specials[] = {0.0f, -0.0f, std::numeric_limits<float>::quiet_NaN(),
                            -std::numeric_limits<float>::quiet_NaN(),
                            std::numeric_limits<float>::infinity(),
                            -std::numeric_limits<float>::infinity(),
                            std::numeric_limits<float>::denorm_min(),
                            -std::numeric_limits<float>::denorm_min()};
  std::normal_distribution<float> normal(0.0f, 1.0f);
  long compared = 0, failures = 0;
  std::string failed;
  for (long i = 0; i < cases; ++i) {
    const int rows = 1 + int(rng() % 64), cols = 1 + int(rng() % 1100);
    std::vector<float> in(std::size_t(rows) * cols);
    for (float& v : in) v = rng() % 10 == 0 ? specials[rng() % 8] : normal(rng);
    const std::size_t words = std::size_t(rows) * bitpacking::GetBitpackedSize(cols);
    std::vector<TBitpacked> expected(words + 1, 0x5a5a5a5a);
    bitpacking::bitpack_matrix(in.data(), rows, cols, expected.data());
    for (Isa isa : SupportedIsas()) {
      std::vector<TBitpacked> got(words + 1, 0x5a5a5a5a);
      bnnkit_x86::BitpackFloatMatrix(*bnnkit_x86::KernelsFor(isa), in.data(), rows, cols,
                                     got.data());
      ++compared;
      if (got != expected && ++failures <= 20) {
        failed += std::string(failed.empty() ? "" : ", ") + "{\"isa\": \"" +
                  bnnkit_x86::IsaName(isa) + "\", \"rows\": " + std::to_string(rows) +
                  ", \"cols\": " + std::to_string(cols) + "}";
      }
    }
  }
  std::printf("{\"mode\": \"bitpack\", \"isas\": %s, \"cases\": %ld, \"comparisons\": %ld, "
              "\"failures\": %ld, \"failed\": [%s]}\n",
              IsaList().c_str(), cases, compared, failures, failed.c_str());
  return failures == 0 ? 0 : 1;
}

// ---------------------------------------------------------------- roofline
// Each loop runs independent chains of XOR + popcount + accumulate on registers only, in
// inline assembly so that the compiler adds nothing (no moves, no spills) and removes
// nothing. Returns binary MACs (bits XORed and counted) per second.

double RooflineScalar(long iterations) {  // 64 bits per chain step: xor, popcnt, add
  std::uint64_t acc0 = 0, acc1 = 0, acc2 = 0, acc3 = 0, acc4 = 0, acc5 = 0;
  const std::uint64_t w = 0x0123456789abcdefULL, a = 0x9e3779b97f4a7c15ULL;
  const double start = CpuSeconds();
  for (long i = 0; i < iterations; ++i) {
    std::uint64_t t0, t1, t2, t3, t4, t5;
    asm volatile(
        "mov %[a], %[t0]\n xor %[w], %[t0]\n popcnt %[t0], %[t0]\n add %[t0], %[c0]\n"
        "mov %[a], %[t1]\n xor %[w], %[t1]\n popcnt %[t1], %[t1]\n add %[t1], %[c1]\n"
        "mov %[a], %[t2]\n xor %[w], %[t2]\n popcnt %[t2], %[t2]\n add %[t2], %[c2]\n"
        "mov %[a], %[t3]\n xor %[w], %[t3]\n popcnt %[t3], %[t3]\n add %[t3], %[c3]\n"
        "mov %[a], %[t4]\n xor %[w], %[t4]\n popcnt %[t4], %[t4]\n add %[t4], %[c4]\n"
        "mov %[a], %[t5]\n xor %[w], %[t5]\n popcnt %[t5], %[t5]\n add %[t5], %[c5]\n"
        : [c0] "+r"(acc0), [c1] "+r"(acc1), [c2] "+r"(acc2), [c3] "+r"(acc3),
          [c4] "+r"(acc4), [c5] "+r"(acc5), [t0] "=&r"(t0), [t1] "=&r"(t1),
          [t2] "=&r"(t2), [t3] "=&r"(t3), [t4] "=&r"(t4), [t5] "=&r"(t5)
        : [w] "r"(w), [a] "r"(a));
  }
  return 64.0 * 6 * iterations / (CpuSeconds() - start);
}

// 256 bits per chain step: vpxor, 2 x (vpand), vpsrlw, 2 x vpshufb, 2 x vpaddb; the bytes
// are widened (vpmaddubsw, vpmaddwd, vpaddd) every 31 steps, as in avx2.cc.
__attribute__((target("avx2"))) double RooflineAvx2(long iterations) {
  const __m256i lookup = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0,
                                          1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
  const __m256i nibble = _mm256_set1_epi8(0x0f), ones8 = _mm256_set1_epi8(1);
  const __m256i ones16 = _mm256_set1_epi16(1), w = _mm256_set1_epi32(0x01234567);
  const __m256i a = _mm256_set1_epi32(0x9e3779b9);
  __m256i acc0 = _mm256_setzero_si256(), acc1 = acc0, acc2 = acc0, acc3 = acc0;
  const long outer = iterations / 31;
  const double start = CpuSeconds();
  for (long i = 0; i < outer; ++i) {
    __m256i b0 = _mm256_setzero_si256(), b1 = b0, b2 = b0, b3 = b0;
    for (int step = 0; step < 31; ++step) {
      __m256i t0, t1;
#define BNNKIT_NIBBLE_STEP(B)                                                               \
  "vpxor %[a], %[w], %[t0]\n vpand %[t0], %[m], %[t1]\n vpsrlw $4, %[t0], %[t0]\n"          \
  "vpand %[t0], %[m], %[t0]\n vpshufb %[t1], %[lut], %[t1]\n vpshufb %[t0], %[lut], %[t0]\n" \
  "vpaddb %[t1], %[" B "], %[" B "]\n vpaddb %[t0], %[" B "], %[" B "]\n"
      asm volatile(BNNKIT_NIBBLE_STEP("b0") BNNKIT_NIBBLE_STEP("b1") BNNKIT_NIBBLE_STEP("b2")
                       BNNKIT_NIBBLE_STEP("b3")
                   : [b0] "+x"(b0), [b1] "+x"(b1), [b2] "+x"(b2), [b3] "+x"(b3),
                     [t0] "=&x"(t0), [t1] "=&x"(t1)
                   : [w] "x"(w), [a] "x"(a), [m] "x"(nibble), [lut] "x"(lookup));
#undef BNNKIT_NIBBLE_STEP
    }
    acc0 = _mm256_add_epi32(acc0, _mm256_madd_epi16(_mm256_maddubs_epi16(b0, ones8), ones16));
    acc1 = _mm256_add_epi32(acc1, _mm256_madd_epi16(_mm256_maddubs_epi16(b1, ones8), ones16));
    acc2 = _mm256_add_epi32(acc2, _mm256_madd_epi16(_mm256_maddubs_epi16(b2, ones8), ones16));
    acc3 = _mm256_add_epi32(acc3, _mm256_madd_epi16(_mm256_maddubs_epi16(b3, ones8), ones16));
  }
  const double seconds = CpuSeconds() - start;
  __m256i sink = _mm256_add_epi32(_mm256_add_epi32(acc0, acc1), _mm256_add_epi32(acc2, acc3));
  asm volatile("" : : "x"(sink));
  return 256.0 * 4 * 31 * outer / seconds;
}

// 512 bits per chain step: vpxord, vpopcntd, vpaddd.
__attribute__((target("avx2,avx512f,avx512bw,avx512vpopcntdq"))) double RooflineAvx512Vpopcnt(
    long iterations) {
  __m512i c0 = _mm512_setzero_si512(), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0,
          c7 = c0;
  const __m512i w = _mm512_set1_epi32(0x01234567), a = _mm512_set1_epi32(0x9e3779b9);
  const double start = CpuSeconds();
  for (long i = 0; i < iterations; ++i) {
    __m512i t0, t1, t2, t3, t4, t5, t6, t7;
#define BNNKIT_VPOPCNT_STEP(T, C) \
  "vpxord %[a], %[w], %[" T "]\n vpopcntd %[" T "], %[" T "]\n vpaddd %[" T "], %[" C "], %[" C "]\n"
    asm volatile(BNNKIT_VPOPCNT_STEP("t0", "c0") BNNKIT_VPOPCNT_STEP("t1", "c1")
                     BNNKIT_VPOPCNT_STEP("t2", "c2") BNNKIT_VPOPCNT_STEP("t3", "c3")
                         BNNKIT_VPOPCNT_STEP("t4", "c4") BNNKIT_VPOPCNT_STEP("t5", "c5")
                             BNNKIT_VPOPCNT_STEP("t6", "c6") BNNKIT_VPOPCNT_STEP("t7", "c7")
                 : [c0] "+v"(c0), [c1] "+v"(c1), [c2] "+v"(c2), [c3] "+v"(c3), [c4] "+v"(c4),
                   [c5] "+v"(c5), [c6] "+v"(c6), [c7] "+v"(c7), [t0] "=&v"(t0),
                   [t1] "=&v"(t1), [t2] "=&v"(t2), [t3] "=&v"(t3), [t4] "=&v"(t4),
                   [t5] "=&v"(t5), [t6] "=&v"(t6), [t7] "=&v"(t7)
                 : [w] "v"(w), [a] "v"(a));
#undef BNNKIT_VPOPCNT_STEP
  }
  const double seconds = CpuSeconds() - start;
  __m512i sink = _mm512_add_epi32(_mm512_add_epi32(_mm512_add_epi32(c0, c1),
                                                   _mm512_add_epi32(c2, c3)),
                                  _mm512_add_epi32(_mm512_add_epi32(c4, c5),
                                                   _mm512_add_epi32(c6, c7)));
  asm volatile("" : : "v"(sink));
  return 512.0 * 8 * iterations / seconds;
}

struct Loop {
  const char* name;
  bool supported;
  double (*run)(long iterations);  // binary MACs per second of CPU time
};

std::vector<Loop> RooflineLoops() {
  return {{"scalar_popcnt64", bool(__builtin_cpu_supports("popcnt")), &RooflineScalar},
          {"avx2", bnnkit_x86::Supported(Isa::kAvx2), &RooflineAvx2},
          {"avx512_vpopcntdq", bnnkit_x86::Supported(Isa::kAvx512Vpopcntdq),
           &RooflineAvx512Vpopcnt}};
}

// Iterations of `run` that take about `ms` milliseconds of CPU time.
long Calibrate(double (*run)(long), double ms) {
  long iterations = 31 * 1000;
  for (;;) {
    const double start = CpuSeconds();
    run(iterations);
    const double took = (CpuSeconds() - start) * 1e3;
    if (took > ms / 4) return std::max(31L, long(iterations * ms / took));
    iterations *= 2;
  }
}

// The summed rate of `threads` threads running `run` at once.
double RunRate(double (*run)(long), long iterations, int threads) {
  std::vector<double> rates(threads);
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back([&, t] { rates[t] = run(iterations); });
  rates[0] = run(iterations);
  for (auto& th : pool) th.join();
  double sum = 0.0;
  for (double r : rates) sum += r;
  return sum;
}

// Best of 5 runs of about `ms` milliseconds each.
double Measure(double (*run)(long), double ms, int threads) {
  const long iterations = Calibrate(run, ms);
  double best = 0.0;
  for (int i = 0; i < 5; ++i) best = std::max(best, RunRate(run, iterations, threads));
  return best;
}

// The fastest loop of this CPU (a short measurement of each).
Loop FastestLoop() {
  Loop fastest{"none", false, nullptr};
  double best = 0.0;
  for (const Loop& loop : RooflineLoops()) {
    if (!loop.supported) continue;
    const double rate = Measure(loop.run, 20.0, 1);
    if (rate > best) best = rate, fastest = loop;
  }
  return fastest;
}

int Roofline(const Args& args) {
  const double ms = args.Real("--ms", 200.0);
  const int threads = int(args.Int("--threads", 1));
  std::string rows;
  double best = 0.0;
  std::string best_name = "none";
  for (const Loop& loop : RooflineLoops()) {
    if (!loop.supported) continue;
    const double rate = Measure(loop.run, ms, threads);
    if (rate > best) best = rate, best_name = loop.name;
    char text[160];
    std::snprintf(text, sizeof text, "%s\"%s\": %.1f", rows.empty() ? "" : ", ", loop.name,
                  rate / 1e9);
    rows += text;
  }
  std::printf("{\"mode\": \"roofline\", \"threads\": %d, \"unit\": \"G binary MACs/s\", "
              "\"clock\": \"thread CPU time\", \"loops\": {%s}, \"roofline_gmacs_per_s\": %.1f, "
              "\"roofline_loop\": \"%s\"}\n",
              threads, rows.c_str(), best / 1e9, best_name.c_str());
  return 0;
}

// ---------------------------------------------------------------- bench
double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

struct Timing {
  double wall_ms, cpu_ms;  // per convolution
};

// Enough repetitions of one convolution to last `min_ms` of wall time.
Timing TimeConvolutions(const Problem& p, const Kernel* kernel, void* out, double min_ms) {
  int reps = 1;
  for (;;) {
    const double wall = Seconds(), cpu = CpuSeconds();
    for (int r = 0; r < reps; ++r) Convolve(p, kernel, out);
    const double wall_ms = (Seconds() - wall) * 1e3, cpu_ms = (CpuSeconds() - cpu) * 1e3;
    if (wall_ms >= min_ms) return {wall_ms / reps, cpu_ms / reps};
    reps = std::max(reps * 2, int(reps * 1.2 * min_ms / std::max(wall_ms, 1e-3)));
  }
}

struct Timed {
  std::string name;
  std::unique_ptr<Kernel> kernel;  // nullptr: the roofline loop
  std::vector<double> rate;        // binary MACs per second, per round
  std::vector<double> wall_ms;
};

Shape ParseLayer(const std::string& spec, const Args& args, std::string* name) {
  *name = spec.substr(0, spec.find(':'));
  Shape s;
  char padding[16] = "";
  if (name->size() == spec.size() ||
      std::sscanf(spec.c_str() + name->size() + 1, "%d,%d,%d,%d,%d,%d,%15s", &s.height,
                  &s.width, &s.cin, &s.cout, &s.kernel, &s.stride, padding) != 7) {
    std::fprintf(stderr, "bad --layer %s (NAME:H,W,CIN,COUT,K,STRIDE,same|valid)\n",
                 spec.c_str());
    std::exit(2);
  }
  s.same = std::string(padding) == "same";
  s.out = args.Get("--output", "float") == std::string("bitpacked") ? Out::kBitpacked
                                                                     : Out::kFloat;
  return s;
}

// Rates use thread CPU time with one thread (what the kernel achieves when it runs) and
// wall time with more; the roofline loop runs on as many threads, in the same rounds.
std::string BenchLayer(const std::string& spec, const Args& args, const Loop& roofline,
                       std::mt19937_64& rng) {
  std::string name;
  const Shape shape = ParseLayer(spec, args, &name);
  const auto problem = MakeProblem(shape, rng);
  const int threads = int(args.Int("--threads", 1));
  const int rounds = int(args.Int("--rounds", 5));
  const double min_ms = args.Real("--min-ms", 50.0);
  const double macs = double(problem->Macs());
  std::vector<Timed> timed;
  timed.push_back({"lce_portable", MakeAnyKernel(*problem, Isa::kNone, 1), {}, {}});
  for (Isa isa : SupportedIsas()) {
    timed.push_back({bnnkit_x86::IsaName(isa), MakeAnyKernel(*problem, isa, threads), {}, {}});
  }
  timed.push_back({"roofline", nullptr, {}, {}});
  const long roofline_iterations = Calibrate(roofline.run, min_ms);
  std::vector<unsigned char> out(problem->output_bytes + kGuard);
  for (auto& t : timed) {  // warm-up
    if (t.kernel) TimeConvolutions(*problem, t.kernel.get(), out.data(), min_ms / 5);
  }
  std::vector<std::size_t> order(timed.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  for (int r = 0; r < rounds; ++r) {
    std::shuffle(order.begin(), order.end(), rng);
    for (std::size_t i : order) {
      Timed& t = timed[i];
      if (!t.kernel) {
        t.rate.push_back(RunRate(roofline.run, roofline_iterations, threads));
        continue;
      }
      const Timing time = TimeConvolutions(*problem, t.kernel.get(), out.data(), min_ms);
      t.wall_ms.push_back(time.wall_ms);
      t.rate.push_back(macs / ((threads == 1 ? time.cpu_ms : time.wall_ms) * 1e-3));
    }
  }
  const std::vector<double>& peak = timed.back().rate;
  std::string kernels;
  for (const auto& t : timed) {
    if (!t.kernel) continue;
    std::vector<double> speedup, fraction;
    for (int r = 0; r < rounds; ++r) {
      speedup.push_back(t.rate[r] / timed[0].rate[r]);
      fraction.push_back(t.rate[r] / peak[r]);
    }
    char text[400];
    std::snprintf(text, sizeof text,
                  "%s\"%s\": {\"gmacs_per_s\": %.1f, \"fraction_of_roofline\": %.4f, "
                  "\"speedup_vs_lce_portable\": %.3f, \"wall_ms\": %.5f, \"gmacs_per_s_min\": "
                  "%.1f, \"gmacs_per_s_max\": %.1f}",
                  kernels.empty() ? "" : ", ", t.name.c_str(), Median(t.rate) / 1e9,
                  Median(fraction), Median(speedup), Median(t.wall_ms),
                  *std::min_element(t.rate.begin(), t.rate.end()) / 1e9,
                  *std::max_element(t.rate.begin(), t.rate.end()) / 1e9);
    kernels += text;
  }
  char head[300];
  std::snprintf(head, sizeof head,
                "{\"name\": \"%s\", \"binary_macs\": %.0f, \"roofline_gmacs_per_s\": %.1f, "
                "\"shape\": ",
                name.c_str(), macs, Median(peak) / 1e9);
  return std::string(head) + shape.Describe() + ", \"kernels\": {" + kernels + "}}";
}

int Bench(const Args& args) {
  std::mt19937_64 rng(args.Int("--seed", 1));
  const Loop roofline = FastestLoop();
  const int threads = int(args.Int("--threads", 1));
  std::string layers;
  for (const std::string& spec : args.All("--layer")) {
    layers += std::string(layers.empty() ? "" : ",\n  ") + BenchLayer(spec, args, roofline, rng);
  }
  std::printf("{\"mode\": \"bench\", \"isas\": %s, \"threads\": %d, \"rounds\": %ld, "
              "\"output\": \"%s\", \"roofline_loop\": \"%s\", \"clock\": \"%s\", "
              "\"layers\": [\n  %s]}\n",
              IsaList().c_str(), threads, args.Int("--rounds", 5),
              args.Get("--output", "float").c_str(), roofline.name,
              threads == 1 ? "thread CPU time" : "wall time", layers.c_str());
  return 0;
}

int Features() {
  __builtin_cpu_init();
  std::printf("{\"mode\": \"features\", \"isas\": %s, \"best\": \"%s\", \"popcnt\": %s, "
              "\"avx2\": %s, \"avx512f\": %s, \"avx512bw\": %s, \"avx512vpopcntdq\": %s, "
              "\"avx512bitalg\": %s}\n",
              IsaList().c_str(), bnnkit_x86::IsaName(bnnkit_x86::Best()),
              __builtin_cpu_supports("popcnt") ? "true" : "false",
              __builtin_cpu_supports("avx2") ? "true" : "false",
              __builtin_cpu_supports("avx512f") ? "true" : "false",
              __builtin_cpu_supports("avx512bw") ? "true" : "false",
              __builtin_cpu_supports("avx512vpopcntdq") ? "true" : "false",
              __builtin_cpu_supports("avx512bitalg") ? "true" : "false");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  for (int i = 2; i < argc; ++i) args.values.push_back(argv[i]);
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "features") return Features();
  if (mode == "check") return Check(args);
  if (mode == "bitpack") return CheckBitpack(args);
  if (mode == "bench") return Bench(args);
  if (mode == "roofline") return Roofline(args);
  std::fprintf(stderr, "usage: %s features|check|bitpack|bench|roofline [options]\n", argv[0]);
  return 2;
}
