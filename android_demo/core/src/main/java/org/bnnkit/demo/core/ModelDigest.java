package org.bnnkit.demo.core;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * Checks the digest bnnkit embeds in every model it writes, so a corrupted {@code model.tflite}
 * is refused before the interpreter (which trusts its input) reads it.
 *
 * <p>The model's {@code metadata} table has an entry {@value #NAME} whose buffer holds
 * {@code {"bnnkit_digest":1,"algorithm":"sha256","covers":"buffers","value":"<hex>"}}: the
 * SHA-256 of every buffer except the metadata ones, in index order, each as its length
 * (8 bytes, little-endian) then its bytes. This is {@code converters.guard.content_digest} in
 * bnnkit; the tests check both give the same value. A model without the entry (not written by
 * bnnkit) is accepted as it is; a model whose entry is damaged is refused.
 */
public final class ModelDigest {
    /** The name of bnnkit's entry in the model's metadata table. */
    public static final String NAME = "bnnkit_digest";

    private static final String DAMAGED = "The model file's bnnkit digest entry is damaged: the file was "
            + "modified or corrupted after bnnkit wrote it. Copy the bundle again or re-export it with bnnkit.";

    private ModelDigest() {
    }

    /** The SHA-256 (hex) of the model's buffers, as bnnkit defines it. */
    public static String contentDigest(TfliteModelInfo model) {
        Set<Integer> skipped = new HashSet<>(model.metadata.values());
        MessageDigest sha;
        try {
            sha = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this Java runtime", e);
        }
        for (int i = 0; i < model.bufferCount(); i++) {
            if (skipped.contains(i)) {
                continue;
            }
            byte[] data = model.bufferData(i);
            long length = data.length;
            for (int k = 0; k < 8; k++) {
                sha.update((byte) (length >>> (8 * k)));
            }
            sha.update(data);
        }
        StringBuilder hex = new StringBuilder();
        for (byte x : sha.digest()) {
            hex.append(String.format("%02x", x & 0xff));
        }
        return hex.toString();
    }

    /** The digest bnnkit embedded, or null when the model has none. */
    public static String embedded(TfliteModelInfo model) throws BundleException {
        Integer index = model.metadata.get(NAME);
        if (index == null) {
            if (model.containsAscii(NAME)) { // the record without its entry: a damaged entry
                throw new BundleException(DAMAGED);
            }
            return null;
        }
        Object record;
        try {
            record = Json.parse(new String(model.bufferData(index), StandardCharsets.US_ASCII));
        } catch (BundleException e) {
            throw new BundleException(DAMAGED);
        }
        if (!(record instanceof Map)) {
            throw new BundleException(DAMAGED);
        }
        Map<?, ?> fields = (Map<?, ?>) record;
        Object value = fields.get("value");
        if (!Double.valueOf(1.0).equals(fields.get(NAME)) || !"sha256".equals(fields.get("algorithm"))
                || !(value instanceof String) || ((String) value).length() != 64) {
            throw new BundleException(DAMAGED);
        }
        return (String) value;
    }

    /**
     * Returns true when the model carries a bnnkit digest that matches its content, false when it
     * carries none; throws when the digest does not match or is damaged.
     */
    public static boolean verify(TfliteModelInfo model) throws BundleException {
        String expected = embedded(model);
        if (expected == null) {
            return false;
        }
        if (!contentDigest(model).equals(expected)) {
            throw new BundleException("The model file does not match the digest bnnkit embedded in it when it "
                    + "wrote it: its weights were modified or corrupted. Copy the bundle again or re-export it "
                    + "with bnnkit.");
        }
        return true;
    }
}
