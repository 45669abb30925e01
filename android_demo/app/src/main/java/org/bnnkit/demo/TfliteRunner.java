package org.bnnkit.demo;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.tensorflow.lite.Interpreter;

/**
 * The only class that touches the TFLite runtime (stock TFLite in the litert flavor, LCE's
 * build of it in the lce flavor: same {@code org.tensorflow.lite.Interpreter} API), with
 * {@link LceDelegate} when the litert flavor packages it. Kept apart so that a build without
 * the runtime fails here, with a catchable {@link LinkageError}, and nowhere else.
 */
final class TfliteRunner implements AutoCloseable {
    private final Interpreter interpreter;
    private final LceDelegate delegate;
    private final ByteBuffer input;
    private final float[][] output;

    /** Result of one run. */
    static final class Result {
        final float[] scores;
        final double milliseconds;

        Result(float[] scores, double milliseconds) {
            this.scores = scores;
            this.milliseconds = milliseconds;
        }
    }

    /**
     * @param model a direct (memory-mapped) buffer holding the .tflite file
     * @param delegate the LCE-kernel delegate for a model with Lce ops, or null; the runner
     *     owns it and frees it in {@link #close()}
     */
    TfliteRunner(ByteBuffer model, int inputFloats, int numClasses, int threads,
            LceDelegate delegate) {
        Interpreter.Options options = new Interpreter.Options();
        options.setNumThreads(threads);
        if (delegate != null) {
            options.addDelegate(delegate);
        }
        this.delegate = delegate;
        interpreter = new Interpreter(model, options);
        input = ByteBuffer.allocateDirect(4 * inputFloats).order(ByteOrder.nativeOrder());
        output = new float[1][numClasses];
    }

    Result run(float[] tensor) {
        input.rewind();
        input.asFloatBuffer().put(tensor);
        long start = System.nanoTime();
        interpreter.run(input, output);
        double ms = (System.nanoTime() - start) / 1e6;
        return new Result(output[0].clone(), ms);
    }

    @Override
    public void close() {
        interpreter.close();
        if (delegate != null) {
            delegate.close();
        }
    }
}
