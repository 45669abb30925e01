package org.bnnkit.demo.core;

/** A bundle (model.tflite + labels.txt + metadata.json) the app cannot run; the message says why. */
public final class BundleException extends Exception {
    private static final long serialVersionUID = 1L;

    public BundleException(String message) {
        super(message);
    }
}
