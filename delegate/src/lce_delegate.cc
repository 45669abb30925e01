// bnnkit's LCE-kernel delegate: an external TFLite delegate that runs Larq Compute
// Engine's own kernels (LceQuantize, LceDequantize, LceBconv2d, LceBMaxPool2d) inside a
// stock TFLite runtime such as ai-edge-litert, which does not register these custom ops.
//
//   from ai_edge_litert.interpreter import Interpreter, load_delegate
//   delegate = load_delegate("libbnnkit_lce_delegate.so")          # or options={...}
//   interpreter = Interpreter(model_path="model.tflite", experimental_delegates=[delegate])
//
// How it works:
// * The delegate claims every node whose custom op name is in kOpKernels, each as its own
//   partition (one ReplaceNodeSubsetsWithDelegateKernels call per node). A partition of one
//   node keeps its tensors exactly as the runtime planned them (arena-allocated), which
//   LCE's indirect BGEMM kernel requires, and leaves every other op to the runtime (and to
//   XNNPACK for the float ops).
// * Each delegate kernel hands the original node (its inputs, outputs and custom options)
//   to LCE's registration: init on creation, prepare on prepare, invoke on invoke.
// * The delegate sets kTfLiteDelegateFlagsAllowDynamicTensors: with the default flags the
//   runtime prepares every node before the delegate is applied, and fails on the custom
//   ops it does not know ("Encountered unresolved custom op").
// * LCE's LceBconv2d caches its indirection buffer (pointers into the input tensor for one
//   input shape) on its first invoke. Resizing an input after that is refused with an
//   error; create a new interpreter for a new input shape.
//
// Options (load_delegate's `options`): "<custom op name>": "<kernel>" picks one of the
// kernels listed for that op in kOpKernels, e.g. {"LceBconv2d": "reference"}. The first
// kernel of an op is its default. Unknown keys or kernels make the delegate refuse to load.

#include <cstddef>
#include <cstring>
#include <string>
#include <vector>

#include "tensorflow/lite/builtin_ops.h"
#include "tensorflow/lite/core/c/common.h"

#if defined(__x86_64__)
#include "x86_64/registration.h"  // bnnkit's x86 kernels: the defaults on x86_64
#endif

// LCE's kernel registrations (defined in larq_compute_engine/tflite/kernels/*.cc). Declared
// here rather than through lce_ops_register.h, which pulls in TFLite's op resolver and absl.
namespace compute_engine {
namespace tflite {
TfLiteRegistration* Register_QUANTIZE();
TfLiteRegistration* Register_DEQUANTIZE();
TfLiteRegistration* Register_BCONV_2D_REF();
TfLiteRegistration* Register_BCONV_2D_OPT_INDIRECT_BGEMM();
TfLiteRegistration* Register_BMAXPOOL_2D();
}  // namespace tflite
}  // namespace compute_engine

namespace bnnkit_lce_delegate {
namespace {

namespace lce = ::compute_engine::tflite;

// One kernel that can run one LCE custom op.
struct OpKernel {
  const char* op_name;      // the custom op's name in the flatbuffer
  const char* kernel_name;  // what the delegate option "<op_name>" selects it by
  TfLiteRegistration* (*registration)();
};

// Every op the delegate claims, with its kernels; the first one of each op is the default.
// LCE's ruy-based BGEMM kernel is not built (no ruy sources; see the patch), so LceBconv2d
// runs LCE's indirect BGEMM kernels (NEON assembly on aarch64, portable C++ elsewhere). On
// x86_64 the defaults are bnnkit's x86 kernels (x86_64/registration.h: LCE's indirect BGEMM
// with AVX-512/AVX2 microkernels chosen at run time, and SIMD bitpacking);
// {"LceBconv2d": "indirect_bgemm", "LceQuantize": "lce"} turns them off.
const OpKernel kOpKernels[] = {
#if defined(__x86_64__)
    {"LceQuantize", "x86_simd", bnnkit_x86::Register_QUANTIZE_X86_SIMD},
    {"LceBconv2d", "x86_simd", bnnkit_x86::Register_BCONV_2D_X86_SIMD},
    {"LceBconv2d", "x86_avx2", bnnkit_x86::Register_BCONV_2D_X86_AVX2},
    {"LceBconv2d", "x86_avx512bw", bnnkit_x86::Register_BCONV_2D_X86_AVX512BW},
#endif
    {"LceQuantize", "lce", lce::Register_QUANTIZE},
    {"LceDequantize", "lce", lce::Register_DEQUANTIZE},
    {"LceBconv2d", "indirect_bgemm", lce::Register_BCONV_2D_OPT_INDIRECT_BGEMM},
    {"LceBconv2d", "reference", lce::Register_BCONV_2D_REF},
    {"LceBMaxPool2d", "lce", lce::Register_BMAXPOOL_2D},
};

constexpr char kLogPrefix[] = "bnnkit LCE delegate";

// The delegate: TfLiteDelegate first, so that a TfLiteDelegate* is a Delegate*.
struct Delegate {
  TfLiteDelegate base;
  std::vector<const OpKernel*> chosen;  // one kernel per claimed op name

  const OpKernel* KernelFor(const char* op_name) const {
    if (op_name == nullptr) return nullptr;
    for (const OpKernel* kernel : chosen) {
      if (std::strcmp(kernel->op_name, op_name) == 0) return kernel;
    }
    return nullptr;
  }
};

// The state of one delegate kernel: the original node as LCE's kernel sees it.
struct NodeState {
  const OpKernel* kernel = nullptr;
  TfLiteRegistration* lce = nullptr;
  int node_index = -1;
  TfLiteNode node{};
  std::string init_error;
  bool invoked = false;
  std::vector<std::vector<int>> input_dims;  // input shapes at the first invoke
  std::vector<const void*> input_data;       // input data pointers at the first invoke
};

TfLiteIntArray* CopyOrEmpty(const TfLiteIntArray* array) {
  return array != nullptr ? TfLiteIntArrayCopy(array) : TfLiteIntArrayCreate(0);
}

std::vector<int> DimsOf(const TfLiteTensor& tensor) {
  if (tensor.dims == nullptr) return {};
  return std::vector<int>(tensor.dims->data, tensor.dims->data + tensor.dims->size);
}

std::string ShapeString(const std::vector<int>& dims) {
  std::string text = "[";
  for (std::size_t i = 0; i < dims.size(); ++i) {
    text += (i ? ", " : "") + std::to_string(dims[i]);
  }
  return text + "]";
}

void InitLceState(TfLiteContext* context, NodeState* state) {
  state->node.user_data =
      state->lce->init != nullptr
          ? state->lce->init(
                context, static_cast<const char*>(state->node.custom_initial_data),
                static_cast<std::size_t>(state->node.custom_initial_data_size))
          : nullptr;
}

void FreeLceState(TfLiteContext* context, NodeState* state) {
  if (state->lce->free != nullptr) state->lce->free(context, state->node.user_data);
  state->node.user_data = nullptr;
}

// Delegate kernel init: `buffer` is the TfLiteDelegateParams of a one-node partition.
void* KernelInit(TfLiteContext* context, const char* buffer, std::size_t) {
  const auto* params = reinterpret_cast<const TfLiteDelegateParams*>(buffer);
  const auto* delegate = reinterpret_cast<const Delegate*>(params->delegate);
  auto* state = new NodeState;
  state->node_index = params->nodes_to_replace->data[0];
  TfLiteNode* original = nullptr;
  TfLiteRegistration* registration = nullptr;
  if (params->nodes_to_replace->size != 1 ||
      context->GetNodeAndRegistration(context, state->node_index, &original,
                                      &registration) != kTfLiteOk ||
      (state->kernel = delegate->KernelFor(registration->custom_name)) == nullptr) {
    state->init_error = "unexpected partition (expected one LCE node)";
    return state;
  }
  state->lce = state->kernel->registration();
  // Copies: the runtime's node storage may move when later partitions are added.
  state->node.inputs = CopyOrEmpty(original->inputs);
  state->node.outputs = CopyOrEmpty(original->outputs);
  state->node.intermediates = CopyOrEmpty(original->intermediates);
  state->node.temporaries = TfLiteIntArrayCreate(0);
  state->node.custom_initial_data = original->custom_initial_data;
  state->node.custom_initial_data_size = original->custom_initial_data_size;
  InitLceState(context, state);
  return state;
}

void KernelFree(TfLiteContext* context, void* buffer) {
  auto* state = static_cast<NodeState*>(buffer);
  if (state->lce != nullptr) FreeLceState(context, state);
  for (TfLiteIntArray* array : {state->node.inputs, state->node.outputs,
                                state->node.intermediates, state->node.temporaries}) {
    if (array != nullptr) TfLiteIntArrayFree(array);
  }
  delete state;
}

// Index of the first input whose shape differs from the first invoke's, or -1.
int ResizedInput(TfLiteContext* context, const NodeState& state) {
  for (int i = 0; i < state.node.inputs->size; ++i) {
    const int tensor = state.node.inputs->data[i];
    if (tensor >= 0 && DimsOf(context->tensors[tensor]) != state.input_dims[i]) return i;
  }
  return -1;
}

TfLiteStatus KernelPrepare(TfLiteContext* context, TfLiteNode* delegate_node) {
  auto* state = static_cast<NodeState*>(delegate_node->user_data);
  if (!state->init_error.empty()) {
    TF_LITE_KERNEL_LOG(context, "%s: node %d: %s", kLogPrefix, state->node_index,
                       state->init_error.c_str());
    return kTfLiteError;
  }
  if (state->invoked) {
    const int resized = ResizedInput(context, *state);
    if (resized >= 0) {
      const int tensor = state->node.inputs->data[resized];
      TF_LITE_KERNEL_LOG(
          context,
          "%s: input %d of %s (node %d) was resized from %s to %s after the first "
          "invoke; LCE's kernels keep state for the first shape, so resizing is not "
          "supported: create a new interpreter for the new input shape.",
          kLogPrefix, resized, state->kernel->op_name, state->node_index,
          ShapeString(state->input_dims[resized]).c_str(),
          ShapeString(DimsOf(context->tensors[tensor])).c_str());
      return kTfLiteError;
    }
  }
  if (state->lce->prepare == nullptr) return kTfLiteOk;
  TF_LITE_ENSURE_STATUS(state->lce->prepare(context, &state->node));
  // Temporaries LCE asked for must be planned by the runtime: they belong to the node the
  // runtime sees.
  if (state->node.temporaries->size > 0) {
    if (delegate_node->temporaries != nullptr) TfLiteIntArrayFree(delegate_node->temporaries);
    delegate_node->temporaries = TfLiteIntArrayCopy(state->node.temporaries);
  }
  return kTfLiteOk;
}

void RecordInputs(TfLiteContext* context, NodeState* state) {
  state->input_dims.clear();
  state->input_data.clear();
  for (int i = 0; i < state->node.inputs->size; ++i) {
    const int tensor = state->node.inputs->data[i];
    state->input_dims.push_back(tensor >= 0 ? DimsOf(context->tensors[tensor])
                                            : std::vector<int>{});
    state->input_data.push_back(tensor >= 0 ? context->tensors[tensor].data.raw_const
                                            : nullptr);
  }
}

bool InputDataMoved(TfLiteContext* context, const NodeState& state) {
  for (int i = 0; i < state.node.inputs->size; ++i) {
    const int tensor = state.node.inputs->data[i];
    if (tensor >= 0 && context->tensors[tensor].data.raw_const != state.input_data[i]) {
      return true;
    }
  }
  return false;
}

TfLiteStatus KernelInvoke(TfLiteContext* context, TfLiteNode* delegate_node) {
  auto* state = static_cast<NodeState*>(delegate_node->user_data);
  if (!state->invoked) {
    RecordInputs(context, state);
    state->invoked = true;
  } else if (InputDataMoved(context, *state)) {
    // Same shapes, but the runtime placed the inputs elsewhere (re-planned arena): LCE's
    // cached pointers are stale, so its state is rebuilt from the op's options.
    FreeLceState(context, state);
    InitLceState(context, state);
    if (state->lce->prepare != nullptr) {
      TF_LITE_ENSURE_STATUS(state->lce->prepare(context, &state->node));
    }
    RecordInputs(context, state);
  }
  return state->lce->invoke(context, &state->node);
}

const TfLiteRegistration& KernelRegistration() {
  static const TfLiteRegistration registration = [] {
    TfLiteRegistration r{};
    r.init = KernelInit;
    r.free = KernelFree;
    r.prepare = KernelPrepare;
    r.invoke = KernelInvoke;
    r.builtin_code = kTfLiteBuiltinDelegate;
    r.custom_name = "BnnkitLceDelegateKernel";
    r.version = 1;
    return r;
  }();
  return registration;
}

TfLiteStatus DelegatePrepare(TfLiteContext* context, TfLiteDelegate* base) {
  const auto* delegate = reinterpret_cast<const Delegate*>(base);
  TfLiteIntArray* plan = nullptr;
  TF_LITE_ENSURE_STATUS(context->GetExecutionPlan(context, &plan));
  std::vector<int> claimed;
  for (int i = 0; i < plan->size; ++i) {
    TfLiteNode* node = nullptr;
    TfLiteRegistration* registration = nullptr;
    TF_LITE_ENSURE_STATUS(
        context->GetNodeAndRegistration(context, plan->data[i], &node, &registration));
    if (registration->builtin_code == kTfLiteBuiltinCustom &&
        delegate->KernelFor(registration->custom_name) != nullptr) {
      claimed.push_back(plan->data[i]);
    }
  }
  // One partition per node (see the file comment).
  for (const int node_index : claimed) {
    TfLiteIntArray* subset = TfLiteIntArrayCreate(1);
    subset->data[0] = node_index;
    const TfLiteStatus status = context->ReplaceNodeSubsetsWithDelegateKernels(
        context, KernelRegistration(), subset, base);
    TfLiteIntArrayFree(subset);
    TF_LITE_ENSURE_STATUS(status);
  }
  return kTfLiteOk;
}

// Picks each op's kernel from the options; returns an error message, empty when valid.
std::string ChooseKernels(Delegate* delegate, char** keys, char** values, std::size_t count) {
  for (const OpKernel& kernel : kOpKernels) {
    if (delegate->KernelFor(kernel.op_name) == nullptr) delegate->chosen.push_back(&kernel);
  }
  for (std::size_t i = 0; i < count; ++i) {
    const OpKernel* current = delegate->KernelFor(keys[i]);
    if (current == nullptr) {
      return std::string("unknown option '") + keys[i] + "' (options are LCE op names)";
    }
    const OpKernel* wanted = nullptr;
    std::string known;
    for (const OpKernel& kernel : kOpKernels) {
      if (std::strcmp(kernel.op_name, keys[i]) != 0) continue;
      known += (known.empty() ? "" : ", ") + std::string(kernel.kernel_name);
      if (std::strcmp(kernel.kernel_name, values[i]) == 0) wanted = &kernel;
    }
    if (wanted == nullptr) {
      return std::string("unknown kernel '") + values[i] + "' for " + keys[i] +
             " (known: " + known + ")";
    }
    for (const OpKernel*& chosen : delegate->chosen) {
      if (chosen == current) chosen = wanted;
    }
  }
  return "";
}

}  // namespace
}  // namespace bnnkit_lce_delegate

extern "C" {

// The two entry points of TFLite's external delegate interface (the only exported symbols:
// everything else is built with -fvisibility=hidden and hidden by exports.map).
__attribute__((visibility("default"))) TfLiteDelegate* tflite_plugin_create_delegate(
    char** options_keys, char** options_values, std::size_t num_options,
    void (*report_error)(const char*)) {
  using bnnkit_lce_delegate::Delegate;
  auto* delegate = new Delegate;
  delegate->base = TfLiteDelegateCreate();
  delegate->base.data_ = delegate;
  delegate->base.Prepare = bnnkit_lce_delegate::DelegatePrepare;
  delegate->base.flags = kTfLiteDelegateFlagsAllowDynamicTensors;
  const std::string error = bnnkit_lce_delegate::ChooseKernels(
      delegate, options_keys, options_values, num_options);
  if (!error.empty()) {
    if (report_error != nullptr) {
      report_error((std::string(bnnkit_lce_delegate::kLogPrefix) + ": " + error).c_str());
    }
    delete delegate;
    return nullptr;
  }
  return &delegate->base;
}

__attribute__((visibility("default"))) void tflite_plugin_destroy_delegate(
    TfLiteDelegate* delegate) {
  delete reinterpret_cast<bnnkit_lce_delegate::Delegate*>(delegate);
}

}  // extern "C"
