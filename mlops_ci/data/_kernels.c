/* The ingest checks' inner loops over Arrow string views, in C.
 *
 * Python reaches every value of a text column at memory speed only through whole-buffer
 * numpy operations, and a per-value question (is this a hex digest? what is its hash?)
 * has no such form: Polars' own hash costs ~32 ns a 64-byte value here, binascii ~40 ns.
 * These loops cost a few. Each function works on the raw buffers of one Arrow string-view
 * array (views: 16 bytes a value; data: the variadic buffers the long values live in),
 * checks every view against its buffer before reading it, and lets go of the GIL while it
 * runs, so it overlaps with Polars' parsing. mlops_ci/data/kernels.py is the typed face of
 * this module and holds the pure-Python equivalents used when it is not built.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define VIEW_SIZE 16
#define INLINE_MAX 12
#define MAX_DATA_BUFFERS 65536

typedef struct {
    Py_buffer views;
    Py_buffer *data;
    Py_ssize_t data_count;
    Py_ssize_t count; /* values */
} StringViews;

static void release_views(StringViews *array) {
    if (array->data != NULL) {
        for (Py_ssize_t i = 0; i < array->data_count; i++) {
            PyBuffer_Release(&array->data[i]);
        }
        PyMem_Free(array->data);
        array->data = NULL;
    }
    if (array->views.obj != NULL) {
        PyBuffer_Release(&array->views);
    }
}

/* Takes the buffers of (views, [data, ...]); 0 on success, -1 with an exception set. */
static int acquire_views(PyObject *views, PyObject *data, StringViews *array) {
    memset(array, 0, sizeof(*array));
    if (PyObject_GetBuffer(views, &array->views, PyBUF_SIMPLE) < 0) {
        return -1;
    }
    if (array->views.len % VIEW_SIZE != 0) {
        PyErr_SetString(PyExc_ValueError, "views: the length is not a multiple of 16 bytes");
        release_views(array);
        return -1;
    }
    array->count = array->views.len / VIEW_SIZE;
    PyObject *items = PySequence_Fast(data, "data: a sequence of buffers");
    if (items == NULL) {
        release_views(array);
        return -1;
    }
    Py_ssize_t count = PySequence_Fast_GET_SIZE(items);
    if (count > MAX_DATA_BUFFERS) {
        Py_DECREF(items);
        PyErr_SetString(PyExc_ValueError, "data: too many buffers");
        release_views(array);
        return -1;
    }
    array->data = PyMem_Calloc(count > 0 ? (size_t)count : 1, sizeof(Py_buffer));
    if (array->data == NULL) {
        Py_DECREF(items);
        PyErr_NoMemory();
        release_views(array);
        return -1;
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        if (PyObject_GetBuffer(PySequence_Fast_GET_ITEM(items, i), &array->data[i],
                               PyBUF_SIMPLE) < 0) {
            array->data_count = i;
            Py_DECREF(items);
            release_views(array);
            return -1;
        }
    }
    array->data_count = count;
    Py_DECREF(items);
    return 0;
}

static inline uint32_t load32(const uint8_t *p) {
    uint32_t value;
    memcpy(&value, p, 4);
    return value;
}

static inline uint64_t load64(const uint8_t *p) {
    uint64_t value;
    memcpy(&value, p, 8);
    return value;
}

/* The bytes of value ``i``, or NULL when its view points outside the data buffers. */
static inline const uint8_t *value_bytes(const StringViews *array, Py_ssize_t i,
                                         uint32_t *length) {
    const uint8_t *view = (const uint8_t *)array->views.buf + i * VIEW_SIZE;
    *length = load32(view);
    if (*length <= INLINE_MAX) {
        return view + 4;
    }
    uint32_t index = load32(view + 8);
    uint32_t offset = load32(view + 12);
    if ((Py_ssize_t)index >= array->data_count) {
        return NULL;
    }
    const Py_buffer *buffer = &array->data[index];
    if ((uint64_t)offset + *length > (uint64_t)buffer->len) {
        return NULL;
    }
    return (const uint8_t *)buffer->buf + offset;
}

static PyObject *bad_view(Py_ssize_t i) {
    PyErr_Format(PyExc_ValueError, "view %zd points outside its data buffer", i);
    return NULL;
}

/* -- XXH64 (Yann Collet's xxHash, 64-bit variant, as specified in xxhash_spec.md) ------- */

static const uint64_t P1 = 0x9E3779B185EBCA87ULL;
static const uint64_t P2 = 0xC2B2AE3D27D4EB4FULL;
static const uint64_t P3 = 0x165667B19E3779F9ULL;
static const uint64_t P4 = 0x85EBCA77C2B2AE63ULL;
static const uint64_t P5 = 0x27D4EB2F165667C5ULL;

static inline uint64_t rotl64(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

static inline uint64_t xxh_round(uint64_t acc, uint64_t input) {
    acc += input * P2;
    acc = rotl64(acc, 31);
    return acc * P1;
}

static inline uint64_t xxh_merge(uint64_t acc, uint64_t lane) {
    acc ^= xxh_round(0, lane);
    return acc * P1 + P4;
}

static uint64_t xxh64(const uint8_t *p, size_t length, uint64_t seed) {
    const uint8_t *end = p + length;
    uint64_t h;
    if (length >= 32) {
        uint64_t v1 = seed + P1 + P2, v2 = seed + P2, v3 = seed, v4 = seed - P1;
        const uint8_t *limit = end - 32;
        do {
            v1 = xxh_round(v1, load64(p));
            v2 = xxh_round(v2, load64(p + 8));
            v3 = xxh_round(v3, load64(p + 16));
            v4 = xxh_round(v4, load64(p + 24));
            p += 32;
        } while (p <= limit);
        h = rotl64(v1, 1) + rotl64(v2, 7) + rotl64(v3, 12) + rotl64(v4, 18);
        h = xxh_merge(h, v1);
        h = xxh_merge(h, v2);
        h = xxh_merge(h, v3);
        h = xxh_merge(h, v4);
    } else {
        h = seed + P5;
    }
    h += (uint64_t)length;
    while (p + 8 <= end) {
        h ^= xxh_round(0, load64(p));
        h = rotl64(h, 27) * P1 + P4;
        p += 8;
    }
    if (p + 4 <= end) {
        h ^= (uint64_t)load32(p) * P1;
        h = rotl64(h, 23) * P2 + P3;
        p += 4;
    }
    while (p < end) {
        h ^= (*p) * P5;
        h = rotl64(h, 11) * P1;
        p++;
    }
    h ^= h >> 33;
    h *= P2;
    h ^= h >> 29;
    h *= P3;
    h ^= h >> 32;
    return h;
}

static PyObject *hash_views(PyObject *self, PyObject *args) {
    PyObject *views, *data, *out_object;
    unsigned long long seed;
    if (!PyArg_ParseTuple(args, "OOOK", &views, &data, &out_object, &seed)) {
        return NULL;
    }
    StringViews array;
    if (acquire_views(views, data, &array) < 0) {
        return NULL;
    }
    Py_buffer out;
    if (PyObject_GetBuffer(out_object, &out, PyBUF_WRITABLE) < 0) {
        release_views(&array);
        return NULL;
    }
    if (out.len != array.count * 8) {
        PyBuffer_Release(&out);
        release_views(&array);
        PyErr_SetString(PyExc_ValueError, "out: 8 bytes a value needed");
        return NULL;
    }
    Py_ssize_t bad = -1;
    uint8_t *hashes = out.buf;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < array.count; i++) {
        uint32_t length;
        const uint8_t *bytes = value_bytes(&array, i, &length);
        if (bytes == NULL) {
            bad = i;
            break;
        }
        uint64_t hash = xxh64(bytes, length, (uint64_t)seed);
        memcpy(hashes + i * 8, &hash, 8);
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&out);
    release_views(&array);
    if (bad >= 0) {
        return bad_view(bad);
    }
    Py_RETURN_NONE;
}

/* -- hex digests --------------------------------------------------------------------- */

/* 1 when every byte is a hex digit; written without branches so it vectorises. */
static inline int all_hex_digits(const uint8_t *p, uint32_t length) {
    uint8_t bad = 0;
    for (uint32_t i = 0; i < length; i++) {
        uint8_t digit = (uint8_t)(p[i] - '0');
        uint8_t letter = (uint8_t)((p[i] | 0x20) - 'a');
        bad |= (uint8_t)((digit > 9) & (letter > 5));
    }
    return bad == 0;
}

static PyObject *hex_digests(PyObject *self, PyObject *args) {
    PyObject *views, *data, *lengths_object;
    if (!PyArg_ParseTuple(args, "OOO", &views, &data, &lengths_object)) {
        return NULL;
    }
    /* The lengths a digest may have (40, 64, 128 hex digits: sha1, sha256, sha512). */
    PyObject *lengths = PySequence_Fast(lengths_object, "lengths: a sequence of integers");
    if (lengths == NULL) {
        return NULL;
    }
    uint32_t allowed[8];
    Py_ssize_t allowed_count = PySequence_Fast_GET_SIZE(lengths);
    if (allowed_count > 8) {
        Py_DECREF(lengths);
        PyErr_SetString(PyExc_ValueError, "lengths: at most 8");
        return NULL;
    }
    for (Py_ssize_t i = 0; i < allowed_count; i++) {
        unsigned long value = PyLong_AsUnsignedLong(PySequence_Fast_GET_ITEM(lengths, i));
        if (PyErr_Occurred()) {
            Py_DECREF(lengths);
            return NULL;
        }
        allowed[i] = (uint32_t)value;
    }
    Py_DECREF(lengths);
    StringViews array;
    if (acquire_views(views, data, &array) < 0) {
        return NULL;
    }
    Py_ssize_t bad = -1;
    int every = 1;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < array.count && every; i++) {
        uint32_t length;
        const uint8_t *bytes = value_bytes(&array, i, &length);
        if (bytes == NULL) {
            bad = i;
            break;
        }
        int length_ok = 0;
        for (Py_ssize_t k = 0; k < allowed_count; k++) {
            length_ok |= length == allowed[k];
        }
        every = length_ok && all_hex_digits(bytes, length);
    }
    Py_END_ALLOW_THREADS
    release_views(&array);
    if (bad >= 0) {
        return bad_view(bad);
    }
    return PyBool_FromLong(every);
}

/* -- hashes: partitions and repeats ---------------------------------------------------- */

/* Counting sort of 64-bit hashes by their top ``bits``: out holds them partition by
 * partition, bounds[p]..bounds[p + 1] being partition p. */
static PyObject *partition(PyObject *self, PyObject *args) {
    PyObject *hashes_object, *out_object, *bounds_object;
    int bits;
    if (!PyArg_ParseTuple(args, "OiOO", &hashes_object, &bits, &out_object, &bounds_object)) {
        return NULL;
    }
    if (bits < 1 || bits > 16) {
        PyErr_SetString(PyExc_ValueError, "bits: 1 to 16");
        return NULL;
    }
    Py_buffer hashes, out, bounds;
    if (PyObject_GetBuffer(hashes_object, &hashes, PyBUF_SIMPLE) < 0) {
        return NULL;
    }
    if (PyObject_GetBuffer(out_object, &out, PyBUF_WRITABLE) < 0) {
        PyBuffer_Release(&hashes);
        return NULL;
    }
    if (PyObject_GetBuffer(bounds_object, &bounds, PyBUF_WRITABLE) < 0) {
        PyBuffer_Release(&hashes);
        PyBuffer_Release(&out);
        return NULL;
    }
    Py_ssize_t parts = (Py_ssize_t)1 << bits;
    const char *problem = NULL;
    if (hashes.len % 8 != 0 || out.len != hashes.len) {
        problem = "hashes and out: the same number of 8-byte values";
    } else if (bounds.len != (parts + 1) * 8) {
        problem = "bounds: 2**bits + 1 eight-byte integers";
    }
    uint64_t *positions = NULL;
    if (problem == NULL && (positions = PyMem_Calloc((size_t)parts, 8)) == NULL) {
        problem = "out of memory";
    }
    if (problem == NULL) {
        Py_ssize_t count = hashes.len / 8;
        const uint8_t *in = hashes.buf;
        uint8_t *target = out.buf;
        int64_t *edges = bounds.buf;
        int shift = 64 - bits;
        Py_BEGIN_ALLOW_THREADS
        for (Py_ssize_t i = 0; i < count; i++) {
            positions[load64(in + i * 8) >> shift]++;
        }
        uint64_t start = 0;
        for (Py_ssize_t p = 0; p < parts; p++) {
            uint64_t size = positions[p];
            edges[p] = (int64_t)start;
            positions[p] = start;
            start += size;
        }
        edges[parts] = (int64_t)start;
        for (Py_ssize_t i = 0; i < count; i++) {
            uint64_t hash = load64(in + i * 8);
            memcpy(target + 8 * positions[hash >> shift]++, &hash, 8);
        }
        Py_END_ALLOW_THREADS
        PyMem_Free(positions);
    }
    PyBuffer_Release(&hashes);
    PyBuffer_Release(&out);
    PyBuffer_Release(&bounds);
    if (problem != NULL) {
        PyErr_SetString(PyExc_ValueError, problem);
        return NULL;
    }
    Py_RETURN_NONE;
}

/* How many hashes repeat an earlier one, and the distinct repeated hashes (at most
 * ``limit``, in the order they first repeat), by an open-addressing set. The hashes are
 * already well mixed, so their low bits index the table as they are. */
static PyObject *repeats(PyObject *self, PyObject *args) {
    PyObject *hashes_object;
    Py_ssize_t limit;
    if (!PyArg_ParseTuple(args, "On", &hashes_object, &limit)) {
        return NULL;
    }
    if (limit < 0) {
        PyErr_SetString(PyExc_ValueError, "limit: zero or more");
        return NULL;
    }
    Py_buffer hashes;
    if (PyObject_GetBuffer(hashes_object, &hashes, PyBUF_SIMPLE) < 0) {
        return NULL;
    }
    if (hashes.len % 8 != 0) {
        PyBuffer_Release(&hashes);
        PyErr_SetString(PyExc_ValueError, "hashes: 8-byte values");
        return NULL;
    }
    Py_ssize_t count = hashes.len / 8;
    size_t slots = 16;
    while (slots < (size_t)count * 2) {
        slots <<= 1;
    }
    uint64_t *keys = calloc(slots, 8);
    uint8_t *marks = calloc(slots, 1); /* 1: seen once, 2: repeated */
    PyObject *found = PyBytes_FromStringAndSize(NULL, (limit < count ? limit : count) * 8);
    if (keys == NULL || marks == NULL || found == NULL) {
        free(keys);
        free(marks);
        Py_XDECREF(found);
        PyBuffer_Release(&hashes);
        return PyErr_NoMemory();
    }
    uint8_t *kept = (uint8_t *)PyBytes_AS_STRING(found);
    Py_ssize_t repeated = 0, distinct_repeats = 0;
    const uint8_t *in = hashes.buf;
    size_t mask = slots - 1;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < count; i++) {
        uint64_t hash = load64(in + i * 8);
        size_t slot = (size_t)hash & mask;
        while (marks[slot] != 0 && keys[slot] != hash) {
            slot = (slot + 1) & mask;
        }
        if (marks[slot] == 0) {
            keys[slot] = hash;
            marks[slot] = 1;
            continue;
        }
        repeated++;
        if (marks[slot] == 1) {
            marks[slot] = 2;
            if (distinct_repeats < limit) {
                memcpy(kept + distinct_repeats * 8, &hash, 8);
            }
            distinct_repeats++;
        }
    }
    Py_END_ALLOW_THREADS
    free(keys);
    free(marks);
    PyBuffer_Release(&hashes);
    Py_ssize_t kept_count = distinct_repeats < limit ? distinct_repeats : limit;
    if (_PyBytes_Resize(&found, kept_count * 8) < 0) {
        return NULL;
    }
    return Py_BuildValue("(nN)", repeated, found);
}

static PyMethodDef methods[] = {
    {"hash_views", hash_views, METH_VARARGS,
     "hash_views(views, data, out, seed): XXH64 of every value into out (8 bytes each)."},
    {"hex_digests", hex_digests, METH_VARARGS,
     "hex_digests(views, data, lengths): whether every value is hex digits of such a length."},
    {"partition", partition, METH_VARARGS,
     "partition(hashes, bits, out, bounds): hashes into out by their top bits."},
    {"repeats", repeats, METH_VARARGS,
     "repeats(hashes, limit): (values that repeat an earlier one, repeated hashes)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "mlops_ci.data._kernels",
    "The ingest checks' inner loops over Arrow string views, in C.", -1, methods,
};

PyMODINIT_FUNC PyInit__kernels(void) { return PyModule_Create(&module); }
