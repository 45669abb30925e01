package org.bnnkit.demo.core;

import java.util.ArrayList;
import java.util.List;

/** Ranking of one output vector, as {@code bnnkit.imaging.top_k} does it. */
public final class TopK {
    private TopK() {
    }

    /** One ranked class. */
    public static final class Prediction {
        public final int index;
        public final double probability;

        public Prediction(int index, double probability) {
            this.index = index;
            this.probability = probability;
        }

        @Override
        public String toString() {
            return index + ":" + probability;
        }
    }

    /** Numerically stable softmax in double. */
    public static double[] softmax(float[] scores) {
        double max = Double.NEGATIVE_INFINITY;
        for (float s : scores) {
            max = Math.max(max, s);
        }
        double[] out = new double[scores.length];
        double total = 0.0;
        for (int i = 0; i < scores.length; i++) {
            out[i] = Math.exp(scores[i] - max);
            total += out[i];
        }
        for (int i = 0; i < out.length; i++) {
            out[i] /= total;
        }
        return out;
    }

    /**
     * The k best classes by decreasing probability, ties by increasing index. {@code activation}
     * is the metadata's output.activation: "softmax" scores are used as they are, "linear"
     * scores (logits) go through {@link #softmax} first.
     */
    public static List<Prediction> topK(float[] scores, int k, String activation) throws BundleException {
        if (scores.length == 0) {
            throw new BundleException("the model's output is empty");
        }
        for (float s : scores) {
            if (Float.isNaN(s) || Float.isInfinite(s)) {
                throw new BundleException("the model's output contains NaN/Inf");
            }
        }
        double[] values;
        if ("linear".equals(activation)) {
            values = softmax(scores);
        } else if ("softmax".equals(activation)) {
            values = new double[scores.length];
            for (int i = 0; i < scores.length; i++) {
                values[i] = scores[i];
            }
        } else {
            throw new BundleException("output.activation '" + activation + "' is not one of [softmax, linear]");
        }
        boolean[] taken = new boolean[values.length];
        List<Prediction> out = new ArrayList<>();
        for (int r = 0; r < Math.min(k, values.length); r++) {
            int best = -1;
            for (int i = 0; i < values.length; i++) {
                if (!taken[i] && (best < 0 || values[i] > values[best])) {
                    best = i;
                }
            }
            taken[best] = true;
            out.add(new Prediction(best, values[best]));
        }
        return out;
    }
}
