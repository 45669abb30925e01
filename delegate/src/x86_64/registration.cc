// See registration.h. Compiled with the baseline flags.
#include "registration.h"

#include "bitpack.h"
#include "select.h"
#include "tensorflow/lite/kernels/internal/tensor_ctypes.h"
#include "tensorflow/lite/kernels/kernel_util.h"

namespace compute_engine {
namespace tflite {
TfLiteRegistration* Register_QUANTIZE();
TfLiteRegistration* Register_BCONV_2D_OPT_INDIRECT_BGEMM();
}  // namespace tflite
}  // namespace compute_engine

namespace bnnkit_x86 {
namespace {

namespace lce = ::compute_engine::tflite;

template <Isa kLimit>
TfLiteStatus BconvInvoke(TfLiteContext* context, TfLiteNode* node) {
  Settings settings;
  settings.active = true;
  settings.limit = kLimit;
  settings.threads = context->recommended_num_threads;  // -1 when unset: one thread
  ScopedSettings scope(settings);
  return lce::Register_BCONV_2D_OPT_INDIRECT_BGEMM()->invoke(context, node);
}

template <Isa kLimit>
TfLiteRegistration* BconvRegistration() {
  static TfLiteRegistration registration = [] {
    TfLiteRegistration r = *lce::Register_BCONV_2D_OPT_INDIRECT_BGEMM();
    r.invoke = BconvInvoke<kLimit>;
    return r;
  }();
  return &registration;
}

TfLiteStatus QuantizeInvoke(TfLiteContext* context, TfLiteNode* node) {
  const TfLiteTensor* input = ::tflite::GetInput(context, node, 0);
  TfLiteTensor* output = ::tflite::GetOutput(context, node, 0);
  const IsaKernels* kernels = KernelsFor(Best());
  if (input == nullptr || output == nullptr || input->type != kTfLiteFloat32 ||
      kernels == nullptr || input->dims->size < 1) {
    return lce::Register_QUANTIZE()->invoke(context, node);
  }
  const int dims = input->dims->size;
  const std::int32_t cols = input->dims->data[dims - 1];
  std::int32_t rows = 1;
  for (int i = 0; i < dims - 1; ++i) rows *= input->dims->data[i];
  BitpackFloatMatrix(*kernels, ::tflite::GetTensorData<float>(input), rows, cols,
                     ::tflite::GetTensorData<std::int32_t>(output));
  return kTfLiteOk;
}

}  // namespace

TfLiteRegistration* Register_BCONV_2D_X86_SIMD() {
  return BconvRegistration<Isa::kAvx512Vpopcntdq>();
}
TfLiteRegistration* Register_BCONV_2D_X86_AVX2() { return BconvRegistration<Isa::kAvx2>(); }
TfLiteRegistration* Register_BCONV_2D_X86_AVX512BW() {
  return BconvRegistration<Isa::kAvx512Bw>();
}

TfLiteRegistration* Register_QUANTIZE_X86_SIMD() {
  static TfLiteRegistration registration = [] {
    TfLiteRegistration r = *lce::Register_QUANTIZE();
    r.invoke = QuantizeInvoke;
    return r;
  }();
  return &registration;
}

}  // namespace bnnkit_x86
