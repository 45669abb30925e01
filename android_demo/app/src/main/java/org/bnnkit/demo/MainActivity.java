package org.bnnkit.demo;

import android.app.Activity;
import android.content.ActivityNotFoundException;
import android.content.Intent;
import android.content.res.AssetFileDescriptor;
import android.graphics.Bitmap;
import android.graphics.BitmapFactory;
import android.net.Uri;
import android.os.Bundle;
import android.view.View;
import android.widget.Button;
import android.widget.ImageView;
import android.widget.TextView;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.bnnkit.demo.core.BundleCheck;
import org.bnnkit.demo.core.BundleException;
import org.bnnkit.demo.core.Metadata;
import org.bnnkit.demo.core.Preprocessor;
import org.bnnkit.demo.core.Streams;
import org.bnnkit.demo.core.TfliteModelInfo;
import org.bnnkit.demo.core.TopK;

/**
 * Pick an image (gallery or camera), preprocess it as the bundle's metadata.json says, run the
 * bundled .tflite, show the top-3 classes and the inference time. All decisions (is this
 * bundle runnable here, how to preprocess, how to rank) are made by the plain-Java core
 * ({@code org.bnnkit.demo.core}), which is unit-tested off-device.
 */
public class MainActivity extends Activity {
    private static final String BUNDLE_DIR = "bundle/";
    private static final int REQUEST_PICK = 1;
    private static final int REQUEST_PHOTO = 2;
    /** Decoded images are subsampled (by a power of two) to at most about this many pixels a side. */
    private static final int MAX_SIDE = 1024;

    private final ExecutorService worker = Executors.newSingleThreadExecutor();
    private TextView info;
    private TextView result;
    private ImageView preview;
    private Button pick;
    private Button photo;

    private Metadata metadata;
    private List<String> labels;
    private TfliteRunner runner;
    private String problem;

    @Override
    protected void onCreate(Bundle state) {
        super.onCreate(state);
        setContentView(R.layout.activity_main);
        info = (TextView) findViewById(R.id.model_info);
        result = (TextView) findViewById(R.id.result);
        preview = (ImageView) findViewById(R.id.image);
        pick = (Button) findViewById(R.id.pick);
        photo = (Button) findViewById(R.id.photo);
        pick.setOnClickListener(new View.OnClickListener() {
            @Override
            public void onClick(View v) {
                Intent intent = new Intent(Intent.ACTION_GET_CONTENT);
                intent.setType("image/*");
                startActivityForResult(Intent.createChooser(intent, getString(R.string.pick)), REQUEST_PICK);
            }
        });
        photo.setOnClickListener(new View.OnClickListener() {
            @Override
            public void onClick(View v) {
                try {
                    // Without EXTRA_OUTPUT the camera app returns a small bitmap: no storage
                    // permission and no FileProvider needed, and plenty for 28x28/32x32 models.
                    startActivityForResult(new Intent("android.media.action.IMAGE_CAPTURE"), REQUEST_PHOTO);
                } catch (ActivityNotFoundException e) {
                    result.setText(R.string.no_camera);
                }
            }
        });
        setButtons(false);
        worker.execute(new Runnable() {
            @Override
            public void run() {
                loadBundle();
            }
        });
    }

    private void setButtons(boolean enabled) {
        pick.setEnabled(enabled);
        photo.setEnabled(enabled);
    }

    /** Reads and checks the bundle; every failure ends as a message on screen, never a crash. */
    private void loadBundle() {
        String flavor = getString(R.string.runtime_flavor);
        String text;
        LceDelegate delegate = null;
        try {
            metadata = Metadata.parse(readAssetText(BUNDLE_DIR + "metadata.json"));
            labels = BundleCheck.parseLabels(readAssetText(BUNDLE_DIR + metadata.labelsFile));
            byte[] modelBytes = readAsset(BUNDLE_DIR + metadata.modelFile);
            TfliteModelInfo model = TfliteModelInfo.read(modelBytes);
            BundleCheck.Flavor runtime = BundleCheck.Flavor.fromName(flavor);
            if (runtime == BundleCheck.Flavor.LITERT && !model.lceOps().isEmpty()) {
                delegate = loadLceDelegate();
                if (delegate != null) {
                    runtime = BundleCheck.Flavor.LITERT_WITH_LCE_DELEGATE;
                    flavor += " + LCE-kernel delegate";
                }
            }
            BundleCheck.check(metadata, model, labels, runtime);
            text = String.format(Locale.US, "%s (%s, %s target) on the %s build\ninput %dx%dx%d %s",
                    metadata.name, metadata.runtime, metadata.target, flavor,
                    metadata.height, metadata.width, metadata.channels, metadata.colorMode);
            try {
                runner = new TfliteRunner(mapModel(BUNDLE_DIR + metadata.modelFile, modelBytes),
                        metadata.height * metadata.width * metadata.channels, metadata.numClasses,
                        Math.max(1, Math.min(4, Runtime.getRuntime().availableProcessors())),
                        delegate);
                delegate = null;  // the runner owns it now
            } catch (LinkageError missingRuntime) {
                problem = getString(R.string.no_runtime);
            } catch (IllegalArgumentException | IllegalStateException e) {
                problem = "The TFLite runtime refused the model: " + e.getMessage();
            }
        } catch (BundleException e) {
            text = "Cannot use the bundled model";
            problem = e.getMessage();
        } catch (IOException e) {
            text = "Cannot read the model bundle from the app's assets";
            problem = e.getMessage();
        } finally {
            if (delegate != null) {
                delegate.close();  // not handed to a runner
            }
        }
        final String shown = text;
        runOnUiThread(new Runnable() {
            @Override
            public void run() {
                info.setText(shown);
                if (problem != null) {
                    result.setText(problem);
                }
                setButtons(metadata != null);
            }
        });
    }

    @Override
    protected void onActivityResult(int requestCode, int resultCode, Intent data) {
        super.onActivityResult(requestCode, resultCode, data);
        if (resultCode != RESULT_OK || data == null) {
            return;
        }
        Bitmap bitmap = null;
        try {
            if (requestCode == REQUEST_PICK && data.getData() != null) {
                bitmap = decode(data.getData());
            } else if (requestCode == REQUEST_PHOTO && data.getExtras() != null) {
                Object thumbnail = data.getExtras().get("data");
                bitmap = thumbnail instanceof Bitmap ? (Bitmap) thumbnail : null;
            }
        } catch (IOException | RuntimeException e) {
            result.setText("Cannot read this image: " + e.getMessage());
            return;
        }
        if (bitmap == null) {
            result.setText("This file is not an image Android can decode.");
            return;
        }
        preview.setImageBitmap(bitmap);
        classify(bitmap);
    }

    private void classify(final Bitmap bitmap) {
        result.setText(R.string.running);
        worker.execute(new Runnable() {
            @Override
            public void run() {
                final String text = classifyNow(bitmap);
                runOnUiThread(new Runnable() {
                    @Override
                    public void run() {
                        result.setText(text);
                    }
                });
            }
        });
    }

    private String classifyNow(Bitmap bitmap) {
        Bitmap argb = bitmap.getConfig() == Bitmap.Config.ARGB_8888 ? bitmap
                : bitmap.copy(Bitmap.Config.ARGB_8888, false);
        int w = argb.getWidth();
        int h = argb.getHeight();
        int[] pixels = new int[w * h];
        argb.getPixels(pixels, 0, w, 0, 0, w, h);
        try {
            float[] tensor = Preprocessor.toInputTensor(pixels, w, h, metadata);
            if (runner == null) {
                return (problem != null ? problem : getString(R.string.no_runtime))
                        + String.format(Locale.US, "\n\n(preprocessed %dx%d -> %d values)", w, h, tensor.length);
            }
            TfliteRunner.Result out = runner.run(tensor);
            StringBuilder text = new StringBuilder();
            for (TopK.Prediction p : TopK.topK(out.scores, 3, metadata.activation)) {
                String name = p.index < labels.size() ? labels.get(p.index) : "class " + p.index;
                text.append(String.format(Locale.US, "%-14s %6.2f %%\n", name, 100 * p.probability));
            }
            text.append(String.format(Locale.US, "\ninference %.2f ms", out.milliseconds));
            return text.toString();
        } catch (BundleException e) {
            return e.getMessage();
        } catch (RuntimeException e) {
            return "The model failed on this image: " + e.getMessage();
        }
    }

    /** Decodes a picked image to ARGB_8888, subsampled by a power of two when it is very large. */
    private Bitmap decode(Uri uri) throws IOException {
        BitmapFactory.Options bounds = new BitmapFactory.Options();
        bounds.inJustDecodeBounds = true;
        try (InputStream in = getContentResolver().openInputStream(uri)) {
            BitmapFactory.decodeStream(in, null, bounds);
        }
        if (bounds.outWidth <= 0 || bounds.outHeight <= 0) {
            return null;
        }
        int sample = 1;
        while (Math.max(bounds.outWidth, bounds.outHeight) / (sample * 2) >= MAX_SIDE) {
            sample *= 2;
        }
        BitmapFactory.Options options = new BitmapFactory.Options();
        options.inPreferredConfig = Bitmap.Config.ARGB_8888;
        options.inSampleSize = sample;
        try (InputStream in = getContentResolver().openInputStream(uri)) {
            return BitmapFactory.decodeStream(in, null, options);
        }
    }

    private byte[] readAsset(String name) throws IOException {
        try (InputStream in = getAssets().open(name)) {
            return Streams.readAll(in);
        }
    }

    private String readAssetText(String name) throws IOException {
        return new String(readAsset(name), StandardCharsets.UTF_8);
    }

    /** Memory-maps an uncompressed asset; falls back to a direct copy when it is compressed. */
    private ByteBuffer mapModel(String name, byte[] bytes) {
        try (AssetFileDescriptor fd = getAssets().openFd(name);
             FileInputStream in = new FileInputStream(fd.getFileDescriptor())) {
            return in.getChannel().map(FileChannel.MapMode.READ_ONLY, fd.getStartOffset(), fd.getDeclaredLength());
        } catch (IOException compressed) {
            ByteBuffer copy = ByteBuffer.allocateDirect(bytes.length);
            copy.put(bytes).rewind();
            return copy;
        }
    }

    /** bnnkit's LCE-kernel delegate from the app's jniLibs, or null when it is not there. */
    private static LceDelegate loadLceDelegate() {
        try {
            return LceDelegate.loadIfPresent();
        } catch (LinkageError noTfliteClasses) {  // the offline build has no org.tensorflow.lite
            return null;
        }
    }

    @Override
    protected void onDestroy() {
        worker.shutdownNow();
        if (runner != null) {
            runner.close();
        }
        super.onDestroy();
    }
}
