package org.bnnkit.demo.core;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * A bundle's {@code metadata.json} (format_version 1, see docs/bundle-format.md), validated
 * with the same rules as {@code bnnkit.imaging.check_input_spec}.
 */
public final class Metadata {
    public final String name;
    public final String target;
    /** {@code "lce"} (needs the LCE runtime) or {@code "tflite"} (any stock TFLite runtime). */
    public final String runtime;
    public final String modelFile;
    public final String labelsFile;
    public final int height;
    public final int width;
    public final int channels;
    /** {@code "grayscale"} or {@code "rgb"}. */
    public final String colorMode;
    public final String resize;
    /**
     * {@code input.resize_shorter_side}: resize to this shorter side, then keep the central
     * H x W (models trained with the ImageNet recipe); 0 when absent (resize to H x W).
     */
    public final int resizeShorterSide;
    public final double[] mean;
    public final double[] std;
    public final int numClasses;
    /** {@code "softmax"} (probabilities) or {@code "linear"} (logits). */
    public final String activation;
    public final List<String> classes;

    private Metadata(Map<String, Object> root) throws BundleException {
        Object version = root.get("format_version");
        if (!(version instanceof Double) || ((Double) version).doubleValue() != 1.0) {
            throw new BundleException("metadata format_version " + version
                    + " is not supported by this app (it reads format_version 1)");
        }
        name = optString(root, "name", "model");
        target = optString(root, "target", "");
        runtime = optString(root, "runtime", "");
        if (!runtime.equals("lce") && !runtime.equals("tflite")) {
            throw new BundleException("metadata runtime '" + runtime + "' is not one of [lce, tflite]");
        }
        modelFile = optString(root, "model_file", "model.tflite");
        labelsFile = optString(root, "labels_file", "labels.txt");

        Object inputObject = root.get("input");
        if (!(inputObject instanceof Map)) {
            throw new BundleException("metadata 'input' must be an object");
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> input = (Map<String, Object>) inputObject;
        int[] shape = intList(input.get("shape"));
        if (shape == null || shape.length != 4 || shape[0] != 1 || shape[1] < 1 || shape[2] < 1) {
            throw new BundleException("metadata input.shape must be [1, H, W, C], got " + input.get("shape"));
        }
        height = shape[1];
        width = shape[2];
        channels = shape[3];
        String dtype = optString(input, "dtype", "float32");
        if (!dtype.equals("float32")) {
            throw new BundleException("metadata input.dtype '" + dtype + "' is not supported; use 'float32'");
        }
        colorMode = optString(input, "color_mode", "");
        int wanted;
        if (colorMode.equals("grayscale")) {
            wanted = 1;
        } else if (colorMode.equals("rgb")) {
            wanted = 3;
        } else {
            throw new BundleException("metadata input.color_mode '" + colorMode
                    + "' is not one of [grayscale, rgb]");
        }
        if (channels != wanted) {
            throw new BundleException("metadata input.color_mode '" + colorMode + "' needs " + wanted
                    + " channel(s) but input.shape has " + channels);
        }
        resize = optString(input, "resize", "bilinear");
        if (!resize.equals("bilinear")) {
            throw new BundleException("metadata input.resize '" + resize + "' is not one of [bilinear]");
        }
        Object side = input.get("resize_shorter_side");
        if (side == null) {
            resizeShorterSide = 0;
        } else {
            int[] value = intList(Collections.singletonList(side));
            if (value == null || value[0] < Math.max(height, width)) {
                throw new BundleException("metadata input.resize_shorter_side must be an integer >= "
                        + Math.max(height, width) + " (the input's larger side), got " + side);
            }
            resizeShorterSide = value[0];
        }
        mean = numbers(input, "mean", channels);
        std = numbers(input, "std", channels);
        for (double s : std) {
            if (s == 0.0) {
                throw new BundleException("metadata input.std must not contain 0");
            }
        }

        Object outputObject = root.get("output");
        if (!(outputObject instanceof Map)) {
            throw new BundleException("metadata 'output' must be an object");
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> output = (Map<String, Object>) outputObject;
        Object n = output.get("num_classes");
        if (!(n instanceof Double) || ((Double) n).doubleValue() < 1
                || ((Double) n).doubleValue() != Math.rint((Double) n)) {
            throw new BundleException("metadata output.num_classes must be a positive integer, got " + n);
        }
        numClasses = ((Double) n).intValue();
        activation = optString(output, "activation", "softmax");
        if (!activation.equals("softmax") && !activation.equals("linear")) {
            throw new BundleException("metadata output.activation '" + activation
                    + "' is not one of [softmax, linear]");
        }
        List<String> names = new ArrayList<>();
        Object classList = root.get("classes");
        if (classList instanceof List) {
            for (Object c : (List<?>) classList) {
                names.add(String.valueOf(c));
            }
        }
        classes = Collections.unmodifiableList(names);
    }

    /** Parses and validates metadata.json text. */
    public static Metadata parse(String json) throws BundleException {
        Object root = Json.parse(json);
        if (!(root instanceof Map)) {
            throw new BundleException("metadata.json must hold a JSON object");
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> map = (Map<String, Object>) root;
        return new Metadata(map);
    }

    /** Validates metadata already parsed by {@link Json#parse}. */
    public static Metadata fromMap(Map<String, Object> root) throws BundleException {
        return new Metadata(root);
    }

    private static String optString(Map<String, Object> map, String key, String fallback)
            throws BundleException {
        Object value = map.get(key);
        if (value == null) {
            return fallback;
        }
        if (!(value instanceof String)) {
            throw new BundleException("metadata " + key + " must be a string, got " + value);
        }
        return (String) value;
    }

    private static int[] intList(Object value) {
        if (!(value instanceof List)) {
            return null;
        }
        List<?> list = (List<?>) value;
        int[] out = new int[list.size()];
        for (int i = 0; i < out.length; i++) {
            Object item = list.get(i);
            if (!(item instanceof Double)) {
                return null;
            }
            double d = (Double) item;
            if (d != Math.rint(d) || Math.abs(d) > Integer.MAX_VALUE) {
                return null;
            }
            out[i] = (int) d;
        }
        return out;
    }

    private static double[] numbers(Map<String, Object> input, String key, int count)
            throws BundleException {
        Object value = input.get(key);
        if (value instanceof List && ((List<?>) value).size() == count) {
            double[] out = new double[count];
            boolean ok = true;
            for (int i = 0; i < count; i++) {
                Object item = ((List<?>) value).get(i);
                if (!(item instanceof Double) || Double.isNaN((Double) item) || Double.isInfinite((Double) item)) {
                    ok = false;
                    break;
                }
                out[i] = (Double) item;
            }
            if (ok) {
                return out;
            }
        }
        throw new BundleException("metadata input." + key + " must be " + count
                + " finite number(s), got " + value);
    }
}
