// The delegate's x86 kernels for LceBconv2d and LceQuantize, as TfLiteRegistrations that
// the glue (src/lce_delegate.cc) offers beside LCE's own, by delegate option:
//
//   LceBconv2d:  "x86_simd"      LCE's indirect BGEMM with the best microkernels this CPU
//                                runs (AVX-512 VPOPCNTDQ, AVX-512 BW, AVX2), on the
//                                interpreter's thread count; LCE's portable kernel if none
//                "x86_avx2"      the same, never above AVX2 (to compare on one machine)
//                "x86_avx512bw"  the same, never above AVX-512 BW
//   LceQuantize: "x86_simd"      float inputs bitpacked with AVX-512 or AVX2; others as LCE
//
// Each wraps LCE's registration: init, free and prepare are LCE's; invoke installs the
// settings (select.h) and calls LCE's invoke, whose patched kernel selection then picks the
// microkernels. With LCE's own registrations ("indirect_bgemm", "lce") nothing changes, so
// one process can load the delegate twice and compare.
#ifndef BNNKIT_DELEGATE_X86_64_REGISTRATION_H_
#define BNNKIT_DELEGATE_X86_64_REGISTRATION_H_

#include "tensorflow/lite/core/c/common.h"

namespace bnnkit_x86 {

TfLiteRegistration* Register_BCONV_2D_X86_SIMD();
TfLiteRegistration* Register_BCONV_2D_X86_AVX2();
TfLiteRegistration* Register_BCONV_2D_X86_AVX512BW();
TfLiteRegistration* Register_QUANTIZE_X86_SIMD();

}  // namespace bnnkit_x86

#endif  // BNNKIT_DELEGATE_X86_64_REGISTRATION_H_
