/* The ingest checks' inner loops over text columns, in C.
 *
 * Python reaches every value of a text column at memory speed only through whole-buffer
 * numpy operations, and a per-value question (is this a hex digest? what is its hash?
 * which allowed value is it?) has no such form. These loops answer it over a Polars
 * Series' own memory: they take the column through the Arrow PyCapsule stream interface
 * (__arrow_c_stream__), chunk by chunk, as Arrow string views (16 bytes a value: a length
 * and either the text itself, up to 12 bytes, or a prefix and the text's place in one of
 * the data buffers). Missing values are skipped; every view is checked against its buffer
 * before it is read; the GIL is let go while a loop runs, so it overlaps with Polars'
 * parsing. mlops_ci/data/kernels.py is the typed face of this module and holds the
 * equivalents used where it could not be built.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define VIEW_SIZE 16
#define INLINE_MAX 12

/* The hot loops get AVX-512 and AVX2 versions beside the baseline one, chosen when the
 * module loads, where the toolchain can: GCC 12+ (GCC 8+ and Clang 14+: AVX2 only) on
 * x86-64, with an ELF loader that resolves ifuncs (glibc Linux). */
#if defined(__x86_64__) && defined(__linux__) && defined(__GLIBC__) && !defined(__clang__) &&  \
    defined(__GNUC__) && __GNUC__ >= 12
#define MULTIVERSION __attribute__((target_clones("arch=x86-64-v4", "avx2", "default")))
#elif defined(__x86_64__) && defined(__linux__) && defined(__GLIBC__) &&                      \
    ((defined(__clang__) && __clang_major__ >= 14) || (defined(__GNUC__) && __GNUC__ >= 8))
#define MULTIVERSION __attribute__((target_clones("avx2", "default")))
#else
#define MULTIVERSION
#endif

/* -- the Arrow C data interface (its ABI is a stable specification) -------------------- */

struct ArrowSchema {
    const char *format;
    const char *name;
    const char *metadata;
    int64_t flags;
    int64_t n_children;
    struct ArrowSchema **children;
    struct ArrowSchema *dictionary;
    void (*release)(struct ArrowSchema *);
    void *private_data;
};

struct ArrowArray {
    int64_t length;
    int64_t null_count;
    int64_t offset;
    int64_t n_buffers;
    int64_t n_children;
    const void **buffers;
    struct ArrowArray **children;
    struct ArrowArray *dictionary;
    void (*release)(struct ArrowArray *);
    void *private_data;
};

struct ArrowArrayStream {
    int (*get_schema)(struct ArrowArrayStream *, struct ArrowSchema *out);
    int (*get_next)(struct ArrowArrayStream *, struct ArrowArray *out);
    const char *(*get_last_error)(struct ArrowArrayStream *);
    void (*release)(struct ArrowArrayStream *);
    void *private_data;
};

/* One chunk of a string-view column: buffers are validity (NULL: none missing), views,
 * the data buffers, and last the data buffers' sizes. */
typedef struct {
    const uint8_t *views;
    const uint8_t *validity;
    const void *const *data;
    const int64_t *data_sizes;
    int64_t data_count;
    Py_ssize_t offset; /* of the first value, in views and validity */
    Py_ssize_t count;  /* values */
} StringViews;

typedef struct {
    struct ArrowArrayStream stream;
    struct ArrowArray chunk;
} Column;

static void close_column(Column *column) {
    if (column->chunk.release != NULL) {
        column->chunk.release(&column->chunk);
    }
    if (column->stream.release != NULL) {
        column->stream.release(&column->stream);
    }
}

static int stream_error(Column *column, const char *what) {
    const char *detail = column->stream.get_last_error != NULL
                             ? column->stream.get_last_error(&column->stream)
                             : NULL;
    PyErr_Format(PyExc_ValueError, "%s%s%s", what, detail ? ": " : "", detail ? detail : "");
    return -1;
}

/* Takes the stream of ``values`` (moved out of its capsule, so it is released here);
 * 0 on success, -1 with an exception set (TypeError: not a column of string views). */
static int open_column(PyObject *values, Column *column) {
    memset(column, 0, sizeof(*column));
    PyObject *capsule = PyObject_CallMethod(values, "__arrow_c_stream__", NULL);
    if (capsule == NULL) {
        return -1;
    }
    struct ArrowArrayStream *stream = PyCapsule_GetPointer(capsule, "arrow_array_stream");
    if (stream == NULL) {
        Py_DECREF(capsule);
        return -1;
    }
    column->stream = *stream;
    stream->release = NULL;
    Py_DECREF(capsule);
    struct ArrowSchema schema;
    memset(&schema, 0, sizeof(schema));
    if (column->stream.get_schema(&column->stream, &schema) != 0) {
        stream_error(column, "the column's schema");
        close_column(column);
        return -1;
    }
    int views = schema.format != NULL &&
                (strcmp(schema.format, "vu") == 0 || strcmp(schema.format, "vz") == 0);
    if (schema.release != NULL) {
        schema.release(&schema);
    }
    if (!views) {
        PyErr_SetString(PyExc_TypeError, "values: a column of Arrow string views needed");
        close_column(column);
        return -1;
    }
    return 0;
}

/* The next chunk with values: 1, 0 at the end, -1 with an exception set. */
static int next_chunk(Column *column, StringViews *array) {
    for (;;) {
        if (column->chunk.release != NULL) {
            column->chunk.release(&column->chunk);
        }
        memset(&column->chunk, 0, sizeof(column->chunk));
        if (column->stream.get_next(&column->stream, &column->chunk) != 0) {
            return stream_error(column, "the column's next chunk");
        }
        const struct ArrowArray *chunk = &column->chunk;
        if (chunk->release == NULL) {
            return 0;
        }
        if (chunk->n_buffers < 3 || chunk->offset < 0 || chunk->length < 0 ||
            chunk->buffers == NULL) {
            PyErr_SetString(PyExc_ValueError, "a chunk that is no string-view array");
            return -1;
        }
        if (chunk->length == 0) {
            continue;
        }
        array->validity = chunk->null_count == 0 ? NULL : chunk->buffers[0];
        array->views = chunk->buffers[1];
        array->data = chunk->buffers + 2;
        array->data_count = chunk->n_buffers - 3;
        array->data_sizes = chunk->buffers[chunk->n_buffers - 1];
        array->offset = (Py_ssize_t)chunk->offset;
        array->count = (Py_ssize_t)chunk->length;
        if (array->views == NULL || (array->data_count > 0 && array->data_sizes == NULL)) {
            PyErr_SetString(PyExc_ValueError, "a string-view chunk without its buffers");
            return -1;
        }
        return 1;
    }
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

static inline const uint8_t *view_at(const StringViews *array, Py_ssize_t i) {
    return array->views + (array->offset + i) * VIEW_SIZE;
}

static inline int is_present(const StringViews *array, Py_ssize_t i) {
    if (array->validity == NULL) {
        return 1;
    }
    Py_ssize_t bit = array->offset + i;
    return (array->validity[bit >> 3] >> (bit & 7)) & 1;
}

/* The bytes of value ``i``, or NULL when its view points outside the data buffers. */
static inline const uint8_t *value_bytes(const StringViews *array, Py_ssize_t i,
                                         uint32_t *length) {
    const uint8_t *view = view_at(array, i);
    *length = load32(view);
    if (*length <= INLINE_MAX) {
        return view + 4;
    }
    uint32_t index = load32(view + 8);
    uint32_t offset = load32(view + 12);
    if ((int64_t)index >= array->data_count || array->data[index] == NULL) {
        return NULL;
    }
    if ((uint64_t)offset + *length > (uint64_t)array->data_sizes[index]) {
        return NULL;
    }
    return (const uint8_t *)array->data[index] + offset;
}

static PyObject *bad_view(Py_ssize_t i) {
    PyErr_Format(PyExc_ValueError, "view %zd of a chunk points outside its data buffer", i);
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
/* Writes the hash of every present value of a chunk into out[*written...]; returns the
 * first value whose view points outside its buffer, -2 when out is full, else -1. */
static Py_ssize_t hash_chunk(const StringViews *array, uint64_t seed, uint8_t *out,
                             Py_ssize_t capacity, Py_ssize_t *written) {
    for (Py_ssize_t i = 0; i < array->count; i++) {
        if (!is_present(array, i)) {
            continue;
        }
        if (*written == capacity) {
            return -2;
        }
        uint32_t length;
        const uint8_t *bytes = value_bytes(array, i, &length);
        if (bytes == NULL) {
            return i;
        }
        uint64_t hash = value_hash(bytes, length, seed);
        memcpy(out + *written * 8, &hash, 8);
        (*written)++;
    }
    return -1;
}

static PyObject *hash_views(PyObject *self, PyObject *args) {
    PyObject *values, *out_object;
    unsigned long long seed;
    if (!PyArg_ParseTuple(args, "OOK", &values, &out_object, &seed)) {
        return NULL;
    }
    Py_buffer out;
    if (PyObject_GetBuffer(out_object, &out, PyBUF_WRITABLE) < 0) {
        return NULL;
    }
    Column column;
    if (open_column(values, &column) < 0) {
        PyBuffer_Release(&out);
        return NULL;
    }
    Py_ssize_t bad = -1, written = 0;
    StringViews array;
    int next;
    while ((next = next_chunk(&column, &array)) == 1) {
        Py_BEGIN_ALLOW_THREADS
        bad = hash_chunk(&array, (uint64_t)seed, out.buf, out.len / 8, &written);
        Py_END_ALLOW_THREADS
        if (bad != -1) {
            break;
        }
    }
    close_column(&column);
    PyBuffer_Release(&out);
    if (next < 0) {
        return NULL;
    }
    if (bad == -2) {
        PyErr_SetString(PyExc_ValueError, "out: 8 bytes a present value needed");
        return NULL;
    }
    if (bad >= 0) {
        return bad_view(bad);
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

static inline __attribute__((always_inline)) int hex_value(const uint8_t *p, uint32_t length) {
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

/* 1 when every present value has an allowed length and only hex digits; *bad is set to
 * the first value whose view points outside its buffer. */
MULTIVERSION static int every_hex(const StringViews *array, const uint32_t *allowed,
                                  Py_ssize_t allowed_count, Py_ssize_t *bad) {
    for (Py_ssize_t i = 0; i < array->count; i++) {
        if (!is_present(array, i)) {
            continue;
        }
        uint32_t length;
        const uint8_t *bytes = value_bytes(array, i, &length);
        if (bytes == NULL) {
            *bad = i;
            return 0;
        }
        int length_ok = 0;
        for (Py_ssize_t k = 0; k < allowed_count; k++) {
            length_ok |= length == allowed[k];
        }
        if (!length_ok || !hex_value(bytes, length)) {
            return 0;
        }
    }
    return 1;
}

static PyObject *hex_digests(PyObject *self, PyObject *args) {
    PyObject *values, *lengths_object;
    if (!PyArg_ParseTuple(args, "OO", &values, &lengths_object)) {
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
    Column column;
    if (open_column(values, &column) < 0) {
        return NULL;
    }
    Py_ssize_t bad = -1;
    int every = 1;
    StringViews array;
    int next;
    while ((next = next_chunk(&column, &array)) == 1) {
        Py_BEGIN_ALLOW_THREADS
        every = every_hex(&array, allowed, allowed_count, &bad);
        Py_END_ALLOW_THREADS
        if (!every) {
            break;
        }
    }
    close_column(&column);
    if (next < 0) {
        return NULL;
    }
    if (bad >= 0) {
        return bad_view(bad);
    }
    return PyBool_FromLong(every);
}

/* -- bytes in a range ----------------------------------------------------------------- */

/* Bytes of a word in [low, low + span], as the top bit of each byte: exact for low and
 * low + span under 0x80 (the rules' bytes are ASCII), with no carry between bytes. */
static inline uint64_t bytes_in_range(uint64_t word, uint64_t below_low, uint64_t above_high) {
    const uint64_t high_bits = 0x8080808080808080ULL, low_bits = 0x7F7F7F7F7F7F7F7FULL;
    uint64_t seven = word & low_bits, top = word & high_bits;
    uint64_t at_least_low = (seven + below_low) | top;
    uint64_t over_high = (seven + above_high) | top;
    return at_least_low & ~over_high & high_bits;
}

/* The text bytes of a short value's view (4 to 15) that its length covers, as masks of the
 * view's two words; a long value's (its view holds a prefix only) are none. */
static inline void text_masks(uint32_t length, uint64_t *first, uint64_t *second) {
    uint64_t in_first = length < 4 ? length : 4;
    uint64_t in_second = length < 4 ? 0 : (length > INLINE_MAX ? 0 : length - 4);
    *first = length > INLINE_MAX ? 0 : (((1ULL << (8 * in_first)) - 1) << 32);
    *second = in_second == 8 ? ~0ULL : ((1ULL << (8 * in_second)) - 1);
}

/* 1 when a present short value has a byte in [low, high] (both under 0x80), else 2 when
 * there are present long values (their bytes are in the data buffers), else 0. */
MULTIVERSION static int short_between(const StringViews *array, uint8_t low, uint8_t high) {
    const uint8_t *views = view_at(array, 0);
    const uint64_t ones = 0x0101010101010101ULL;
    uint64_t below_low = (0x80 - (uint64_t)low) * ones, above_high = (0x7F - (uint64_t)high) * ones;
    uint64_t hit = 0, long_values = 0;
    for (Py_ssize_t i = 0; i < array->count; i++) {
        const uint8_t *view = views + i * VIEW_SIZE;
        uint32_t length = load32(view);
        uint64_t first, second;
        text_masks(length, &first, &second);
        uint64_t present = array->validity == NULL || is_present(array, i) ? ~0ULL : 0;
        hit |= bytes_in_range(load64(view), below_low, above_high) & first & present;
        hit |= bytes_in_range(load64(view + 8), below_low, above_high) & second & present;
        long_values |= (length > INLINE_MAX) & present;
    }
    return hit ? 1 : (long_values ? 2 : 0);
}

MULTIVERSION static int bytes_between(const uint8_t *bytes, int64_t size, uint8_t low,
                                      uint8_t span) {
    uint8_t hit = 0;
    for (int64_t i = 0; i < size; i++) {
        hit |= (uint8_t)((uint8_t)(bytes[i] - low) <= span);
    }
    return hit;
}

/* Whether a present value may hold a byte in [low, high]: "no" is exact. Short values are
 * looked at in their views; long ones through their data buffers, each scanned whole and
 * once (chunks share them; bytes past the values can only turn a "no" into a "yes"). */
static PyObject *may_contain(PyObject *self, PyObject *args) {
    PyObject *values;
    unsigned char low, high;
    if (!PyArg_ParseTuple(args, "Obb", &values, &low, &high)) {
        return NULL;
    }
    if (low > high || high > 0x7F) {
        PyErr_SetString(PyExc_ValueError, "low and high: ASCII bytes, low <= high");
        return NULL;
    }
    Column column;
    if (open_column(values, &column) < 0) {
        return NULL;
    }
    const void **seen = NULL;
    Py_ssize_t seen_count = 0, seen_room = 0;
    int found = 0, failed = 0;
    StringViews array;
    int next;
    while (!found && !failed && (next = next_chunk(&column, &array)) == 1) {
        int answer;
        Py_BEGIN_ALLOW_THREADS
        answer = short_between(&array, low, high);
        Py_END_ALLOW_THREADS
        found = answer == 1;
        for (int64_t b = 0; answer == 2 && !found && b < array.data_count; b++) {
            const void *buffer = array.data[b];
            int known = buffer == NULL;
            for (Py_ssize_t k = 0; k < seen_count && !known; k++) {
                known = seen[k] == buffer;
            }
            if (known) {
                continue;
            }
            if (seen_count == seen_room) {
                seen_room = seen_room ? seen_room * 2 : 64;
                const void **grown = PyMem_Realloc(seen, (size_t)seen_room * sizeof(*seen));
                if (grown == NULL) {
                    PyErr_NoMemory();
                    failed = 1;
                    break;
                }
                seen = grown;
            }
            seen[seen_count++] = buffer;
            int64_t size = array.data_sizes[b];
            Py_BEGIN_ALLOW_THREADS
            found = bytes_between(buffer, size, low, (uint8_t)(high - low));
            Py_END_ALLOW_THREADS
        }
    }
    close_column(&column);
    PyMem_Free(seen);
    if (failed || (!found && next < 0)) {
        return NULL;
    }
    return PyBool_FromLong(found);
}

/* -- CSV fields: empty values and ISO dates ------------------------------------------ */

MULTIVERSION static int has_empty(const StringViews *array) {
    const uint8_t *views = view_at(array, 0);
    uint32_t empty = 0;
    for (Py_ssize_t i = 0; i < array->count; i++) {
        uint32_t present = array->validity == NULL || is_present(array, i);
        empty |= (load32(views + i * VIEW_SIZE) == 0) & present;
    }
    return empty != 0;
}

static PyObject *any_empty(PyObject *self, PyObject *args) {
    PyObject *values;
    if (!PyArg_ParseTuple(args, "O", &values)) {
        return NULL;
    }
    Column column;
    if (open_column(values, &column) < 0) {
        return NULL;
    }
    int found = 0;
    StringViews array;
    int next;
    while (!found && (next = next_chunk(&column, &array)) == 1) {
        Py_BEGIN_ALLOW_THREADS
        found = has_empty(&array);
        Py_END_ALLOW_THREADS
    }
    close_column(&column);
    if (!found && next < 0) {
        return NULL;
    }
    return PyBool_FromLong(found);
}

/* Days from 1970-01-01 to a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static inline int32_t days_from_civil(int32_t year, uint32_t month, uint32_t day) {
    year -= month <= 2;
    int32_t era = year / 400;
    uint32_t year_of_era = (uint32_t)(year - era * 400);
    uint32_t day_of_year = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
    uint32_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    return era * 146097 + (int32_t)day_of_era - 719468;
}

static inline uint32_t decimal(uint8_t c) { return (uint32_t)(uint8_t)(c - '0'); }

/* 1 and the day number when p holds YYYY-MM-DD, a real date of the years 0001 to 9999;
 * every test at once, without a branch. */
static inline int iso_date(const uint8_t *p, int32_t *days) {
    uint32_t d0 = decimal(p[0]), d1 = decimal(p[1]), d2 = decimal(p[2]), d3 = decimal(p[3]);
    uint32_t d5 = decimal(p[5]), d6 = decimal(p[6]), d8 = decimal(p[8]), d9 = decimal(p[9]);
    uint32_t bad = (d0 > 9) | (d1 > 9) | (d2 > 9) | (d3 > 9) | (d5 > 9) | (d6 > 9) | (d8 > 9) |
                   (d9 > 9) | (p[4] != '-') | (p[7] != '-');
    uint32_t year = d0 * 1000 + d1 * 100 + d2 * 10 + d3;
    uint32_t month = d5 * 10 + d6, day = d8 * 10 + d9;
    static const uint8_t month_days[16] = {0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    uint32_t leap = ((year & 3) == 0) & (((year % 100) != 0) | ((year % 400) == 0));
    uint32_t longest = (uint32_t)month_days[month & 15] - ((month == 2) & !leap);
    bad |= (year == 0) | (month - 1 > 11) | (day - 1 >= longest);
    *days = days_from_civil((int32_t)year, month, day);
    return !bad;
}

#define DATE_CACHE_BITS 14 /* 256 KiB: a core's cache holds it */

/* The dates seen last, by their text: a column holds few distinct dates, and a hit costs
 * a fifth of a parse (measured). A text of 10 bytes is inline in its view, bytes 4 to 13.
 */
typedef struct {
    uint64_t head; /* bytes 4-11 of the view: YYYY-MM- */
    uint32_t tail; /* bytes 12-13: DD (the view's bytes 14-15 are not compared) */
    int32_t days;
} DateEntry;

/* A chunk's values as days into days[] and missing[] (1: missing or empty); returns the
 * first present, non-empty value that is not YYYY-MM-DD, or -1. */
static Py_ssize_t date_chunk(const StringViews *array, DateEntry *cache, int32_t *days,
                             uint8_t *missing) {
    for (Py_ssize_t i = 0; i < array->count; i++) {
        const uint8_t *view = view_at(array, i);
        uint32_t length = load32(view);
        int32_t number = 0;
        if (!is_present(array, i) || length == 0) {
            missing[i] = 1;
        } else if (length == 10) {
            uint64_t head = load64(view + 4);
            uint32_t tail = (uint32_t)view[12] | ((uint32_t)view[13] << 8);
            uint64_t slot = ((head ^ tail) * 0x9E3779B97F4A7C15ULL) >> (64 - DATE_CACHE_BITS);
            DateEntry *entry = &cache[slot];
            if (entry->head == head && entry->tail == tail) {
                number = entry->days;
            } else if (iso_date(view + 4, &number)) {
                entry->head = head;
                entry->tail = tail;
                entry->days = number;
            } else {
                return i;
            }
            missing[i] = 0;
        } else {
            return i;
        }
        days[i] = number;
    }
    return -1;
}

static PyObject *iso_dates(PyObject *self, PyObject *args) {
    PyObject *values, *days_object, *missing_object;
    if (!PyArg_ParseTuple(args, "OOO", &values, &days_object, &missing_object)) {
        return NULL;
    }
    Py_buffer days, missing;
    if (PyObject_GetBuffer(days_object, &days, PyBUF_WRITABLE) < 0) {
        return NULL;
    }
    if (PyObject_GetBuffer(missing_object, &missing, PyBUF_WRITABLE) < 0) {
        PyBuffer_Release(&days);
        return NULL;
    }
    Column column;
    if (open_column(values, &column) < 0) {
        PyBuffer_Release(&days);
        PyBuffer_Release(&missing);
        return NULL;
    }
    /* Zeroed: head 0 is no date's text, so every entry starts as a miss. */
    DateEntry *cache = PyMem_Calloc((size_t)1 << DATE_CACHE_BITS, sizeof(DateEntry));
    if (cache == NULL) {
        close_column(&column);
        PyBuffer_Release(&days);
        PyBuffer_Release(&missing);
        return PyErr_NoMemory();
    }
    Py_ssize_t start = 0, first_bad = -1;
    int full = 0;
    StringViews array;
    int next;
    while (first_bad < 0 && (next = next_chunk(&column, &array)) == 1) {
        if (days.len / 4 < start + array.count || missing.len < start + array.count) {
            full = 1;
            break;
        }
        Py_ssize_t bad;
        Py_BEGIN_ALLOW_THREADS
        bad = date_chunk(&array, cache, (int32_t *)days.buf + start,
                         (uint8_t *)missing.buf + start);
        Py_END_ALLOW_THREADS
        first_bad = bad < 0 ? -1 : start + bad;
        start += array.count;
    }
    PyMem_Free(cache);
    close_column(&column);
    PyBuffer_Release(&days);
    PyBuffer_Release(&missing);
    if (full) {
        PyErr_SetString(PyExc_ValueError, "days and missing: room for every value needed");
        return NULL;
    }
    if (first_bad < 0 && next < 0) {
        return NULL;
    }
    return PyLong_FromSsize_t(first_bad);
}

/* -- codes: each value's place in a short list ------------------------------------------- */

#define MAX_CODES 250
#define CODE_MISSING 254
#define CODE_OTHER 255

typedef struct {
    uint64_t low, high;           /* the value's own view, as two words */
    uint64_t low_mask, high_mask; /* the bytes of a view that a short value decides */
    const uint8_t *bytes;
    uint32_t length;
} Wanted;

#define CODE_BLOCK 512

/* The common case (class names, regions, plans: every wanted value fits in a view): per
 * block of rows, one pass per wanted value over the views as four 32-bit words, which the
 * compiler vectorises; a later (lower) index overwrites, so the first equal value wins. */
MULTIVERSION static void code_short_values(const StringViews *array, const Wanted *wanted,
                                           Py_ssize_t wanted_count, uint8_t *found) {
    const uint8_t *views = view_at(array, 0);
    for (Py_ssize_t start = 0; start < array->count; start += CODE_BLOCK) {
        Py_ssize_t end = start + CODE_BLOCK < array->count ? start + CODE_BLOCK : array->count;
        for (Py_ssize_t i = start; i < end; i++) {
            found[i] = CODE_OTHER;
        }
        for (Py_ssize_t j = wanted_count - 1; j >= 0; j--) {
            const Wanted *w = &wanted[j];
            uint32_t w0 = (uint32_t)w->low, w1 = (uint32_t)(w->low >> 32);
            uint32_t w2 = (uint32_t)w->high, w3 = (uint32_t)(w->high >> 32);
            uint32_t m1 = (uint32_t)(w->low_mask >> 32), m2 = (uint32_t)w->high_mask;
            uint32_t m3 = (uint32_t)(w->high_mask >> 32);
            for (Py_ssize_t i = start; i < end; i++) {
                const uint8_t *v = views + i * VIEW_SIZE;
                uint32_t diff = (load32(v) ^ w0) | ((load32(v + 4) & m1) ^ w1) |
                                ((load32(v + 8) & m2) ^ w2) | ((load32(v + 12) & m3) ^ w3);
                found[i] = diff == 0 ? (uint8_t)j : found[i];
            }
        }
    }
}

/* Any wanted value: a long one is compared by its length and prefix in the view, then by
 * its bytes. Returns the first value whose view points outside its buffer, or -1. */
static Py_ssize_t code_values(const StringViews *array, const Wanted *wanted,
                              Py_ssize_t wanted_count, uint8_t *found) {
    const uint8_t *views = view_at(array, 0);
    for (Py_ssize_t i = 0; i < array->count; i++) {
        uint64_t low = load64(views + i * VIEW_SIZE);
        uint64_t high = load64(views + i * VIEW_SIZE + 8);
        uint8_t code = CODE_OTHER;
        for (Py_ssize_t j = wanted_count - 1; j >= 0; j--) {
            const Wanted *w = &wanted[j];
            int same = ((low & w->low_mask) == w->low) & ((high & w->high_mask) == w->high);
            if (same && w->length > INLINE_MAX && is_present(array, i)) {
                uint32_t length;
                const uint8_t *bytes = value_bytes(array, i, &length);
                if (bytes == NULL) {
                    return i;
                }
                same = memcmp(bytes, w->bytes, length) == 0;
            }
            code = same ? (uint8_t)j : code;
        }
        found[i] = code;
    }
    return -1;
}

/* For each value, the index of the first equal one in ``wanted`` (a sequence of bytes),
 * CODE_OTHER where none is equal, CODE_MISSING where the value is missing. A value of up
 * to 12 bytes is compared as its masked view: four words, no branch. */
static PyObject *codes(PyObject *self, PyObject *args) {
    PyObject *values, *wanted_object, *out_object;
    if (!PyArg_ParseTuple(args, "OOO", &values, &wanted_object, &out_object)) {
        return NULL;
    }
    PyObject *wanted_values = PySequence_Fast(wanted_object, "wanted: a sequence of bytes");
    if (wanted_values == NULL) {
        return NULL;
    }
    Py_ssize_t wanted_count = PySequence_Fast_GET_SIZE(wanted_values);
    if (wanted_count > MAX_CODES) {
        Py_DECREF(wanted_values);
        PyErr_SetString(PyExc_ValueError, "wanted: at most 250");
        return NULL;
    }
    Wanted wanted[MAX_CODES];
    int all_short = 1;
    for (Py_ssize_t j = 0; j < wanted_count; j++) {
        PyObject *item = PySequence_Fast_GET_ITEM(wanted_values, j);
        if (!PyBytes_Check(item) || PyBytes_GET_SIZE(item) > UINT32_MAX) {
            Py_DECREF(wanted_values);
            PyErr_SetString(PyExc_TypeError, "wanted: bytes, each under 4 GiB");
            return NULL;
        }
        Wanted *w = &wanted[j];
        w->bytes = (const uint8_t *)PyBytes_AS_STRING(item);
        w->length = (uint32_t)PyBytes_GET_SIZE(item);
        uint8_t view[VIEW_SIZE] = {0}, mask[VIEW_SIZE] = {0};
        memcpy(view, &w->length, 4);
        memset(mask, 0xFF, 4);
        uint32_t shown = w->length <= INLINE_MAX ? w->length : 4; /* a long value: its prefix */
        memcpy(view + 4, w->bytes, shown);
        memset(mask + 4, 0xFF, shown);
        w->low = load64(view);
        w->high = load64(view + 8);
        w->low_mask = load64(mask);
        w->high_mask = load64(mask + 8);
        all_short &= w->length <= INLINE_MAX;
    }
    Py_buffer out;
    if (PyObject_GetBuffer(out_object, &out, PyBUF_WRITABLE) < 0) {
        Py_DECREF(wanted_values);
        return NULL;
    }
    Column column;
    if (open_column(values, &column) < 0) {
        PyBuffer_Release(&out);
        Py_DECREF(wanted_values);
        return NULL;
    }
    Py_ssize_t start = 0, bad = -1;
    int full = 0;
    StringViews array;
    int next;
    while (bad < 0 && (next = next_chunk(&column, &array)) == 1) {
        if (out.len < start + array.count) {
            full = 1;
            break;
        }
        uint8_t *found = (uint8_t *)out.buf + start;
        Py_BEGIN_ALLOW_THREADS
        if (all_short) {
            code_short_values(&array, wanted, wanted_count, found);
        } else {
            bad = code_values(&array, wanted, wanted_count, found);
        }
        /* A missing value's view is undefined: whatever its code came out as, it is missing. */
        if (array.validity != NULL) {
            for (Py_ssize_t i = 0; i < array.count; i++) {
                found[i] = is_present(&array, i) ? found[i] : CODE_MISSING;
            }
        }
        Py_END_ALLOW_THREADS
        start += array.count;
    }
    close_column(&column);
    PyBuffer_Release(&out);
    Py_DECREF(wanted_values);
    if (full) {
        PyErr_SetString(PyExc_ValueError, "out: a byte a value needed");
        return NULL;
    }
    if (bad >= 0) {
        return bad_view(bad);
    }
    if (next < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
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
     "hash_views(values, out, seed): the hash of every present value into out; how many."},
    {"hex_digests", hex_digests, METH_VARARGS,
     "hex_digests(values, lengths): whether every present value is hex digits of a length."},
    {"may_contain", may_contain, METH_VARARGS,
     "may_contain(values, low, high): False only when no value has a byte in the range."},
    {"any_empty", any_empty, METH_VARARGS,
     "any_empty(values): whether a present value is the empty text."},
    {"iso_dates", iso_dates, METH_VARARGS,
     "iso_dates(values, days, missing): YYYY-MM-DD values as days; the first other, or -1."},
    {"codes", codes, METH_VARARGS,
     "codes(values, wanted, out): each value's index in wanted; 255 none, 254 missing."},
    {"partition", partition, METH_VARARGS,
     "partition(hashes, bits, out, bounds): hashes into out by their top bits."},
    {"repeats", repeats, METH_VARARGS,
     "repeats(hashes, limit): (values that repeat an earlier one, repeated hashes)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "mlops_ci.data._kernels",
    "The ingest checks' inner loops over text columns, in C.", -1, methods, NULL, NULL, NULL,
    NULL,
};

PyMODINIT_FUNC PyInit__kernels(void) { return PyModule_Create(&module); }
