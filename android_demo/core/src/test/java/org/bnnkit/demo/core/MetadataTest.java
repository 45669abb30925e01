package org.bnnkit.demo.core;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.util.List;
import java.util.Map;
import org.junit.Test;

/** metadata.json parsing and validation (same rules as bnnkit.imaging.check_input_spec). */
public class MetadataTest {
    private static final String EXAMPLE = "{\"format_version\": 1, \"name\": \"mnist-bnn\", \"target\": \"lce\","
            + " \"runtime\": \"lce\", \"input\": {\"shape\": [1, 28, 28, 1], \"dtype\": \"float32\","
            + " \"color_mode\": \"grayscale\", \"resize\": \"bilinear\", \"mean\": [0.5], \"std\": [0.5]},"
            + " \"output\": {\"num_classes\": 10, \"activation\": \"softmax\"},"
            + " \"classes\": [\"0\",\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\",\"8\",\"9\"]}";

    private static String refused(String json) {
        try {
            Metadata.parse(json);
        } catch (BundleException e) {
            return e.getMessage();
        }
        fail("expected metadata to be refused: " + json);
        return null;
    }

    @Test
    public void documentedExampleParses() throws Exception {
        Metadata m = Metadata.parse(EXAMPLE);
        assertEquals(28, m.height);
        assertEquals(28, m.width);
        assertEquals(1, m.channels);
        assertEquals("lce", m.runtime);
        assertArrayEquals(new double[] {0.5}, m.mean, 0);
        assertEquals(10, m.numClasses);
        assertEquals("9", m.classes.get(9));
    }

    @Test
    public void invalidFieldsAreNamedInTheMessage() {
        assertTrue(refused(EXAMPLE.replace("[1, 28, 28, 1]", "[28, 28, 1]")).contains("input.shape"));
        assertTrue(refused(EXAMPLE.replace("[1, 28, 28, 1]", "[1, 28, 28, 3]")).contains("needs 1 channel"));
        assertTrue(refused(EXAMPLE.replace("\"std\": [0.5]", "\"std\": [0]")).contains("must not contain 0"));
        assertTrue(refused(EXAMPLE.replace("\"mean\": [0.5]", "\"mean\": [0.5, 0.5]")).contains("input.mean"));
        assertTrue(refused(EXAMPLE.replace("grayscale", "bgr")).contains("color_mode 'bgr'"));
        assertTrue(refused(EXAMPLE.replace("bilinear", "nearest")).contains("input.resize"));
        assertTrue(refused(EXAMPLE.replace("\"float32\"", "\"uint8\"")).contains("input.dtype"));
        assertTrue(refused(EXAMPLE.replace("\"runtime\": \"lce\"", "\"runtime\": \"coreml\"")).contains("runtime"));
        assertTrue(refused(EXAMPLE.replace("\"format_version\": 1", "\"format_version\": 2")).contains("format_version"));
        assertTrue(refused(EXAMPLE.replace("\"softmax\"", "\"sigmoid\"")).contains("activation"));
        assertTrue(refused("[1, 2]").contains("JSON object"));
        assertTrue(refused(EXAMPLE.substring(0, 40)).contains("invalid JSON"));
    }

    @Test
    @SuppressWarnings("unchecked")
    public void jsonReaderHandlesEscapesNumbersAndNesting() throws Exception {
        Map<String, Object> m = (Map<String, Object>) Json.parse(
                " {\"a\\\"b\": \"x\\u00e9\\n\", \"n\": [-1.5e2, 0, 3], \"t\": true, \"z\": null, \"o\": {}} ");
        assertEquals("x\u00e9\n", m.get("a\"b"));
        assertEquals(-150.0, (Double) ((List<Object>) m.get("n")).get(0), 0);
        assertEquals(Boolean.TRUE, m.get("t"));
        assertTrue(m.containsKey("z") && m.get("z") == null);
    }

    @Test
    public void jsonReaderRejectsMalformedText() {
        String[] bad = {"", "{", "{\"a\":}", "[1,]", "{\"a\":1,}", "01", "\"open", "{} x", "[tru]", "{'a':1}"};
        for (String text : bad) {
            try {
                Json.parse(text);
                fail("accepted " + text);
            } catch (BundleException e) {
                assertTrue(e.getMessage().startsWith("invalid JSON"));
            }
        }
    }

    @Test
    public void deeplyNestedJsonIsRefusedNotAStackOverflow() {
        StringBuilder deep = new StringBuilder();
        for (int i = 0; i < 100000; i++) {
            deep.append('[');
        }
        try {
            Json.parse(deep.toString());
            fail();
        } catch (BundleException e) {
            assertTrue(e.getMessage().contains("nested too deeply"));
        }
    }
}
