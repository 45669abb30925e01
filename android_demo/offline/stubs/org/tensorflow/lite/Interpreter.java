package org.tensorflow.lite;

import java.nio.ByteBuffer;

/**
 * COMPILE-ONLY stand-in for the part of TensorFlow Lite's Java API the app uses, for the
 * offline APK build (tools/build_apk.sh), where no TFLite AAR can be downloaded. It is put on
 * javac's classpath but NOT dexed into the APK: on a device the app then gets a
 * NoClassDefFoundError from TfliteRunner, catches it and says "TFLite runtime not bundled in
 * this offline build". Android Studio builds use the real AAR (litert or lce flavor) instead.
 */
public final class Interpreter implements AutoCloseable {
    public static class Options {
        public Options setNumThreads(int numThreads) {
            throw new UnsupportedOperationException("compile-only stub");
        }

        public Options addDelegate(Delegate delegate) {
            throw new UnsupportedOperationException("compile-only stub");
        }
    }

    public Interpreter(ByteBuffer model, Options options) {
        throw new UnsupportedOperationException("compile-only stub");
    }

    public void run(Object input, Object output) {
        throw new UnsupportedOperationException("compile-only stub");
    }

    @Override
    public void close() {
        throw new UnsupportedOperationException("compile-only stub");
    }
}
