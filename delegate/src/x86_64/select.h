// Run-time choice of bnnkit's x86 binary-convolution microkernels, behind LCE's
// indirect-BGEMM kernel interface (larq_compute_engine/core/indirect_bgemm/kernel.h).
//
// LCE picks an indirect-BGEMM kernel in SelectRuntimeKernel (select_kernel.h): NEON
// assembly on aarch64, a portable C++ 4x2 kernel elsewhere. The delegate build patches that
// function (patches/0002-x86-kernel-selection.patch) to ask SelectKernel below first on
// x86_64. SelectKernel answers only inside an invoke of one of the delegate's x86
// registrations (registration.h), which says how far up the instruction sets it may go and
// how many threads to use; anywhere else, and for what these kernels do not cover (grouped
// convolutions), it returns nullptr and LCE's own choice stands.
//
// The kernels reuse LCE's weight packing and indirection buffer (the Kernel base class,
// with the block sizes of each microkernel), LCE's output-transform parameters (clamp,
// multiplier, bias, thresholds; applied with the same arithmetic, bit for bit), LCE's
// pre-zeroing of bitpacked outputs and its zero-padding correction (both around Dispatch, in
// optimized_indirect_bgemm.h). Int8 output goes through LCE's OutputTransform<int8_t>::Run.
#ifndef BNNKIT_DELEGATE_X86_64_SELECT_H_
#define BNNKIT_DELEGATE_X86_64_SELECT_H_

#include <cstdint>
#include <memory>

#include "tensorflow/lite/kernels/internal/runtime_shape.h"
#include "tensorflow/lite/kernels/internal/types.h"

namespace compute_engine {
namespace core {
// LCE's indirect-BGEMM headers name RuntimeShape unqualified; bgemm.h, which is not built
// here, used to bring it in.
using ::tflite::RuntimeShape;
}  // namespace core
}  // namespace compute_engine

#include "larq_compute_engine/core/bconv2d/output_transform.h"
#include "larq_compute_engine/core/bconv2d/params.h"
#include "larq_compute_engine/core/indirect_bgemm/kernel.h"
#include "tiles.h"

namespace bnnkit_x86 {

// Instruction sets with microkernels, in order of preference.
enum class Isa : int { kNone = 0, kAvx2 = 1, kAvx512Bw = 2, kAvx512Vpopcntdq = 3 };

const char* IsaName(Isa isa);
// Whether this CPU (and its OS, which must save the vector registers) runs `isa`, from
// __builtin_cpu_supports.
bool Supported(Isa isa);
// The best supported instruction set that is at most `limit` (kNone if none).
Isa Best(Isa limit = Isa::kAvx512Vpopcntdq);
// The microkernels of `isa`, or nullptr when it is kNone or not supported here.
const IsaKernels* KernelsFor(Isa isa);

// An indirect-BGEMM kernel with the microkernels of `isa` on `threads` threads, or nullptr
// (isa not supported here, or a grouped convolution).
template <typename DstScalar>
std::unique_ptr<compute_engine::core::indirect_bgemm::Kernel> MakeKernel(
    Isa isa, int threads, const compute_engine::core::bconv2d::BConv2DParams* params,
    const ::tflite::RuntimeShape& bitpacked_input_shape,
    const ::tflite::RuntimeShape& output_shape,
    const compute_engine::core::bconv2d::OutputTransform<DstScalar>& output_transform);

// What the x86 registrations allow while they run LCE's code on the current thread.
struct Settings {
  bool active = false;           // outside an x86 registration's invoke: LCE's kernels
  Isa limit = Isa::kNone;        // the highest instruction set allowed
  int threads = 1;               // the interpreter's thread count
};
const Settings& CurrentSettings();

// Installs `settings` on this thread for its lifetime (restores the previous ones after).
class ScopedSettings {
 public:
  explicit ScopedSettings(const Settings& settings);
  ~ScopedSettings();
  ScopedSettings(const ScopedSettings&) = delete;
  ScopedSettings& operator=(const ScopedSettings&) = delete;

 private:
  Settings previous_;
};

// The hook LCE's patched SelectRuntimeKernel calls first on x86_64: MakeKernel with the
// current settings, or nullptr when none are active. Defined for float, int8 and
// TBitpacked (int32, bitpacked) outputs.
template <typename DstScalar>
std::unique_ptr<compute_engine::core::indirect_bgemm::Kernel> SelectKernel(
    const compute_engine::core::bconv2d::BConv2DParams* params,
    const ::tflite::RuntimeShape& bitpacked_input_shape,
    const ::tflite::RuntimeShape& output_shape,
    const compute_engine::core::bconv2d::OutputTransform<DstScalar>& output_transform);

}  // namespace bnnkit_x86

#endif  // BNNKIT_DELEGATE_X86_64_SELECT_H_
