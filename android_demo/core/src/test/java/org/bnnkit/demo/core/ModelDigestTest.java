package org.bnnkit.demo.core;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.nio.charset.StandardCharsets;
import java.util.Random;
import org.junit.Test;

/** Models bnnkit wrote check themselves in the app; corrupted copies are refused, never run. */
public class ModelDigestTest {
    private static byte[] demoModel() throws Exception {
        return Golden.demoFile("model.tflite");
    }

    private static String refusal(byte[] model) {
        try {
            ModelDigest.verify(TfliteModelInfo.read(model));
        } catch (BundleException e) {
            return e.getMessage();
        }
        fail("expected the model to be refused");
        return null;
    }

    @Test
    public void shippedDemoModelCarriesAMatchingDigest() throws Exception {
        TfliteModelInfo model = TfliteModelInfo.read(demoModel());
        assertTrue(model.metadata.containsKey(ModelDigest.NAME));
        assertEquals(ModelDigest.embedded(model), ModelDigest.contentDigest(model));
        assertTrue(ModelDigest.verify(model));
    }

    @Test
    public void modelFromElsewhereHasNoDigestAndIsAccepted() throws Exception {
        TfliteModelInfo model = TfliteModelInfo.read(Golden.bytes("lce_tiny.tflite"));
        assertFalse(model.metadata.containsKey(ModelDigest.NAME));
        assertFalse(ModelDigest.verify(model));
    }

    @Test
    public void oneFlippedWeightBitIsRefused() throws Exception {
        byte[] model = demoModel();
        TfliteModelInfo info = TfliteModelInfo.read(model);
        int largest = 0;
        for (int i = 0; i < info.bufferCount(); i++) {
            if (info.bufferData(i).length > info.bufferData(largest).length) {
                largest = i;
            }
        }
        byte[] weights = info.bufferData(largest);
        int at = indexOf(model, weights) + weights.length / 2;
        model[at] ^= 0x08;
        String message = refusal(model);
        assertTrue(message, message.contains("does not match the digest bnnkit embedded"));
    }

    @Test
    public void damagedDigestEntryNameIsRefusedNotIgnored() throws Exception {
        byte[] model = demoModel();
        int at = indexOf(model, ModelDigest.NAME.getBytes(StandardCharsets.US_ASCII));
        model[at] = 'X'; // the metadata entry's name (it comes before the record)
        String message = refusal(model);
        assertTrue(message, message.contains("digest entry is damaged"));
    }

    /** 40 copies with 8 random bit flips each: every one is refused with a message. */
    @Test
    public void bitFlippedCopiesAreAllRefused() throws Exception {
        byte[] original = demoModel();
        for (int copy = 0; copy < 40; copy++) {
            Random random = new Random(copy);
            byte[] model = original.clone();
            for (int flip = 0; flip < 8; flip++) {
                model[random.nextInt(model.length)] ^= (byte) (1 << random.nextInt(8));
            }
            try {
                ModelDigest.verify(TfliteModelInfo.read(model));
                fail("copy " + copy + " was not refused");
            } catch (BundleException e) {
                assertFalse(e.getMessage().isEmpty());
            }
        }
    }

    private static int indexOf(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        throw new AssertionError("not found");
    }
}
