/* The ingest checks' inner loops over Arrow string views, in C.
 *
 * Python reaches every value of a text column at memory speed only through whole-buffer
 * numpy operations, and a per-value question (is this a hex digest? what is its hash?)
 * has no such form: Polars' own hash costs ~32 ns a 64-byte value here, binascii ~40 ns.
 * These loops cost a few. Each function takes one Arrow string-view array as the tuple
 * (views, validity, offset, length, data): its 16-byte views, its validity bitmap or None,
 * the array's offset into both, its length, and the variadic buffers the long values live
 * in. Missing values are skipped; every view is checked against its buffer before it is
 * read; the GIL is let go while a loop runs, so it overlaps with Polars' parsing.
 * mlops_ci/data/kernels.py is the typed face of this module and holds the equivalents
 * used where it could not be built.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define VIEW_SIZE 16
#define INLINE_MAX 12
#define MAX_DATA_BUFFERS 1048576

typedef struct {
    Py_buffer views;
    Py_buffer validity; /* .obj is NULL when every value is present */
    Py_buffer *data;
    Py_ssize_t data_count;
    Py_ssize_t offset; /* of the first value, in views and validity */
    Py_ssize_t count;  /* values */
} StringViews;

static void release_views(StringViews *array) {
    if (array->data != NULL) {
        for (Py_ssize_t i = 0; i < array->data_count; i++) {
            PyBuffer_Release(&array->data[i]);
        }
        PyMem_Free(array->data);
        array->data = NULL;
    }
    if (array->validity.obj != NULL) {
        PyBuffer_Release(&array->validity);
    }
    if (array->views.obj != NULL) {
        PyBuffer_Release(&array->views);
    }
}

static int fail(StringViews *array, const char *message) {
    PyErr_SetString(PyExc_ValueError, message);
    release_views(array);
    return -1;
}

/* Takes the buffers of one array; 0 on success, -1 with an exception set. */
static int acquire_views(PyObject *description, StringViews *array) {
    PyObject *views, *validity, *data;
    memset(array, 0, sizeof(*array));
    if (!PyArg_ParseTuple(description, "OOnnO;array: (views, validity, offset, length, data)",
                          &views, &validity, &array->offset, &array->count, &data)) {
        return -1;
    }
    if (array->offset < 0 || array->count < 0) {
        PyErr_SetString(PyExc_ValueError, "array: a negative offset or length");
        return -1;
    }
    if (PyObject_GetBuffer(views, &array->views, PyBUF_SIMPLE) < 0) {
        return -1;
    }
    if (array->views.len / VIEW_SIZE < array->offset + array->count) {
        return fail(array, "views: shorter than offset + length");
    }
    if (validity != Py_None) {
        if (PyObject_GetBuffer(validity, &array->validity, PyBUF_SIMPLE) < 0) {
            release_views(array);
            return -1;
        }
        if (array->validity.len * 8 < array->offset + array->count) {
            return fail(array, "validity: shorter than offset + length");
        }
    }
    PyObject *items = PySequence_Fast(data, "data: a sequence of buffers");
    if (items == NULL) {
        release_views(array);
        return -1;
    }
    Py_ssize_t count = PySequence_Fast_GET_SIZE(items);
    if (count > MAX_DATA_BUFFERS) {
        Py_DECREF(items);
        return fail(array, "data: too many buffers");
    }
    array->data = PyMem_Calloc(count > 0 ? (size_t)count : 1, sizeof(Py_buffer));
    if (array->data == NULL) {
        Py_DECREF(items);
        release_views(array);
        PyErr_NoMemory();
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

/* Native byte order: Arrow's own (little-endian on every platform Polars runs on). */
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

static inline int is_present(const StringViews *array, Py_ssize_t i) {
    if (array->validity.obj == NULL) {
        return 1;
    }
    Py_ssize_t bit = array->offset + i;
    return (((const uint8_t *)array->validity.buf)[bit >> 3] >> (bit & 7)) & 1;
}

/* The bytes of value ``i``, or NULL when its view points outside the data buffers. */
static inline const uint8_t *value_bytes(const StringViews *array, Py_ssize_t i,
                                         uint32_t *length) {
    const uint8_t *view = (const uint8_t *)array->views.buf + (array->offset + i) * VIEW_SIZE;
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

/* -- the hash: XXH3-64 up to 240 bytes, XXH64 beyond ------------------------------------
 * Both as specified in xxHash's xxhash_spec.md (Yann Collet); the tests hold every length
 * to the xxhash package. XXH3 mixes a short value in a few independent 128-bit products
 * (~4 ns for 64 bytes here, against ~13 for XXH64's serial rounds); its long-input form
 * needs a secret derived from the seed, so longer values, rare in a unique column, take
 * XXH64 instead. */

static const uint64_t P1 = 0x9E3779B185EBCA87ULL;
static const uint64_t P2 = 0xC2B2AE3D27D4EB4FULL;
static const uint64_t P3 = 0x165667B19E3779F9ULL;
static const uint64_t P4 = 0x85EBCA77C2B2AE63ULL;
static const uint64_t P5 = 0x27D4EB2F165667C5ULL;

static const uint8_t SECRET[192] = {
    0xb8, 0xfe, 0x6c, 0x39, 0x23, 0xa4, 0x4b, 0xbe, 0x7c, 0x01, 0x81, 0x2c, 0xf7, 0x21, 0xad, 0x1c,
    0xde, 0xd4, 0x6d, 0xe9, 0x83, 0x90, 0x97, 0xdb, 0x72, 0x40, 0xa4, 0xa4, 0xb7, 0xb3, 0x67, 0x1f,
    0xcb, 0x79, 0xe6, 0x4e, 0xcc, 0xc0, 0xe5, 0x78, 0x82, 0x5a, 0xd0, 0x7d, 0xcc, 0xff, 0x72, 0x21,
    0xb8, 0x08, 0x46, 0x74, 0xf7, 0x43, 0x24, 0x8e, 0xe0, 0x35, 0x90, 0xe6, 0x81, 0x3a, 0x26, 0x4c,
    0x3c, 0x28, 0x52, 0xbb, 0x91, 0xc3, 0x00, 0xcb, 0x88, 0xd0, 0x65, 0x8b, 0x1b, 0x53, 0x2e, 0xa3,
    0x71, 0x64, 0x48, 0x97, 0xa2, 0x0d, 0xf9, 0x4e, 0x38, 0x19, 0xef, 0x46, 0xa9, 0xde, 0xac, 0xd8,
    0xa8, 0xfa, 0x76, 0x3f, 0xe3, 0x9c, 0x34, 0x3f, 0xf9, 0xdc, 0xbb, 0xc7, 0xc7, 0x0b, 0x4f, 0x1d,
    0x8a, 0x51, 0xe0, 0x4b, 0xcd, 0xb4, 0x59, 0x31, 0xc8, 0x9f, 0x7e, 0xc9, 0xd9, 0x78, 0x73, 0x64,
    0xea, 0xc5, 0xac, 0x83, 0x34, 0xd3, 0xeb, 0xc3, 0xc5, 0x81, 0xa0, 0xff, 0xfa, 0x13, 0x63, 0xeb,
    0x17, 0x0d, 0xdd, 0x51, 0xb7, 0xf0, 0xda, 0x49, 0xd3, 0x16, 0x55, 0x26, 0x29, 0xd4, 0x68, 0x9e,
    0x2b, 0x16, 0xbe, 0x58, 0x7d, 0x47, 0xa1, 0xfc, 0x8f, 0xf8, 0xb8, 0xd1, 0x7a, 0xd0, 0x31, 0xce,
    0x45, 0xcb, 0x3a, 0x8f, 0x95, 0x16, 0x04, 0x28, 0xaf, 0xd7, 0xfb, 0xca, 0xbb, 0x4b, 0x40, 0x7e,
};

static inline uint64_t rotl64(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

static inline uint32_t swap32(uint32_t x) {
    return ((x << 24) & 0xff000000U) | ((x << 8) & 0x00ff0000U) | ((x >> 8) & 0x0000ff00U) |
           ((x >> 24) & 0x000000ffU);
}

static inline uint64_t swap64(uint64_t x) {
    return ((uint64_t)swap32((uint32_t)x) << 32) | swap32((uint32_t)(x >> 32));
}

#if defined(__SIZEOF_INT128__)
static inline uint64_t mul128_fold64(uint64_t a, uint64_t b) {
    __uint128_t product = (__uint128_t)a * b;
    return (uint64_t)product ^ (uint64_t)(product >> 64);
}
#else
static inline uint64_t mul128_fold64(uint64_t a, uint64_t b) {
    uint64_t lo_lo = (a & 0xFFFFFFFFU) * (b & 0xFFFFFFFFU);
    uint64_t hi_lo = (a >> 32) * (b & 0xFFFFFFFFU);
    uint64_t lo_hi = (a & 0xFFFFFFFFU) * (b >> 32);
    uint64_t hi_hi = (a >> 32) * (b >> 32);
    uint64_t cross = (lo_lo >> 32) + (hi_lo & 0xFFFFFFFFU) + lo_hi;
    uint64_t upper = (hi_lo >> 32) + (cross >> 32) + hi_hi;
    uint64_t lower = (cross << 32) | (lo_lo & 0xFFFFFFFFU);
    return lower ^ upper;
}
#endif

/* Multi-byte numbers are read little-endian, as the specification says. */
static inline uint32_t read32(const uint8_t *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

static inline uint64_t read64(const uint8_t *p) {
    return (uint64_t)read32(p) | ((uint64_t)read32(p + 4) << 32);
}

static inline uint64_t xxh64_avalanche(uint64_t h) {
    h ^= h >> 33;
    h *= P2;
    h ^= h >> 29;
    h *= P3;
    h ^= h >> 32;
    return h;
}

static inline uint64_t xxh3_avalanche(uint64_t h) {
    h ^= h >> 37;
    h *= 0x165667919E3779F9ULL;
    h ^= h >> 32;
    return h;
}

static inline uint64_t xxh3_rrmxmx(uint64_t h, uint64_t length) {
    h ^= rotl64(h, 49) ^ rotl64(h, 24);
    h *= 0x9FB21C651E98DF25ULL;
    h ^= (h >> 35) + length;
    h *= 0x9FB21C651E98DF25ULL;
    h ^= h >> 28;
    return h;
}

static inline uint64_t xxh3_mix16(const uint8_t *p, const uint8_t *secret, uint64_t seed) {
    return mul128_fold64(read64(p) ^ (read64(secret) + seed),
                         read64(p + 8) ^ (read64(secret + 8) - seed));
}

static uint64_t xxh3_short(const uint8_t *p, size_t length, uint64_t seed) {
    if (length > 8) {
        uint64_t low = read64(p) ^ ((read64(SECRET + 24) ^ read64(SECRET + 32)) + seed);
        uint64_t high = read64(p + length - 8) ^ ((read64(SECRET + 40) ^ read64(SECRET + 48)) - seed);
        uint64_t acc = length + swap64(low) + high + mul128_fold64(low, high);
        return xxh3_avalanche(acc);
    }
    if (length >= 4) {
        seed ^= (uint64_t)swap32((uint32_t)seed) << 32;
        uint64_t bitflip = (read64(SECRET + 8) ^ read64(SECRET + 16)) - seed;
        uint64_t input = read32(p + length - 4) + ((uint64_t)read32(p) << 32);
        return xxh3_rrmxmx(input ^ bitflip, length);
    }
    if (length > 0) {
        uint32_t combined = ((uint32_t)p[0] << 16) | ((uint32_t)p[length >> 1] << 24) |
                            (uint32_t)p[length - 1] | ((uint32_t)length << 8);
        uint64_t bitflip = (read32(SECRET) ^ read32(SECRET + 4)) + seed;
        return xxh64_avalanche((uint64_t)combined ^ bitflip);
    }
    return xxh64_avalanche(seed ^ (read64(SECRET + 56) ^ read64(SECRET + 64)));
}

static uint64_t xxh3_medium(const uint8_t *p, size_t length, uint64_t seed) {
    uint64_t acc = length * P1;
    if (length <= 128) {
        if (length > 32) {
            if (length > 64) {
                if (length > 96) {
                    acc += xxh3_mix16(p + 48, SECRET + 96, seed);
                    acc += xxh3_mix16(p + length - 64, SECRET + 112, seed);
                }
                acc += xxh3_mix16(p + 32, SECRET + 64, seed);
                acc += xxh3_mix16(p + length - 48, SECRET + 80, seed);
            }
            acc += xxh3_mix16(p + 16, SECRET + 32, seed);
            acc += xxh3_mix16(p + length - 32, SECRET + 48, seed);
        }
        acc += xxh3_mix16(p, SECRET, seed);
        acc += xxh3_mix16(p + length - 16, SECRET + 16, seed);
        return xxh3_avalanche(acc);
    }
    size_t rounds = length / 16;
    for (size_t i = 0; i < 8; i++) {
        acc += xxh3_mix16(p + 16 * i, SECRET + 16 * i, seed);
    }
    acc = xxh3_avalanche(acc);
    for (size_t i = 8; i < rounds; i++) {
        acc += xxh3_mix16(p + 16 * i, SECRET + 16 * (i - 8) + 3, seed);
    }
    acc += xxh3_mix16(p + length - 16, SECRET + 136 - 17, seed);
    return xxh3_avalanche(acc);
}

static inline uint64_t xxh64_round(uint64_t acc, uint64_t input) {
    acc += input * P2;
    acc = rotl64(acc, 31);
    return acc * P1;
}

static inline uint64_t xxh64_merge(uint64_t acc, uint64_t lane) {
    acc ^= xxh64_round(0, lane);
    return acc * P1 + P4;
}

static uint64_t xxh64(const uint8_t *p, size_t length, uint64_t seed) {
    const uint8_t *end = p + length;
    uint64_t h;
    if (length >= 32) {
        uint64_t v1 = seed + P1 + P2, v2 = seed + P2, v3 = seed, v4 = seed - P1;
        const uint8_t *limit = end - 32;
        do {
            v1 = xxh64_round(v1, read64(p));
            v2 = xxh64_round(v2, read64(p + 8));
            v3 = xxh64_round(v3, read64(p + 16));
            v4 = xxh64_round(v4, read64(p + 24));
            p += 32;
        } while (p <= limit);
        h = rotl64(v1, 1) + rotl64(v2, 7) + rotl64(v3, 12) + rotl64(v4, 18);
        h = xxh64_merge(h, v1);
        h = xxh64_merge(h, v2);
        h = xxh64_merge(h, v3);
        h = xxh64_merge(h, v4);
    } else {
        h = seed + P5;
    }
    h += (uint64_t)length;
    while (p + 8 <= end) {
        h ^= xxh64_round(0, read64(p));
        h = rotl64(h, 27) * P1 + P4;
        p += 8;
    }
    if (p + 4 <= end) {
        h ^= (uint64_t)read32(p) * P1;
        h = rotl64(h, 23) * P2 + P3;
        p += 4;
    }
    while (p < end) {
        h ^= (*p) * P5;
        h = rotl64(h, 11) * P1;
        p++;
    }
    return xxh64_avalanche(h);
}

static inline uint64_t value_hash(const uint8_t *p, size_t length, uint64_t seed) {
    if (length <= 16) {
        return xxh3_short(p, length, seed);
    }
    if (length <= 240) {
        return xxh3_medium(p, length, seed);
    }
    return xxh64(p, length, seed);
}

/* Writes the hash of every present value into out, in order; returns how many it wrote. */
static PyObject *hash_views(PyObject *self, PyObject *args) {
    PyObject *description, *out_object;
    unsigned long long seed;
    if (!PyArg_ParseTuple(args, "OOK", &description, &out_object, &seed)) {
        return NULL;
    }
    StringViews array;
    if (acquire_views(description, &array) < 0) {
        return NULL;
    }
    Py_buffer out;
    if (PyObject_GetBuffer(out_object, &out, PyBUF_WRITABLE) < 0) {
        release_views(&array);
        return NULL;
    }
    Py_ssize_t bad = -1, written = 0, capacity = out.len / 8;
    int full = 0;
    uint8_t *hashes = out.buf;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < array.count; i++) {
        if (!is_present(&array, i)) {
            continue;
        }
        if (written == capacity) {
            full = 1;
            break;
        }
        uint32_t length;
        const uint8_t *bytes = value_bytes(&array, i, &length);
        if (bytes == NULL) {
            bad = i;
            break;
        }
        uint64_t hash = value_hash(bytes, length, (uint64_t)seed);
        memcpy(hashes + written * 8, &hash, 8);
        written++;
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&out);
    release_views(&array);
    if (bad >= 0) {
        return bad_view(bad);
    }
    if (full) {
        PyErr_SetString(PyExc_ValueError, "out: 8 bytes a present value needed");
        return NULL;
    }
    return PyLong_FromSsize_t(written);
}

/* -- hex digests --------------------------------------------------------------------- */

/* 1 when every byte is a hex digit; without branches, so that it vectorises, and inlined
 * with the digest lengths as constants, so that each loop unrolls. */
static inline __attribute__((always_inline)) int all_hex_digits(const uint8_t *p,
                                                                uint32_t length) {
    uint8_t bad = 0;
    for (uint32_t i = 0; i < length; i++) {
        uint8_t digit = (uint8_t)(p[i] - '0');
        uint8_t letter = (uint8_t)((p[i] | 0x20) - 'a');
        bad |= (uint8_t)((digit > 9) & (letter > 5));
    }
    return bad == 0;
}

static int hex_value(const uint8_t *p, uint32_t length) {
    switch (length) {
    case 40:
        return all_hex_digits(p, 40);
    case 64:
        return all_hex_digits(p, 64);
    case 128:
        return all_hex_digits(p, 128);
    default:
        return all_hex_digits(p, length);
    }
}

static PyObject *hex_digests(PyObject *self, PyObject *args) {
    PyObject *description, *lengths_object;
    if (!PyArg_ParseTuple(args, "OO", &description, &lengths_object)) {
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
    if (acquire_views(description, &array) < 0) {
        return NULL;
    }
    Py_ssize_t bad = -1;
    int every = 1;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < array.count && every; i++) {
        if (!is_present(&array, i)) {
            continue;
        }
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
        every = length_ok && hex_value(bytes, length);
    }
    Py_END_ALLOW_THREADS
    release_views(&array);
    if (bad >= 0) {
        return bad_view(bad);
    }
    return PyBool_FromLong(every);
}

/* -- bytes in a range ----------------------------------------------------------------- */

static PyObject *any_byte_between(PyObject *self, PyObject *args) {
    PyObject *description;
    unsigned char low, high;
    if (!PyArg_ParseTuple(args, "Obb", &description, &low, &high)) {
        return NULL;
    }
    StringViews array;
    if (acquire_views(description, &array) < 0) {
        return NULL;
    }
    Py_ssize_t bad = -1;
    uint8_t found = 0;
    uint8_t span = (uint8_t)(high - low);
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < array.count && !found; i++) {
        if (!is_present(&array, i)) {
            continue;
        }
        uint32_t length;
        const uint8_t *bytes = value_bytes(&array, i, &length);
        if (bytes == NULL) {
            bad = i;
            break;
        }
        for (uint32_t k = 0; k < length; k++) {
            found |= (uint8_t)((uint8_t)(bytes[k] - low) <= span);
        }
    }
    Py_END_ALLOW_THREADS
    release_views(&array);
    if (bad >= 0) {
        return bad_view(bad);
    }
    return PyBool_FromLong(found);
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
     "hash_views(array, out, seed): the hash of every present value into out; how many."},
    {"hex_digests", hex_digests, METH_VARARGS,
     "hex_digests(array, lengths): whether every present value is hex digits of a length."},
    {"any_byte_between", any_byte_between, METH_VARARGS,
     "any_byte_between(array, low, high): whether a present value has a byte in the range."},
    {"partition", partition, METH_VARARGS,
     "partition(hashes, bits, out, bounds): hashes into out by their top bits."},
    {"repeats", repeats, METH_VARARGS,
     "repeats(hashes, limit): (values that repeat an earlier one, repeated hashes)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "mlops_ci.data._kernels",
    "The ingest checks' inner loops over Arrow string views, in C.", -1, methods, NULL, NULL,
    NULL, NULL,
};

PyMODINIT_FUNC PyInit__kernels(void) { return PyModule_Create(&module); }
