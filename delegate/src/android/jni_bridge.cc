// The Android app's Java entry points into the LCE-kernel delegate (compiled only by
// `build.sh --arch android-arm64`). org.bnnkit.demo.LceDelegate implements TFLite's Java
// org.tensorflow.lite.Delegate: its getNativeHandle() is the TfLiteDelegate* made here, which
// Interpreter.Options.addDelegate hands to the stock TFLite runtime of the app's litert flavor.

#include <jni.h>

#include <cstddef>
#include <cstdint>

struct TfLiteDelegate;  // opaque here: only its pointer crosses to Java and back

extern "C" {

TfLiteDelegate* tflite_plugin_create_delegate(char** options_keys, char** options_values,
                                              std::size_t num_options,
                                              void (*report_error)(const char*));
void tflite_plugin_destroy_delegate(TfLiteDelegate* delegate);

// LceDelegate.nativeCreate(): the delegate with its default kernels, as a jlong (0: failed).
__attribute__((visibility("default"))) JNIEXPORT jlong JNICALL
Java_org_bnnkit_demo_LceDelegate_nativeCreate(JNIEnv*, jclass) {
  return static_cast<jlong>(reinterpret_cast<std::intptr_t>(
      tflite_plugin_create_delegate(nullptr, nullptr, 0, nullptr)));
}

// LceDelegate.nativeDestroy(handle), after the interpreter that used it is closed.
__attribute__((visibility("default"))) JNIEXPORT void JNICALL
Java_org_bnnkit_demo_LceDelegate_nativeDestroy(JNIEnv*, jclass, jlong handle) {
  tflite_plugin_destroy_delegate(
      reinterpret_cast<TfLiteDelegate*>(static_cast<std::intptr_t>(handle)));
}

}  // extern "C"
