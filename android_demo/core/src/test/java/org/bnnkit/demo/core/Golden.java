package org.bnnkit.demo.core;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPInputStream;

/** Reads the golden files written by android_demo/tools/make_golden.py (test resources, golden/). */
final class Golden {
    private Golden() {
    }

    static InputStream open(String name) throws IOException {
        InputStream in = Golden.class.getResourceAsStream("/golden/" + name);
        if (in == null) {
            throw new IOException("golden file " + name + " not on the test classpath");
        }
        return in;
    }

    static byte[] bytes(String name) throws IOException {
        try (InputStream in = open(name)) {
            return Streams.readAll(in);
        }
    }

    static String text(String name) throws IOException {
        return new String(bytes(name), StandardCharsets.UTF_8);
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> json(String name) throws Exception {
        return (Map<String, Object>) Json.parse(text(name));
    }

    /** {width, height} in [0], [1]; pixels in [2]. */
    static Object[] argb(String name) throws IOException {
        try (DataInputStream in = new DataInputStream(new GZIPInputStream(open(name)))) {
            int width = in.readInt();
            int height = in.readInt();
            int[] pixels = new int[width * height];
            for (int i = 0; i < pixels.length; i++) {
                pixels[i] = in.readInt();
            }
            return new Object[] {width, height, pixels};
        }
    }

    static float[] floats(String name) throws IOException {
        byte[] raw;
        try (InputStream in = new GZIPInputStream(open(name))) {
            raw = Streams.readAll(in);
        }
        float[] values = new float[raw.length / 4];
        for (int i = 0; i < values.length; i++) {
            int bits = (raw[4 * i] & 0xff) << 24 | (raw[4 * i + 1] & 0xff) << 16
                    | (raw[4 * i + 2] & 0xff) << 8 | (raw[4 * i + 3] & 0xff);
            values[i] = Float.intBitsToFloat(bits);
        }
        return values;
    }

    /** Metadata around one input spec of specs.json. */
    @SuppressWarnings("unchecked")
    static Metadata metadataFor(Map<String, Object> spec, int numClasses, String runtime) throws Exception {
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("format_version", 1.0);
        root.put("runtime", runtime);
        root.put("input", spec);
        Map<String, Object> output = new LinkedHashMap<>();
        output.put("num_classes", (double) numClasses);
        output.put("activation", "softmax");
        root.put("output", output);
        return Metadata.fromMap(root);
    }

    /** The demo bundle of the app's assets (system property demo.bundle, set by the test runner). */
    static Path demoBundle() {
        String dir = System.getProperty("demo.bundle", "../app/src/main/assets/bundle");
        return Paths.get(dir);
    }

    static byte[] demoFile(String name) throws IOException {
        return Files.readAllBytes(demoBundle().resolve(name));
    }

    static int[] ints(List<?> list) {
        int[] out = new int[list.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = ((Double) list.get(i)).intValue();
        }
        return out;
    }
}
