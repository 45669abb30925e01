package org.bnnkit.demo.core;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.Test;

/** Java gives the same input tensors and top-k as bnnkit's Python pipeline (golden vectors). */
public class GoldenVectorsTest {
    @Test
    @SuppressWarnings("unchecked")
    public void inputTensorsMatchPythonToOneMillionth() throws Exception {
        Map<String, Object> specs = Golden.json("specs.json");
        List<Object> cases = (List<Object>) Golden.json("manifest.json").get("cases");
        assertTrue("golden cases missing", cases.size() >= 20);
        for (Object item : cases) {
            Map<String, Object> c = (Map<String, Object>) item;
            Object[] image = Golden.argb(c.get("image") + ".argb.gz");
            Metadata metadata = Golden.metadataFor((Map<String, Object>) specs.get(c.get("spec")), 10, "tflite");
            float[] ours = Preprocessor.toInputTensor((int[]) image[2], (Integer) image[0], (Integer) image[1], metadata);
            float[] expected = Golden.floats((String) c.get("tensor"));
            assertEquals(c.toString(), expected.length, ours.length);
            double worst = 0;
            for (int i = 0; i < ours.length; i++) {
                worst = Math.max(worst, Math.abs(ours[i] - expected[i]));
            }
            assertTrue(c + ": max |java - python| = " + worst, worst <= 1e-6);
        }
    }

    @Test
    @SuppressWarnings("unchecked")
    public void topThreeMatchesPython() throws Exception {
        List<Object> rankings = (List<Object>) Golden.json("manifest.json").get("rankings");
        assertTrue(rankings.size() >= 2);
        for (Object item : rankings) {
            Map<String, Object> r = (Map<String, Object>) item;
            List<Object> scores = (List<Object>) r.get("scores");
            float[] values = new float[scores.size()];
            for (int i = 0; i < values.length; i++) {
                values[i] = ((Double) scores.get(i)).floatValue();
            }
            List<TopK.Prediction> ours = TopK.topK(values, 3, (String) r.get("activation"));
            List<Object> expected = (List<Object>) r.get("top3");
            assertEquals(expected.size(), ours.size());
            for (int k = 0; k < ours.size(); k++) {
                List<Object> pair = (List<Object>) expected.get(k);
                assertEquals(r.get("name") + " rank " + k, ((Double) pair.get(0)).intValue(), ours.get(k).index);
                assertEquals(r.get("name") + " rank " + k, (Double) pair.get(1), ours.get(k).probability, 1e-6);
            }
        }
    }

    @Test
    @SuppressWarnings("unchecked")
    public void flatbufferReaderAgreesWithPythonTflitePackage() throws Exception {
        Map<String, Object> models = (Map<String, Object>) Golden.json("manifest.json").get("models");
        byte[][] files = {Golden.bytes("lce_tiny.tflite"), Golden.demoFile("model.tflite")};
        String[] names = {"lce_tiny.tflite", "demo"};
        for (int m = 0; m < files.length; m++) {
            Map<String, Object> expected = (Map<String, Object>) models.get(names[m]);
            TfliteModelInfo info = TfliteModelInfo.read(files[m]);
            assertEquals(names[m], expected.get("custom_ops"), info.customOps);
            assertArrayEquals(names[m], Golden.ints((List<?>) expected.get("input_shape")), info.inputShape);
            assertArrayEquals(names[m], Golden.ints((List<?>) expected.get("output_shape")), info.outputShape);
            assertEquals(expected.get("input_type"), info.inputType);
            assertEquals(expected.get("output_type"), info.outputType);
        }
    }
}
