package org.bnnkit.demo.core;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What the app needs to know about a {@code .tflite} file before creating an interpreter:
 * its operator codes (builtin and custom op names), the shape and type of the first
 * subgraph's input and output tensors, where each buffer's bytes are and the model's
 * {@code metadata} entries (for {@link ModelDigest}). Read from the flatbuffer structure
 * (TFLite schema {@code Model -> operator_codes / subgraphs -> tensors / buffers / metadata}),
 * with every offset bounds-checked, so a corrupt or truncated file gives a
 * {@link BundleException}, never a crash.
 */
public final class TfliteModelInfo {
    /** BuiltinOperator.CUSTOM in the TFLite schema. */
    public static final int BUILTIN_CUSTOM = 32;
    /** Custom op names with this prefix come from Larq Compute Engine (LceBconv2d, LceQuantize, ...). */
    public static final String LCE_PREFIX = "Lce";

    /** TensorType names, indexed by the schema's enum value. */
    private static final String[] TYPES = {
        "float32", "float16", "int32", "uint8", "int64", "string", "bool", "int16",
        "complex64", "int8", "float64", "complex128", "uint64", "resource", "variant",
        "uint32", "uint16", "int4",
    };

    public final List<Integer> builtinCodes;
    public final List<String> customOps;
    public final int[] inputShape;
    public final String inputType;
    public final int[] outputShape;
    public final String outputType;
    public final int numInputs;
    public final int numOutputs;
    /** The metadata table: entry name to the index of the buffer holding its value. */
    public final Map<String, Integer> metadata;

    private final byte[] b;
    /** Start and length of each buffer's bytes in the file ({0, 0} for an empty buffer). */
    private final int[][] bufferSpans;

    private TfliteModelInfo(byte[] bytes) throws BundleException {
        b = bytes;
        if (b.length < 8 || b[4] != 'T' || b[5] != 'F' || b[6] != 'L' || b[7] != '3') {
            throw new BundleException("the model file is not a TFLite flatbuffer (no 'TFL3' identifier)");
        }
        int model = indirect(0);
        List<Integer> builtins = new ArrayList<>();
        List<String> customs = new ArrayList<>();
        int codes = field(model, 1);
        if (codes != 0) {
            int vec = indirect(codes);
            int n = vectorLength(vec);
            for (int i = 0; i < n; i++) {
                int code = indirect(vec + 4 + 4 * i);
                int deprecated = field(code, 0) == 0 ? 0 : u8(field(code, 0));
                int builtin = field(code, 3) == 0 ? 0 : i32(field(code, 3));
                int effective = Math.max(deprecated, builtin);
                builtins.add(effective);
                if (effective == BUILTIN_CUSTOM) {
                    int custom = field(code, 1);
                    customs.add(custom == 0 ? "" : string(indirect(custom)));
                }
            }
        }
        builtinCodes = Collections.unmodifiableList(builtins);
        customOps = Collections.unmodifiableList(customs);

        int subgraphs = field(model, 2);
        if (subgraphs == 0 || vectorLength(indirect(subgraphs)) == 0) {
            throw new BundleException("the model file has no subgraph");
        }
        int sg = indirect(indirect(subgraphs) + 4);
        int tensors = field(sg, 0) == 0 ? 0 : indirect(field(sg, 0));
        int numTensors = tensors == 0 ? 0 : vectorLength(tensors);
        int[] inputs = intVector(field(sg, 1));
        int[] outputs = intVector(field(sg, 2));
        numInputs = inputs.length;
        numOutputs = outputs.length;
        if (inputs.length == 0 || outputs.length == 0) {
            throw new BundleException("the model has no input or no output tensor");
        }
        int in = tensor(tensors, numTensors, inputs[0]);
        int out = tensor(tensors, numTensors, outputs[0]);
        inputShape = intVector(field(in, 0));
        inputType = type(in);
        outputShape = intVector(field(out, 0));
        outputType = type(out);
        bufferSpans = readBufferSpans(field(model, 4));
        metadata = Collections.unmodifiableMap(readMetadata(field(model, 6)));
    }

    private int[][] readBufferSpans(int fieldPos) {
        if (fieldPos == 0) {
            return new int[0][];
        }
        int vec = indirect(fieldPos);
        int n = vectorLength(vec);
        int[][] spans = new int[n][];
        for (int i = 0; i < n; i++) {
            int buffer = indirect(vec + 4 + 4 * i);
            long offset = field(buffer, 1) == 0 ? 0 : i64(field(buffer, 1));
            if (offset > 1) { // bytes stored after the flatbuffer (models > 2 GB)
                long size = field(buffer, 2) == 0 ? 0 : i64(field(buffer, 2));
                check((int) Math.min(offset, Integer.MAX_VALUE), (int) Math.min(size, Integer.MAX_VALUE));
                spans[i] = new int[] {(int) offset, (int) size};
            } else if (field(buffer, 0) != 0) {
                int data = indirect(field(buffer, 0));
                int length = i32(data);
                spans[i] = new int[] {check(data + 4, length), length};
            } else {
                spans[i] = new int[] {0, 0};
            }
        }
        return spans;
    }

    private Map<String, Integer> readMetadata(int fieldPos) throws BundleException {
        Map<String, Integer> entries = new LinkedHashMap<>();
        if (fieldPos == 0) {
            return entries;
        }
        int vec = indirect(fieldPos);
        int n = vectorLength(vec);
        for (int i = 0; i < n; i++) {
            int entry = indirect(vec + 4 + 4 * i);
            String name = field(entry, 0) == 0 ? "" : string(indirect(field(entry, 0)));
            long buffer = field(entry, 1) == 0 ? 0 : i32(field(entry, 1)) & 0xffffffffL;
            if (buffer >= bufferSpans.length) {
                throw new BundleException("the model's metadata entry '" + name + "' refers to buffer "
                        + buffer + " of " + bufferSpans.length);
            }
            if (!entries.containsKey(name)) {
                entries.put(name, (int) buffer);
            }
        }
        return entries;
    }

    /** The number of buffers in the model. */
    public int bufferCount() {
        return bufferSpans.length;
    }

    /** The bytes of buffer {@code index}. */
    public byte[] bufferData(int index) {
        int[] span = bufferSpans[index];
        byte[] out = new byte[span[1]];
        System.arraycopy(b, span[0], out, 0, span[1]);
        return out;
    }

    /** Whether the file's bytes contain {@code text} (ASCII) anywhere. */
    boolean containsAscii(String text) {
        byte[] needle = text.getBytes(StandardCharsets.US_ASCII);
        outer:
        for (int i = 0; i + needle.length <= b.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (b[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return true;
        }
        return false;
    }

    /** Reads a .tflite file's bytes. */
    public static TfliteModelInfo read(byte[] bytes) throws BundleException {
        try {
            return new TfliteModelInfo(bytes);
        } catch (IndexOutOfBoundsException | NegativeArraySizeException e) {
            throw new BundleException("the model file is corrupt or truncated (" + e.getMessage() + ")");
        }
    }

    /** Custom ops from Larq Compute Engine, which only the {@code lce} flavor can run. */
    public List<String> lceOps() {
        List<String> out = new ArrayList<>();
        for (String op : customOps) {
            if (op.startsWith(LCE_PREFIX) && !out.contains(op)) {
                out.add(op);
            }
        }
        return out;
    }

    /** Custom ops that no runtime of this app provides. */
    public List<String> unknownCustomOps() {
        List<String> out = new ArrayList<>();
        for (String op : customOps) {
            if (!op.startsWith(LCE_PREFIX) && !out.contains(op)) {
                out.add(op);
            }
        }
        return out;
    }

    private int tensor(int tensors, int count, int index) throws BundleException {
        if (index < 0 || index >= count) {
            throw new BundleException("the model refers to tensor " + index + " of " + count);
        }
        return indirect(tensors + 4 + 4 * index);
    }

    private String type(int tensor) {
        int f = field(tensor, 1);
        int t = f == 0 ? 0 : (b[check(f, 1)] & 0xff);
        return t < TYPES.length ? TYPES[t] : "type" + t;
    }

    // --- flatbuffer primitives (little-endian, bounds-checked) ---

    private int check(int pos, int size) {
        if (pos < 0 || size < 0 || pos > b.length - size) {
            throw new IndexOutOfBoundsException("offset " + pos + " outside the " + b.length + "-byte file");
        }
        return pos;
    }

    private int u8(int pos) {
        return b[check(pos, 1)] & 0xff;
    }

    private int u16(int pos) {
        check(pos, 2);
        return (b[pos] & 0xff) | (b[pos + 1] & 0xff) << 8;
    }

    private int i32(int pos) {
        check(pos, 4);
        return (b[pos] & 0xff) | (b[pos + 1] & 0xff) << 8 | (b[pos + 2] & 0xff) << 16 | (b[pos + 3] << 24);
    }

    private long i64(int pos) {
        check(pos, 8);
        return (i32(pos) & 0xffffffffL) | ((long) i32(pos + 4) << 32);
    }

    /** Follows the uoffset stored at pos. */
    private int indirect(int pos) {
        long target = (long) pos + (i32(pos) & 0xffffffffL);
        if (target >= b.length) {
            throw new IndexOutOfBoundsException("offset " + target + " outside the " + b.length + "-byte file");
        }
        return (int) target;
    }

    /** Position of field {@code id} of the table at {@code table}, or 0 if absent. */
    private int field(int table, int id) {
        long vtable = (long) table - i32(table);
        if (vtable < 0 || vtable >= b.length) {
            throw new IndexOutOfBoundsException("vtable " + vtable + " outside the file");
        }
        int vt = (int) vtable;
        int vtSize = u16(vt);
        int entry = 4 + 2 * id;
        if (entry + 2 > vtSize) {
            return 0;
        }
        int offset = u16(vt + entry);
        return offset == 0 ? 0 : check(table + offset, 1);
    }

    private int vectorLength(int vec) {
        int n = i32(vec);
        if (n < 0 || (long) n * 4 > b.length) {
            throw new IndexOutOfBoundsException("vector length " + n + " larger than the file");
        }
        return n;
    }

    private int[] intVector(int fieldPos) {
        if (fieldPos == 0) {
            return new int[0];
        }
        int vec = indirect(fieldPos);
        int n = vectorLength(vec);
        check(vec + 4, 4 * n);
        int[] out = new int[n];
        for (int i = 0; i < n; i++) {
            out[i] = i32(vec + 4 + 4 * i);
        }
        return out;
    }

    private String string(int pos) {
        int n = vectorLength(pos);
        check(pos + 4, n);
        return new String(b, pos + 4, n, StandardCharsets.UTF_8);
    }
}
