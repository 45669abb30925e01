package org.bnnkit.demo.core;

/**
 * Pixels -> model input tensor, step by step as {@code bnnkit/imaging.py} does it (the
 * reference; see its docstring and docs/bundle-format.md):
 * <ol>
 *   <li>colour mode: alpha discarded; grayscale = (19595 R + 38470 G + 7471 B + 32768) >> 16;</li>
 *   <li>resize each channel, in double, with the widened triangle (bilinear) filter, width then height
 *       (with {@code resize_shorter_side} S: to the shorter side S, then the central H x W);</li>
 *   <li>normalize: (p / 255 - mean[c]) / std[c], then cast to float.</li>
 * </ol>
 * The pixels are packed ARGB ints, row-major, as Android's {@code Bitmap.getPixels} returns them.
 */
public final class Preprocessor {
    private Preprocessor() {
    }

    /** Returns the NHWC float input tensor (batch 1), flattened, of {@code metadata}'s shape. */
    public static float[] toInputTensor(int[] argb, int width, int height, Metadata metadata)
            throws BundleException {
        if (width < 1 || height < 1 || argb.length != width * height) {
            throw new BundleException("the image has no pixels or a wrong pixel count ("
                    + width + "x" + height + ", " + argb.length + " values)");
        }
        int channels = metadata.channels;
        double[] planes = toChannels(argb, channels);
        double[] resized = metadata.resizeShorterSide > 0
                ? resizeAndCrop(planes, height, width, channels, metadata)
                : resize(planes, height, width, channels, metadata.height, metadata.width);
        float[] out = new float[resized.length];
        for (int i = 0; i < resized.length; i++) {
            int c = i % channels;
            out[i] = (float) ((resized[i] / 255.0 - metadata.mean[c]) / metadata.std[c]);
        }
        return out;
    }

    /**
     * Resizes to the shorter side S (the longer side to floor(long * S / short)), then keeps the
     * central H x W: rows (h' - H) / 2 ..., columns (w' - W) / 2 ... (integer division).
     */
    static double[] resizeAndCrop(double[] in, int h, int w, int channels, Metadata metadata) {
        int side = metadata.resizeShorterSide;
        int newH = h <= w ? side : (int) ((long) h * side / w);
        int newW = h <= w ? (int) ((long) w * side / h) : side;
        double[] resized = resize(in, h, w, channels, newH, newW);
        int top = (newH - metadata.height) / 2;
        int left = (newW - metadata.width) / 2;
        double[] out = new double[metadata.height * metadata.width * channels];
        for (int y = 0; y < metadata.height; y++) {
            System.arraycopy(resized, ((top + y) * newW + left) * channels, out,
                    y * metadata.width * channels, metadata.width * channels);
        }
        return out;
    }

    /** 8-bit grayscale from RGB, ITU-R 601-2 luma in Pillow's 16-bit fixed point. */
    public static int luma(int argb) {
        int r = (argb >> 16) & 0xff;
        int g = (argb >> 8) & 0xff;
        int b = argb & 0xff;
        return (19595 * r + 38470 * g + 7471 * b + 32768) >> 16;
    }

    /** Interleaved HWC values 0..255 for 1 (luma) or 3 (R, G, B) channels. */
    static double[] toChannels(int[] argb, int channels) {
        double[] out = new double[argb.length * channels];
        for (int i = 0; i < argb.length; i++) {
            int p = argb[i];
            if (channels == 1) {
                out[i] = luma(p);
            } else {
                out[3 * i] = (p >> 16) & 0xff;
                out[3 * i + 1] = (p >> 8) & 0xff;
                out[3 * i + 2] = p & 0xff;
            }
        }
        return out;
    }

    /** Normalized filter weights for one axis: weights[i] over input samples first[i] .. first[i]+len-1. */
    static final class Axis {
        final int[] first;
        final double[][] weights;

        Axis(int nIn, int nOut) {
            first = new int[nOut];
            weights = new double[nOut][];
            double scale = (double) nIn / nOut;
            double support = Math.max(scale, 1.0);
            for (int i = 0; i < nOut; i++) {
                double center = (i + 0.5) * scale;
                int lo = Math.max((int) Math.floor(center - support + 0.5), 0);
                int hi = Math.min((int) Math.floor(center + support + 0.5), nIn);
                double[] w = new double[Math.max(hi - lo, 0)];
                double total = 0.0;
                for (int j = lo; j < hi; j++) {
                    double v = Math.max(0.0, 1.0 - Math.abs((j - center + 0.5) / support));
                    w[j - lo] = v;
                    total += v;
                }
                if (total > 0.0) {
                    for (int k = 0; k < w.length; k++) {
                        w[k] /= total;
                    }
                }
                first[i] = lo;
                weights[i] = w;
            }
        }
    }

    /** Resizes interleaved HWC doubles from (h, w) to (outH, outW): along the width, then the height. */
    static double[] resize(double[] in, int h, int w, int channels, int outH, int outW) {
        if (h == outH && w == outW) {
            return in.clone();
        }
        Axis cols = new Axis(w, outW);
        double[] mid = new double[h * outW * channels];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < outW; x++) {
                double[] wt = cols.weights[x];
                int base = cols.first[x];
                for (int c = 0; c < channels; c++) {
                    double sum = 0.0;
                    for (int k = 0; k < wt.length; k++) {
                        sum += wt[k] * in[(y * w + base + k) * channels + c];
                    }
                    mid[(y * outW + x) * channels + c] = sum;
                }
            }
        }
        Axis rows = new Axis(h, outH);
        double[] out = new double[outH * outW * channels];
        for (int y = 0; y < outH; y++) {
            double[] wt = rows.weights[y];
            int base = rows.first[y];
            for (int x = 0; x < outW; x++) {
                for (int c = 0; c < channels; c++) {
                    double sum = 0.0;
                    for (int k = 0; k < wt.length; k++) {
                        sum += wt[k] * mid[((base + k) * outW + x) * channels + c];
                    }
                    out[(y * outW + x) * channels + c] = sum;
                }
            }
        }
        return out;
    }
}
