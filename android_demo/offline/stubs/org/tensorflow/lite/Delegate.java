package org.tensorflow.lite;

/**
 * COMPILE-ONLY stand-in for TensorFlow Lite's Java {@code Delegate} interface, for the offline
 * APK build (see Interpreter.java beside it). Never packaged.
 */
public interface Delegate {
    long getNativeHandle();
}
