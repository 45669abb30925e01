package org.bnnkit.demo.core;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Decides, before any interpreter is created, whether this app build can run a bundle, and
 * says why not in a sentence the user can act on.
 */
public final class BundleCheck {
    /** The runtime an app flavor bundles. */
    public enum Flavor {
        /** stock org.tensorflow:tensorflow-lite: builtin ops only. */
        LITERT,
        /** Larq Compute Engine's lce-lite AAR: builtin ops plus the Lce* custom ops. */
        LCE,
        /**
         * stock org.tensorflow:tensorflow-lite with bnnkit's LCE-kernel delegate
         * (libbnnkit_lce_delegate.so in the app's jniLibs): builtin ops plus the Lce* custom ops.
         */
        LITERT_WITH_LCE_DELEGATE;

        public static Flavor fromName(String name) {
            return "lce".equalsIgnoreCase(name) ? LCE : LITERT;
        }

        /** Whether this runtime runs Larq Compute Engine's Lce* ops. */
        public boolean runsLceOps() {
            return this != LITERT;
        }
    }

    private BundleCheck() {
    }

    /** The class names of labels.txt: one per line, trailing empty lines and '\r' dropped. */
    public static List<String> parseLabels(String text) {
        List<String> out = new ArrayList<>();
        for (String line : text.split("\n", -1)) {
            out.add(line.endsWith("\r") ? line.substring(0, line.length() - 1) : line);
        }
        while (!out.isEmpty() && out.get(out.size() - 1).isEmpty()) {
            out.remove(out.size() - 1);
        }
        return out;
    }

    /**
     * Throws a {@link BundleException} when the model does not match the digest bnnkit embedded
     * in it ({@link ModelDigest}), when the model, its metadata and labels disagree, or when the
     * model needs ops the flavor's runtime does not have.
     */
    public static void check(Metadata metadata, TfliteModelInfo model, List<String> labels, Flavor flavor)
            throws BundleException {
        ModelDigest.verify(model);
        List<String> lce = model.lceOps();
        List<String> unknown = model.unknownCustomOps();
        if (!unknown.isEmpty()) {
            throw new BundleException("The model uses custom ops " + unknown
                    + " that this app cannot run. Convert it with bnnkit for the 'litert' or 'lce' target.");
        }
        if (!flavor.runsLceOps() && (!lce.isEmpty() || metadata.runtime.equals("lce"))) {
            throw new BundleException("This model needs Larq Compute Engine ("
                    + (lce.isEmpty() ? "metadata runtime 'lce'" : "ops " + lce)
                    + ") but this is the 'litert' build of the app, with stock TensorFlow Lite. "
                    + "Install the 'lce' build, add bnnkit's LCE-kernel delegate to this one "
                    + "(libbnnkit_lce_delegate.so in jniLibs), or convert the model with bnnkit's "
                    + "'litert' target.");
        }
        if (model.numInputs != 1 || model.numOutputs != 1) {
            throw new BundleException("The model has " + model.numInputs + " inputs and " + model.numOutputs
                    + " outputs; this app runs image classifiers with one input and one output.");
        }
        int[] expected = {1, metadata.height, metadata.width, metadata.channels};
        if (!Arrays.equals(model.inputShape, expected)) {
            throw new BundleException("The model does not match its metadata: the model's input is "
                    + Arrays.toString(model.inputShape) + " but metadata.json says " + Arrays.toString(expected) + ".");
        }
        if (!model.inputType.equals("float32")) {
            throw new BundleException("The model's input is " + model.inputType
                    + " but metadata.json says float32; this app feeds float32 images.");
        }
        if (!model.outputType.equals("float32")) {
            throw new BundleException("The model's output is " + model.outputType + "; this app reads float32 scores.");
        }
        int outputs = 1;
        for (int d : model.outputShape) {
            outputs *= d;
        }
        if (model.outputShape.length == 0 || model.outputShape[0] != 1 || outputs != metadata.numClasses) {
            throw new BundleException("The model does not match its metadata: the model's output is "
                    + Arrays.toString(model.outputShape) + " but metadata.json says " + metadata.numClasses + " classes.");
        }
        if (labels.size() != metadata.numClasses) {
            throw new BundleException("labels.txt has " + labels.size() + " lines but metadata.json says "
                    + metadata.numClasses + " classes.");
        }
    }
}
