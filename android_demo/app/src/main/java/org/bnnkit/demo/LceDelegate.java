package org.bnnkit.demo;

import org.tensorflow.lite.Delegate;

/**
 * bnnkit's LCE-kernel delegate (the repository's delegate/, built with the Android NDK:
 * android_demo/README.md), when the app packages it as
 * {@code app/src/main/jniLibs/arm64-v8a/libbnnkit_lce_delegate.so}. Added to the stock
 * {@code org.tensorflow:tensorflow-lite} interpreter of the litert flavor, it runs the Larq
 * Compute Engine ops (LceQuantize, LceBconv2d, LceDequantize, LceBMaxPool2d) with LCE's own
 * kernels, so that flavor runs lce and int8 bundles without LCE's AAR.
 */
final class LceDelegate implements Delegate, AutoCloseable {
    static final String LIBRARY = "bnnkit_lce_delegate";

    private long handle;

    private LceDelegate(long handle) {
        this.handle = handle;
    }

    /** The delegate, or null when its library is not in the app (or does not load here). */
    static LceDelegate loadIfPresent() {
        try {
            System.loadLibrary(LIBRARY);
        } catch (UnsatisfiedLinkError notPackaged) {
            return null;
        }
        long handle = nativeCreate();
        return handle == 0 ? null : new LceDelegate(handle);
    }

    @Override
    public long getNativeHandle() {
        return handle;
    }

    /** Frees the native delegate; call it after closing the interpreter that used it. */
    @Override
    public void close() {
        if (handle != 0) {
            nativeDestroy(handle);
            handle = 0;
        }
    }

    private static native long nativeCreate();

    private static native void nativeDestroy(long handle);
}
