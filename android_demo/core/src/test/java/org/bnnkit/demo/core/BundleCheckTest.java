package org.bnnkit.demo.core;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.Test;

/** The app refuses, with a message, bundles it cannot run; it never crashes on corrupt files. */
public class BundleCheckTest {
    private static Metadata demoMetadata() throws Exception {
        return Metadata.parse(new String(Golden.demoFile("metadata.json"), StandardCharsets.UTF_8));
    }

    private static List<String> demoLabels() throws Exception {
        return BundleCheck.parseLabels(new String(Golden.demoFile("labels.txt"), StandardCharsets.UTF_8));
    }

    private static String failure(Metadata m, TfliteModelInfo model, List<String> labels, BundleCheck.Flavor f) {
        try {
            BundleCheck.check(m, model, labels, f);
        } catch (BundleException e) {
            return e.getMessage();
        }
        fail("expected the bundle to be refused");
        return null;
    }

    @Test
    public void shippedDemoBundleRunsInBothFlavors() throws Exception {
        TfliteModelInfo model = TfliteModelInfo.read(Golden.demoFile("model.tflite"));
        assertTrue(model.customOps.isEmpty());
        BundleCheck.check(demoMetadata(), model, demoLabels(), BundleCheck.Flavor.LITERT);
        BundleCheck.check(demoMetadata(), model, demoLabels(), BundleCheck.Flavor.LCE);
        assertEquals(10, demoLabels().size());
    }

    @Test
    @SuppressWarnings("unchecked")
    public void lceModelIsRefusedByLitertFlavorAndAcceptedByLce() throws Exception {
        TfliteModelInfo model = TfliteModelInfo.read(Golden.bytes("lce_tiny.tflite"));
        Map<String, Object> spec = (Map<String, Object>) Json.parse(
                "{\"shape\":[1,8,8,1],\"color_mode\":\"grayscale\",\"mean\":[0.5],\"std\":[0.5]}");
        Metadata metadata = Golden.metadataFor(spec, 3, "lce");
        List<String> labels = Arrays.asList("a", "b", "c");
        String message = failure(metadata, model, labels, BundleCheck.Flavor.LITERT);
        assertTrue(message, message.contains("LceBconv2d") && message.contains("'lce' build")
                && message.contains("libbnnkit_lce_delegate.so"));
        BundleCheck.check(metadata, model, labels, BundleCheck.Flavor.LCE);
    }

    @Test
    @SuppressWarnings("unchecked")
    public void lceModelIsAcceptedByLitertFlavorWithTheLceKernelDelegate() throws Exception {
        TfliteModelInfo model = TfliteModelInfo.read(Golden.bytes("lce_tiny.tflite"));
        Map<String, Object> spec = (Map<String, Object>) Json.parse(
                "{\"shape\":[1,8,8,1],\"color_mode\":\"grayscale\",\"mean\":[0.5],\"std\":[0.5]}");
        BundleCheck.check(Golden.metadataFor(spec, 3, "lce"), model, Arrays.asList("a", "b", "c"),
                BundleCheck.Flavor.LITERT_WITH_LCE_DELEGATE);
        assertTrue(BundleCheck.Flavor.LITERT_WITH_LCE_DELEGATE.runsLceOps());
        assertFalse(BundleCheck.Flavor.LITERT.runsLceOps());
    }

    @Test
    public void metadataRuntimeLceIsRefusedByLitertEvenWithoutLceOps() throws Exception {
        TfliteModelInfo model = TfliteModelInfo.read(Golden.demoFile("model.tflite"));
        String json = new String(Golden.demoFile("metadata.json"), StandardCharsets.UTF_8)
                .replace("\"runtime\": \"tflite\"", "\"runtime\": \"lce\"");
        String message = failure(Metadata.parse(json), model, demoLabels(), BundleCheck.Flavor.LITERT);
        assertTrue(message, message.contains("runtime 'lce'"));
    }

    @Test
    @SuppressWarnings("unchecked")
    public void modelThatDoesNotMatchMetadataIsRefused() throws Exception {
        TfliteModelInfo model = TfliteModelInfo.read(Golden.demoFile("model.tflite"));
        Map<String, Object> specs = Golden.json("specs.json");
        Metadata rgb = Golden.metadataFor((Map<String, Object>) specs.get("rgb32"), 10, "tflite");
        String message = failure(rgb, model, demoLabels(), BundleCheck.Flavor.LITERT);
        assertTrue(message, message.contains("does not match its metadata") && message.contains("[1, 28, 28, 1]"));
        Metadata grey = Golden.metadataFor((Map<String, Object>) specs.get("grey28"), 100, "tflite");
        message = failure(grey, model, demoLabels(), BundleCheck.Flavor.LITERT);
        assertTrue(message, message.contains("100 classes"));
    }

    @Test
    public void labelCountMustMatchClasses() throws Exception {
        TfliteModelInfo model = TfliteModelInfo.read(Golden.demoFile("model.tflite"));
        String message = failure(demoMetadata(), model, BundleCheck.parseLabels("a\nb\n"), BundleCheck.Flavor.LCE);
        assertTrue(message, message.contains("labels.txt has 2 lines"));
    }

    @Test
    public void labelsIgnoreCarriageReturnsAndTrailingNewlines() {
        assertEquals(Arrays.asList("zero", "one"), BundleCheck.parseLabels("zero\r\none\r\n\n"));
    }

    @Test
    public void nonTfliteFileIsRefused() {
        try {
            TfliteModelInfo.read("not a model at all".getBytes(StandardCharsets.UTF_8));
            fail();
        } catch (BundleException e) {
            assertTrue(e.getMessage().contains("TFL3"));
        }
    }

    @Test
    public void truncatedAndCorruptedModelsGiveBundleExceptionNeverACrash() throws Exception {
        byte[] good = Golden.bytes("lce_tiny.tflite");
        for (int length = 8; length < good.length; length += 97) {
            try {
                TfliteModelInfo.read(Arrays.copyOf(good, length));
            } catch (BundleException expected) {
                // fine: refused with a message
            }
        }
        Random random = new Random(6);
        for (int trial = 0; trial < 500; trial++) {
            byte[] bad = good.clone();
            for (int flips = 0; flips < 4; flips++) {
                bad[8 + random.nextInt(Math.min(bad.length - 8, 600))] = (byte) random.nextInt(256);
            }
            try {
                TfliteModelInfo.read(bad);
            } catch (BundleException expected) {
                // fine
            }
        }
    }
}
