package org.bnnkit.demo.core;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.util.List;
import java.util.Map;
import org.junit.Test;

/** Preprocessing and ranking properties that hold whatever the golden images. */
public class PreprocessorTest {
    private static Metadata spec(String json, int classes) throws Exception {
        @SuppressWarnings("unchecked")
        Map<String, Object> map = (Map<String, Object>) Json.parse(json);
        return Golden.metadataFor(map, classes, "tflite");
    }

    @Test
    public void greyPixelKeepsItsValueAsLuma() {
        for (int v = 0; v < 256; v++) {
            assertEquals(v, Preprocessor.luma(0xff000000 | v << 16 | v << 8 | v));
        }
    }

    @Test
    public void constantImageStaysConstantAfterResizeAndNormalization() throws Exception {
        Metadata m = spec("{\"shape\":[1,32,32,3],\"color_mode\":\"rgb\",\"mean\":[0.5,0.5,0.5],\"std\":[0.5,0.25,1]}", 10);
        int[] pixels = new int[217 * 300];
        java.util.Arrays.fill(pixels, 0xff00ff00);
        float[] x = Preprocessor.toInputTensor(pixels, 217, 300, m);
        assertEquals(32 * 32 * 3, x.length);
        for (int i = 0; i < x.length; i += 3) {
            assertEquals(-1.0f, x[i], 1e-6);
            assertEquals(2.0f, x[i + 1], 1e-6);
            assertEquals(-0.5f, x[i + 2], 1e-6);
        }
    }

    @Test
    public void shorterSideResizeKeepsTheCentralColumnsOfAWideImage() throws Exception {
        // 4 x 8 grey image whose value is 10 * column; shorter side 4 = no resize, central 4 x 4
        Metadata m = spec("{\"shape\":[1,4,4,1],\"color_mode\":\"grayscale\",\"resize_shorter_side\":4,"
                + "\"mean\":[0],\"std\":[1]}", 10);
        int[] pixels = new int[4 * 8];
        for (int i = 0; i < pixels.length; i++) {
            int v = 10 * (i % 8);
            pixels[i] = 0xff000000 | v << 16 | v << 8 | v;
        }
        float[] x = Preprocessor.toInputTensor(pixels, 8, 4, m);
        assertEquals(16, x.length);
        for (int i = 0; i < x.length; i++) {
            assertEquals(10 * (2 + i % 4) / 255.0f, x[i], 1e-6);
        }
    }

    @Test
    public void shorterSideSmallerThanTheInputIsRefused() throws Exception {
        try {
            spec("{\"shape\":[1,4,4,1],\"color_mode\":\"grayscale\",\"resize_shorter_side\":3,"
                    + "\"mean\":[0],\"std\":[1]}", 10);
            fail();
        } catch (BundleException e) {
            assertTrue(e.getMessage().contains("resize_shorter_side"));
        }
    }

    @Test
    public void alphaIsDiscarded() throws Exception {
        Metadata m = spec("{\"shape\":[1,1,1,3],\"color_mode\":\"rgb\",\"mean\":[0,0,0],\"std\":[1,1,1]}", 10);
        float[] x = Preprocessor.toInputTensor(new int[] {0x00ff0000}, 1, 1, m);
        assertEquals(1.0f, x[0], 0);
    }

    @Test
    public void wrongPixelCountIsRefused() throws Exception {
        Metadata m = spec("{\"shape\":[1,2,2,1],\"color_mode\":\"grayscale\",\"mean\":[0],\"std\":[1]}", 10);
        try {
            Preprocessor.toInputTensor(new int[3], 2, 2, m);
            fail();
        } catch (BundleException e) {
            assertTrue(e.getMessage().contains("pixel count"));
        }
    }

    @Test
    public void topKBreaksTiesByLowerIndexAndRefusesNaN() throws Exception {
        List<TopK.Prediction> best = TopK.topK(new float[] {0.1f, 0.3f, 0.3f, 0.05f, 0.25f}, 3, "softmax");
        assertEquals(1, best.get(0).index);
        assertEquals(2, best.get(1).index);
        assertEquals(4, best.get(2).index);
        try {
            TopK.topK(new float[] {0.1f, Float.NaN}, 1, "softmax");
            fail();
        } catch (BundleException e) {
            assertTrue(e.getMessage().contains("NaN"));
        }
    }
}
