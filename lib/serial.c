/* Model files and trainer checkpoints (docs/file-format.md).
 *
 * A file is a 20-byte header (magic, format version, file kind, CRC-32 of those) and a
 * sequence of chunks, each a 16-byte head (type, flags, payload length), the payload
 * and a CRC-32 of head and payload, ending with an empty END chunk. Every field is
 * little-endian and fixed-width. Readers check every CRC and every length before
 * looking at a payload, skip chunk types they do not know unless the writer marked
 * them critical, and refuse sizes the bytes present cannot back.
 *
 * Loading is all or nothing: the whole input is framed and validated, everything the
 * commit needs is allocated, and only then is anything written into the caller's
 * objects (a step that cannot fail). Saving to a path is atomic: a temporary file
 * beside the target, written, flushed, fsync'ed, closed and renamed over it. */
#define _POSIX_C_SOURCE 200809L

#include "alloc_impl.h"
#include "bytes_impl.h"
#include "error_impl.h"
#include "layer_impl.h"
#include "net_impl.h"
#include "optim_impl.h"
#include "rng_impl.h"
#include "trainer_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

/* ------------------------------------------------------------------ format */

static const uint8_t MAGIC[8] = {0x89, 'G', 'A', 'N', '\r', '\n', 0x1a, '\n'};

enum {
    FORMAT_VERSION = 2, /* written; version 1 files are read too */
    HEADER_SIZE = 20, /* magic, version, kind, CRC */
    CHUNK_HEAD = 16,  /* type, flags, length */
    CHUNK_CRC = 4,
    FLAG_CRITICAL = 1, /* a reader that does not know the type must refuse the file */
    KIND_NET = 1,
    KIND_TRAINER = 2,
    ROLE_NET = 0, /* the net of a net file */
    ROLE_G = 1,
    ROLE_D = 2,
    NET_HEAD_V1 = 16, /* role, layers, in_dim u64 */
    LAYER_V1 = 40,    /* kind u32 and 36 bytes the kind decodes */
    NET_HEAD = 32,    /* role, layers, input shape c, h, w u64 */
    LAYER_HEAD = 8,   /* kind u32, length u32, then the kind's encoding */
    PARM_HEAD = 16,
    OPTM_HEAD = 48,
    TRNR_SIZE = 64,
    RNG_STREAM = 24,
    RNG_SIZE = 8 + 4 * RNG_STREAM,
    EMA_HEAD = 8,
    MAX_LAYERS = 1 << 16, /* far beyond any real net; refuses absurd counts early */
    /* Values of the file's fields, pinned by the format (not the library's enums). */
    FILE_OPTIM_SGD = 1,
    FILE_OPTIM_ADAM = 2,
    FILE_NOISE_CUSTOM = 0,
    FILE_NOISE_UNIFORM = 1,
    FILE_NOISE_NORMAL = 2
};

#define FOURCC(a, b, c, d) ((uint32_t)(a) | (uint32_t)(b) << 8 | (uint32_t)(c) << 16 | (uint32_t)(d) << 24)
#define CH_NET FOURCC('N', 'E', 'T', ' ')
#define CH_PARM FOURCC('P', 'A', 'R', 'M')
#define CH_STAT FOURCC('S', 'T', 'A', 'T')
#define CH_OPTM FOURCC('O', 'P', 'T', 'M')
#define CH_TRNR FOURCC('T', 'R', 'N', 'R')
#define CH_RNG FOURCC('R', 'N', 'G', ' ')
#define CH_EMA FOURCC('E', 'M', 'A', ' ')
#define CH_END FOURCC('E', 'N', 'D', ' ')


static const char *const ROLE_NAMES[3] = {"net", "G", "D"};

/* zlib's crc32 takes uInt lengths: feed it at most 1 GiB at a time. */
static uint32_t crc_update(uint32_t crc, const uint8_t *p, size_t n)
{
    while (n) {
        uInt k = n > (1u << 30) ? (1u << 30) : (uInt)n;
        crc = (uint32_t)crc32(crc, p, k);
        p += k;
        n -= k;
    }
    return crc;
}

/* libFuzzer cannot forge CRCs; fuzzing builds (tests/fuzz/run_fuzzer.sh) skip the
 * comparison so the fuzzer reaches the payload parsers. Never defined otherwise. */
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
#define CRC_MISMATCH(computed, stored) ((void)(computed), (void)(stored), 0)
#else
#define CRC_MISMATCH(computed, stored) ((computed) != (stored))
#endif

#define get_u32 gan__get_u32
#define get_u64 gan__get_u64
#define get_f32 gan__get_f32
#define put_u32 gan__put_u32
#define f32_bits gan__f32_bits

static void get_floats(float *dst, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) dst[i] = get_f32(p + 4 * i);
}

/* A chunk type for messages: its four characters when printable. */
static void type_name(char out[12], uint32_t type)
{
    int printable = 1;
    for (int i = 0; i < 4; i++) {
        unsigned ch = (type >> (8 * i)) & 0xFF;
        if (ch < 0x20 || ch > 0x7E || ch == '\'') printable = 0;
    }
    if (printable)
        snprintf(out, 12, "'%c%c%c%c'", (char)(type & 0xFF), (char)((type >> 8) & 0xFF), (char)((type >> 16) & 0xFF),
                 (char)(type >> 24));
    else
        snprintf(out, 12, "0x%08lx", (unsigned long)type);
}

/* ---------------------------------------------------------------- messages */

typedef struct {
    const char *fn;   /* public function */
    const char *path; /* file, or NULL for memory */
} ctx;

static int perr(const ctx *c, int code, const char *fmt, ...) GAN_PRINTF(3, 4);
static int perr(const ctx *c, int code, const char *fmt, ...)
{
    char detail[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap); /* may read gan_error_last(): copy first */
    va_end(ap);
    if (c->path) return gan__fail(code, "%s: '%s': %s", c->fn, c->path, detail);
    return gan__fail(code, "%s: %s", c->fn, detail);
}

/* A field a validator refused: GAN_EFORMAT, the validator's message after `what`. */
static int invalid_field(const ctx *c, const char *what, ...) GAN_PRINTF(2, 3);
static int invalid_field(const ctx *c, const char *what, ...)
{
    char head[128];
    gan__saved_error inner;
    gan__error_save(&inner);
    va_list ap;
    va_start(ap, what);
    vsnprintf(head, sizeof head, what, ap);
    va_end(ap);
    return perr(c, GAN_EFORMAT, "%s: %s", head, inner.message);
}

/* ------------------------------------------------------------------ writer */

/* Bytes go to memory (sized beforehand) or, through a small stage, to a file. */
typedef struct {
    uint8_t *mem;
    int fd;
    size_t pos;          /* bytes emitted */
    uint32_t crc;        /* of the current chunk (or header) so far */
    size_t chunk_end;    /* where the current chunk's payload must end */
    int err;             /* errno of a failed write, or 0 */
    int bug;             /* a payload did not match its announced length */
    size_t staged;
    uint8_t stage[4096];
} writer;

static void w_flush(writer *w)
{
    size_t off = 0;
    while (off < w->staged && !w->err) {
        ssize_t k = write(w->fd, w->stage + off, w->staged - off);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) {
            w->err = k < 0 ? errno : EIO;
            break;
        }
        off += (size_t)k;
    }
    w->staged = 0;
}

static void w_bytes(writer *w, const void *p, size_t n)
{
    const uint8_t *s = p;
    w->crc = crc_update(w->crc, s, n);
    if (w->mem) {
        memcpy(w->mem + w->pos, s, n);
        w->pos += n;
        return;
    }
    w->pos += n;
    while (n && !w->err) {
        size_t k = sizeof w->stage - w->staged;
        if (k > n) k = n;
        memcpy(w->stage + w->staged, s, k);
        w->staged += k;
        s += k;
        n -= k;
        if (w->staged == sizeof w->stage) w_flush(w);
    }
}

static void w_u32(writer *w, uint32_t v)
{
    uint8_t b[4];
    put_u32(b, v);
    w_bytes(w, b, 4);
}

static void w_u64(writer *w, uint64_t v)
{
    w_u32(w, (uint32_t)v);
    w_u32(w, (uint32_t)(v >> 32));
}

static void w_f32(writer *w, float f) { w_u32(w, f32_bits(f)); }

static void w_floats(writer *w, const float *x, size_t n)
{
    uint8_t b[1024];
    while (n) {
        size_t k = n < sizeof b / 4 ? n : sizeof b / 4;
        for (size_t i = 0; i < k; i++) put_u32(b + 4 * i, f32_bits(x[i]));
        w_bytes(w, b, 4 * k);
        x += k;
        n -= k;
    }
}

static void w_header(writer *w, uint32_t kind)
{
    w->crc = 0;
    w_bytes(w, MAGIC, sizeof MAGIC);
    w_u32(w, FORMAT_VERSION);
    w_u32(w, kind);
    w_u32(w, w->crc);
}

static void w_chunk_begin(writer *w, uint32_t type, size_t len)
{
    w->crc = 0;
    w_u32(w, type);
    w_u32(w, FLAG_CRITICAL);
    w_u64(w, len);
    w->chunk_end = w->pos + len;
}

static void w_chunk_end(writer *w)
{
    if (w->pos != w->chunk_end) w->bug = 1;
    w_u32(w, w->crc);
}

/* Payload sizes, shared by the size computation and the writers. */
static size_t net_payload(const gan_net *n)
{
    size_t len = NET_HEAD;
    uint32_t kind;
    for (size_t i = 0; i < n->n_layers; i++) len += LAYER_HEAD + gan__layer_encode(n->layers[i], NULL, &kind);
    return len;
}
#define CHUNK(payload) (CHUNK_HEAD + (payload) + CHUNK_CRC)
/* PARM and STAT: role, reserved, count, the floats. */
static size_t values_payload(size_t count) { return PARM_HEAD + 4 * count; }
/* A net's NET, PARM and (when it has state) STAT chunks. */
static size_t net_chunks(const gan_net *n)
{
    return CHUNK(net_payload(n)) + CHUNK(values_payload(n->n_params)) +
           (n->n_state ? CHUNK(values_payload(n->n_state)) : 0);
}
static size_t optm_payload(const gan_optim *o) { return OPTM_HEAD + 4 * o->n * gan__optim_slots(o); }

static void w_values(writer *w, uint32_t type, uint32_t role, const float *x, size_t count)
{
    w_chunk_begin(w, type, values_payload(count));
    w_u32(w, role);
    w_u32(w, 0);
    w_u64(w, count);
    w_floats(w, x, count);
    w_chunk_end(w);
}

static void w_net(writer *w, const gan_net *n, uint32_t role)
{
    w_chunk_begin(w, CH_NET, net_payload(n));
    w_u32(w, role);
    w_u32(w, (uint32_t)n->n_layers);
    w_u64(w, n->in.c);
    w_u64(w, n->in.h);
    w_u64(w, n->in.w);
    for (size_t i = 0; i < n->n_layers; i++) {
        const gan_layer *l = n->layers[i];
        uint8_t enc[GAN__ENCODING_CAP];
        uint32_t kind;
        size_t len = gan__layer_encode(l, enc, &kind);
        w_u32(w, kind);
        w_u32(w, (uint32_t)len);
        w_bytes(w, enc, len);
    }
    w_chunk_end(w);
    w_values(w, CH_PARM, role, n->params, n->n_params);
    if (n->n_state) w_values(w, CH_STAT, role, n->state, n->n_state);
}

static void w_optim(writer *w, const gan_optim *o, uint32_t role)
{
    int adam = o->kind == GAN_OPTIM_ADAM;
    w_chunk_begin(w, CH_OPTM, optm_payload(o));
    w_u32(w, role);
    w_u32(w, adam ? FILE_OPTIM_ADAM : FILE_OPTIM_SGD);
    w_u32(w, adam ? 0 : (uint32_t)(o->nesterov != 0));
    w_u32(w, 0);
    w_f32(w, o->lr);
    w_f32(w, o->momentum);
    w_f32(w, adam ? o->beta2 : 0.0f);
    w_f32(w, adam ? o->eps : 0.0f);
    w_u64(w, o->steps);
    w_u64(w, o->n);
    if (o->n) w_floats(w, o->state, o->n * gan__optim_slots(o));
    w_chunk_end(w);
}

static void w_end(writer *w)
{
    w_chunk_begin(w, CH_END, 0);
    w_chunk_end(w);
}

/* -------------------------------------------------------- what gets saved */

/* A net file: header, NET, PARM, END. */
static size_t net_file_size(const gan_net *n)
{
    return HEADER_SIZE + net_chunks(n) + CHUNK(0);
}

static void emit_net_file(writer *w, const void *obj)
{
    const gan_net *n = obj;
    w_header(w, KIND_NET);
    w_net(w, n, ROLE_NET);
    w_end(w);
}

static size_t trainer_file_size(const gan_trainer *t)
{
    size_t s = HEADER_SIZE;
    s += net_chunks(t->g) + CHUNK(optm_payload(t->opt_g));
    s += net_chunks(t->d) + CHUNK(optm_payload(t->opt_d));
    s += CHUNK(TRNR_SIZE) + CHUNK(RNG_SIZE);
    if (t->ema) s += CHUNK(EMA_HEAD + 4 * t->g->n_params);
    return s + CHUNK(0);
}

static void emit_trainer_file(writer *w, const void *obj)
{
    const gan_trainer *t = obj;
    w_header(w, KIND_TRAINER);
    w_net(w, t->g, ROLE_G);
    w_optim(w, t->opt_g, ROLE_G);
    w_net(w, t->d, ROLE_D);
    w_optim(w, t->opt_d, ROLE_D);

    w_chunk_begin(w, CH_TRNR, TRNR_SIZE);
    w_u64(w, t->batch);
    w_u64(w, t->cond_dim);
    w_u64(w, t->steps);
    w_u32(w, t->d_steps);
    w_u32(w, t->g_steps);
    w_u32(w, (uint32_t)t->update);
    w_u32(w, (uint32_t)t->loss);
    w_f32(w, t->real_target);
    w_f32(w, t->clip);
    w_f32(w, t->ema ? t->ema_decay : 0.0f);
    w_u32(w, t->noise_kind == NOISE_UNIFORM  ? FILE_NOISE_UNIFORM
             : t->noise_kind == NOISE_NORMAL ? FILE_NOISE_NORMAL
                                             : FILE_NOISE_CUSTOM);
    w_f32(w, t->noise_scale);
    w_u32(w, (uint32_t)t->generate_stats);
    w_chunk_end(w);

    w_chunk_begin(w, CH_RNG, RNG_SIZE);
    w_u32(w, 4);
    w_u32(w, 0);
    for (int i = 0; i < 4; i++) {
        const gan_rng *r = t->rng[i];
        w_u64(w, r->state);
        w_u64(w, r->inc);
        w_u32(w, (uint32_t)(r->has_spare != 0));
        w_f32(w, r->spare);
    }
    w_chunk_end(w);

    if (t->ema) {
        w_chunk_begin(w, CH_EMA, EMA_HEAD + 4 * t->g->n_params);
        w_u64(w, t->g->n_params);
        w_floats(w, gan__trainer_ema(t), t->g->n_params);
        w_chunk_end(w);
    }
    w_end(w);
}

/* A trainer whose optimizer state is sized for another net cannot be restored
 * faithfully; refuse it rather than write a file no reader accepts. */
static int nets_unchanged(const ctx *c, const gan_trainer *t)
{
    if (!gan__trainer_check_nets(t)) return GAN_OK;
    gan__saved_error inner;
    gan__error_save(&inner);
    return perr(c, GAN_ESTATE, "%s", inner.message);
}

static int trainer_savable(const ctx *c, const gan_trainer *t)
{
    int rc = nets_unchanged(c, t);
    if (rc) return rc;
    const gan_optim *opts[2] = {t->opt_g, t->opt_d};
    const gan_net *nets[2] = {t->g, t->d};
    for (int i = 0; i < 2; i++)
        if (opts[i]->n && opts[i]->n != nets[i]->n_params)
            return perr(c, GAN_ESTATE, "%s's optimizer holds state for %zu parameters but %s has %zu",
                        ROLE_NAMES[i + 1], opts[i]->n, ROLE_NAMES[i + 1], nets[i]->n_params);
    return GAN_OK;
}

typedef void (*emit_fn)(writer *w, const void *obj);

static int save_mem(const ctx *c, emit_fn emit, size_t need, const void *obj, void *buf, size_t cap, size_t *size)
{
    *size = need;
    if (!buf) return GAN_OK;
    if (cap < need) return perr(c, GAN_EINVAL, "the buffer holds %zu bytes, %zu are needed", cap, need);
    writer w;
    w.mem = buf;
    w.fd = -1;
    w.pos = w.staged = w.chunk_end = 0;
    w.crc = 0;
    w.err = w.bug = 0;
    emit(&w, obj);
    if (w.bug || w.pos != need) return perr(c, GAN_ESTATE, "internal error: the file's size changed while writing");
    return GAN_OK;
}

/* Six characters for a temporary name, from whatever differs between calls. */
static void temp_suffix(char *dst, unsigned attempt)
{
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    struct timespec ts = {0, 0};
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t x = (uint64_t)ts.tv_nsec ^ (uint64_t)ts.tv_sec << 30 ^ (uint64_t)getpid() << 20 ^
                 (uint64_t)(uintptr_t)&ts ^ (uint64_t)attempt * 0x9E3779B97F4A7C15ULL;
    x += 0x9E3779B97F4A7C15ULL; /* splitmix64 finaliser */
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    x ^= x >> 31;
    for (int i = 0; i < 6; i++, x /= 36) dst[i] = alphabet[x % 36];
    dst[6] = '\0';
}

/* Make the rename itself durable; best effort (some file systems refuse). */
static void sync_dir(char *tmp_path)
{
    char *slash = strrchr(tmp_path, '/');
    const char *dir = ".";
    if (slash == tmp_path) dir = "/";
    else if (slash) {
        *slash = '\0';
        dir = tmp_path;
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

static int save_path(const ctx *c, emit_fn emit, size_t need, const void *obj, const char *path)
{
    static const char infix[] = ".tmp.";
    size_t len = strlen(path);
    if (len == 0) return perr(c, GAN_EINVAL, "the path is empty");
    if (len > SIZE_MAX - sizeof infix - 7) return perr(c, GAN_EINVAL, "the path is too long");
    char *tmp = gan__malloc(len + sizeof infix + 6);
    if (!tmp) return perr(c, GAN_ENOMEM, "out of memory");
    memcpy(tmp, path, len);
    memcpy(tmp + len, infix, sizeof infix - 1);
    int fd = -1;
    for (unsigned attempt = 0; fd < 0 && attempt < 100; attempt++) {
        temp_suffix(tmp + len + sizeof infix - 1, attempt);
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0 && errno != EEXIST && errno != EINTR) break;
    }
    if (fd < 0) {
        int e = errno;
        gan__free(tmp);
        return perr(c, GAN_EIO, "cannot create a temporary file beside it: %s", strerror(e));
    }
    writer *w = gan__malloc(sizeof *w);
    if (!w) {
        close(fd);
        unlink(tmp);
        gan__free(tmp);
        return perr(c, GAN_ENOMEM, "out of memory");
    }
    w->mem = NULL;
    w->fd = fd;
    w->pos = w->staged = w->chunk_end = 0;
    w->crc = 0;
    w->err = w->bug = 0;
    emit(w, obj);
    w_flush(w);
    const char *what = "writing";
    int e = w->err;
    if (!e && (w->bug || w->pos != need)) {
        what = "internal error while writing";
        e = EIO;
    }
    gan__free(w);
    if (!e && fsync(fd) != 0) {
        what = "fsync";
        e = errno;
    }
    if (close(fd) != 0 && !e) {
        what = "closing";
        e = errno;
    }
    if (!e && rename(tmp, path) != 0) {
        what = "renaming the temporary file over it";
        e = errno;
    }
    if (e) {
        unlink(tmp);
        gan__free(tmp);
        return perr(c, GAN_EIO, "%s failed: %s; the old file, if any, is unchanged", what, strerror(e));
    }
    sync_dir(tmp);
    gan__free(tmp);
    return GAN_OK;
}

/* ------------------------------------------------------------------- reader */

typedef struct {
    const uint8_t *p; /* payload, NULL when the chunk is absent */
    size_t len;       /* payload bytes */
    size_t off;       /* file offset of the chunk, for messages */
} span;

typedef struct {
    unsigned version; /* the file's format version */
    span net[3], parm[3], stat[3], optm[3], trnr, rng, ema;
} chunks;

static const char *kind_name(uint32_t kind)
{
    return kind == KIND_NET ? "a net file" : kind == KIND_TRAINER ? "a trainer checkpoint" : "an unknown kind of file";
}

/* Check the header and every chunk's framing and CRC; record the known chunks. */
static int frame(const ctx *c, const uint8_t *b, size_t size, uint32_t want_kind, chunks *out)
{
    memset(out, 0, sizeof *out);
    if (size < sizeof MAGIC) {
        if (memcmp(b, MAGIC, size) == 0) return perr(c, GAN_EFORMAT, "truncated: %zu bytes, not even a header", size);
        return perr(c, GAN_EFORMAT, "not a libgan file (bad magic)");
    }
    if (memcmp(b, MAGIC, sizeof MAGIC) != 0) return perr(c, GAN_EFORMAT, "not a libgan file (bad magic)");
    if (size < HEADER_SIZE) return perr(c, GAN_EFORMAT, "truncated: %zu bytes, not even a header", size);
    if (CRC_MISMATCH(crc_update(0, b, 16), get_u32(b + 16)))
        return perr(c, GAN_EFORMAT, "the header is damaged (CRC mismatch)");
    uint32_t version = get_u32(b + 8), kind = get_u32(b + 12);
    if (version == 0) return perr(c, GAN_EFORMAT, "format version 0 is invalid");
    if (version > FORMAT_VERSION)
        return perr(c, GAN_EVERSION, "format version %lu is newer than this library reads (%d)",
                    (unsigned long)version, FORMAT_VERSION);
    if (kind != want_kind)
        return perr(c, GAN_EFORMAT, "this is %s (kind %lu), not %s", kind_name(kind), (unsigned long)kind,
                    kind_name(want_kind));
    out->version = version;

    size_t pos = HEADER_SIZE;
    for (;;) {
        char tn[12];
        if (size - pos < CHUNK_HEAD + CHUNK_CRC)
            return perr(c, GAN_EFORMAT, "truncated at byte %zu: %s", pos,
                        pos == size ? "no END chunk" : "a chunk is cut off");
        uint32_t type = get_u32(b + pos), flags = get_u32(b + pos + 4);
        uint64_t len64 = get_u64(b + pos + 8);
        type_name(tn, type);
        size_t room = size - pos - CHUNK_HEAD - CHUNK_CRC;
        if (len64 > room)
            return perr(c, GAN_EFORMAT, "chunk %s at byte %zu announces %llu bytes but %zu remain (truncated)", tn,
                        pos, (unsigned long long)len64, room);
        size_t len = (size_t)len64;
        const uint8_t *payload = b + pos + CHUNK_HEAD;
        if (CRC_MISMATCH(crc_update(0, b + pos, CHUNK_HEAD + len), get_u32(payload + len)))
            return perr(c, GAN_EFORMAT, "chunk %s at byte %zu is damaged (CRC mismatch)", tn, pos);
        if (flags & ~(uint32_t)FLAG_CRITICAL)
            return perr(c, GAN_EVERSION, "chunk %s at byte %zu has flags 0x%lx, unknown to this version", tn, pos,
                        (unsigned long)flags);
        span s = {payload, len, pos};
        pos += CHUNK_HEAD + len + CHUNK_CRC;
        if (type == CH_END) {
            if (len != 0) return perr(c, GAN_EFORMAT, "the END chunk at byte %zu is not empty", s.off);
            if (pos != size)
                return perr(c, GAN_EFORMAT, "%zu bytes follow the END chunk at byte %zu", size - pos, s.off);
            return GAN_OK;
        }
        span *slot = NULL;
        int trainer = want_kind == KIND_TRAINER;
        if (type == CH_NET || type == CH_PARM || type == CH_STAT || type == CH_OPTM) {
            if (len < 4) return perr(c, GAN_EFORMAT, "chunk %s at byte %zu is %zu bytes, too short", tn, s.off, len);
            uint32_t role = get_u32(payload);
            if (trainer ? role != ROLE_G && role != ROLE_D : role != ROLE_NET)
                return perr(c, GAN_EFORMAT, "chunk %s at byte %zu is for role %lu, which %s does not have", tn,
                            s.off, (unsigned long)role, kind_name(want_kind));
            if (type == CH_OPTM && !trainer)
                return perr(c, GAN_EFORMAT, "chunk %s at byte %zu does not belong in a net file", tn, s.off);
            slot = type == CH_NET    ? &out->net[role]
                   : type == CH_PARM ? &out->parm[role]
                   : type == CH_STAT ? &out->stat[role]
                                     : &out->optm[role];
        } else if (type == CH_TRNR || type == CH_RNG || type == CH_EMA) {
            if (!trainer) return perr(c, GAN_EFORMAT, "chunk %s at byte %zu does not belong in a net file", tn, s.off);
            slot = type == CH_TRNR ? &out->trnr : type == CH_RNG ? &out->rng : &out->ema;
        } else if (flags & FLAG_CRITICAL) {
            return perr(c, GAN_EVERSION, "chunk %s at byte %zu is marked critical but unknown to this version", tn,
                        s.off);
        } else {
            continue; /* an optional chunk of a later version: skipped */
        }
        if (slot->p) return perr(c, GAN_EFORMAT, "chunk %s at byte %zu repeats the one at byte %zu", tn, s.off,
                                 slot->off);
        *slot = s;
    }
}

/* A NET chunk decoded into layers, each built by its kind's own checks and placed on
 * the shape before it, as gan_net_add would; nothing of the net is allocated until the
 * PARM chunk's length backs its parameter count. */
typedef struct {
    gan_shape in;
    size_t n_layers, n_params, n_state;
    gan_layer **layers;
} netspec;

static void netspec_free(netspec *ns)
{
    for (size_t i = 0; ns->layers && i < ns->n_layers; i++) gan_layer_free(ns->layers[i]);
    gan__free(ns->layers);
    ns->layers = NULL;
}

/* The NET chunk's head: layer count and input shape (version 1: a width). */
static int read_net_head(const ctx *c, const char *who, const span *net, unsigned version, netspec *ns,
                         size_t *pos)
{
    size_t head = version == 1 ? NET_HEAD_V1 : NET_HEAD;
    if (net->len < head) return perr(c, GAN_EFORMAT, "%s's NET chunk is %zu bytes, too short", who, net->len);
    uint32_t n_layers = get_u32(net->p + 4);
    uint64_t ch = get_u64(net->p + 8), h = version == 1 ? 1 : get_u64(net->p + 16),
             w = version == 1 ? 1 : get_u64(net->p + 24);
    if (n_layers > MAX_LAYERS)
        return perr(c, GAN_EFORMAT, "%s has %lu layers, more than the %d a file may hold", who,
                    (unsigned long)n_layers, MAX_LAYERS);
    if (gan__check_shape(ch, h, w)) return invalid_field(c, "%s's input shape", who);
    size_t min_record = version == 1 ? LAYER_V1 : LAYER_HEAD;
    if ((net->len - head) / min_record < n_layers)
        return perr(c, GAN_EFORMAT, "%s's NET chunk is %zu bytes, too short for %lu layers", who, net->len,
                    (unsigned long)n_layers);
    ns->in = (gan_shape){(size_t)ch, (size_t)h, (size_t)w};
    ns->n_layers = 0;
    *pos = head;
    return GAN_OK;
}

/* Decode and place layer i at *pos; its record's length is checked against the chunk. */
static int read_layer(const ctx *c, const char *who, const span *net, unsigned version, size_t i, gan_shape in,
                      size_t *pos, gan_layer **out)
{
    size_t left = net->len - *pos;
    uint32_t kind, len;
    const uint8_t *p = net->p + *pos;
    if (version == 1) {
        if (left < LAYER_V1) return perr(c, GAN_EFORMAT, "%s layer %zu: the record is cut off", who, i);
        kind = get_u32(p);
        len = LAYER_V1 - 4;
        p += 4;
    } else {
        if (left < LAYER_HEAD) return perr(c, GAN_EFORMAT, "%s layer %zu: the record is cut off", who, i);
        kind = get_u32(p);
        len = get_u32(p + 4);
        p += LAYER_HEAD;
        if (len > left - LAYER_HEAD || len > GAN__ENCODING_CAP)
            return perr(c, GAN_EFORMAT, "%s layer %zu announces %lu bytes of %zu left (at most %d)", who, i,
                        (unsigned long)len, left - LAYER_HEAD, GAN__ENCODING_CAP);
    }
    *pos = (size_t)(p - net->p) + len;
    int rc = gan__layer_decode(out, kind, p, len, version, gan__shape_size(in));
    if (!rc) rc = (*out)->ops->place(*out, in, i);
    if (rc) {
        gan_layer_free(*out);
        *out = NULL;
        if (rc == GAN_ENOMEM) return perr(c, GAN_ENOMEM, "out of memory");
        gan__saved_error inner;
        gan__error_save(&inner);
        return perr(c, rc == GAN_EVERSION ? GAN_EVERSION : GAN_EFORMAT, "%s layer %zu: %s", who, i, inner.message);
    }
    return GAN_OK;
}

static int check_values(const ctx *c, const chunks *ch, uint32_t role, uint64_t params, uint64_t state);
static int check_state(const ctx *c, const chunks *ch, uint32_t role, gan_layer *const *layers, size_t n_layers);

static int check_net(const ctx *c, const chunks *ch, uint32_t role, netspec *ns)
{
    const char *who = ROLE_NAMES[role];
    const span *net = &ch->net[role], *parm = &ch->parm[role];
    if (!net->p) return perr(c, GAN_EFORMAT, "no NET chunk for %s", who);
    if (!parm->p) return perr(c, GAN_EFORMAT, "no PARM chunk for %s", who);
    size_t pos;
    int rc = read_net_head(c, who, net, ch->version, ns, &pos);
    if (rc) return rc;
    uint32_t n_layers = get_u32(net->p + 4);
    if (n_layers && !(ns->layers = gan__calloc(n_layers, sizeof *ns->layers)))
        return perr(c, GAN_ENOMEM, "out of memory");
    gan_shape shape = ns->in;
    uint64_t total = 0, state = 0;
    for (size_t i = 0; i < n_layers; i++) {
        if ((rc = read_layer(c, who, net, ch->version, i, shape, &pos, &ns->layers[i]))) return rc;
        ns->n_layers++;
        shape = ns->layers[i]->out;
        total += ns->layers[i]->n_params; /* each below SIZE_MAX / 8, at most 2^16 of them */
        state += ns->layers[i]->n_state;
    }
    if (pos != net->len)
        return perr(c, GAN_EFORMAT, "%s's NET chunk has %zu bytes after its %lu layers", who, net->len - pos,
                    (unsigned long)n_layers);
    if (total > SIZE_MAX / sizeof(float) / 2 || state > SIZE_MAX / sizeof(float) / 2)
        return perr(c, GAN_EFORMAT, "%s's layers make %llu parameters, too many", who, (unsigned long long)total);
    if ((rc = check_values(c, ch, role, total, state))) return rc;
    if ((rc = check_state(c, ch, role, ns->layers, ns->n_layers))) return rc;
    ns->n_params = (size_t)total;
    ns->n_state = (size_t)state;
    return GAN_OK;
}

/* PARM and STAT: role, reserved, count, the floats. The count must be what the layers
 * make, and the chunk exactly that long: the allocation a net costs is backed by bytes. */
static int check_floats(const ctx *c, const char *who, const span *s, const char *type, const char *what,
                        uint64_t total)
{
    if (s->len < PARM_HEAD) return perr(c, GAN_EFORMAT, "%s's %s chunk is %zu bytes, too short", who, type, s->len);
    uint64_t count = get_u64(s->p + 8);
    if (get_u32(s->p + 4) != 0) return perr(c, GAN_EFORMAT, "%s's %s chunk: a reserved field is not zero", who, type);
    if (count != total)
        return perr(c, GAN_EFORMAT, "%s's %s chunk holds %llu %s but its layers have %llu", who, type,
                    (unsigned long long)count, what, (unsigned long long)total);
    if (s->len != PARM_HEAD + 4 * (size_t)total)
        return perr(c, GAN_EFORMAT, "%s's %s chunk is %zu bytes but %llu %s need %zu", who, type, s->len,
                    (unsigned long long)total, what, PARM_HEAD + 4 * (size_t)total);
    return GAN_OK;
}

/* A net's PARM chunk, and its STAT chunk exactly when its layers have state. */
static int check_values(const ctx *c, const chunks *ch, uint32_t role, uint64_t params, uint64_t state)
{
    const char *who = ROLE_NAMES[role];
    const span *stat = &ch->stat[role];
    int rc = check_floats(c, who, &ch->parm[role], "PARM", "parameters", params);
    if (rc) return rc;
    if (!state) return stat->p ? perr(c, GAN_EFORMAT, "a STAT chunk for %s, whose layers have no state", who) : GAN_OK;
    if (!stat->p) return perr(c, GAN_EFORMAT, "no STAT chunk for %s, whose layers have %llu state values", who,
                              (unsigned long long)state);
    return check_floats(c, who, stat, "STAT", "state values", state);
}

/* The STAT chunk's values (their count checked) are state each layer can hold: a file
 * must not leave a net that fails every later step. */
static int check_state(const ctx *c, const chunks *ch, uint32_t role, gan_layer *const *layers, size_t n_layers)
{
    const uint8_t *p = ch->stat[role].p + PARM_HEAD;
    for (size_t i = 0; i < n_layers; p += 4 * layers[i]->n_state, i++) {
        if (!layers[i]->n_state || !gan__layer_check_state(layers[i], p)) continue;
        char what[GAN__DESCRIBE_CAP];
        gan__layer_describe(layers[i], what, sizeof what);
        gan__saved_error inner;
        gan__error_save(&inner);
        return perr(c, GAN_EFORMAT, "%s layer %zu (%s): %s", ROLE_NAMES[role], i, what, inner.message);
    }
    return GAN_OK;
}

/* Two layers are the same when their kinds, shapes and encodings are. */
static int same_layer(const gan_layer *a, const gan_layer *b)
{
    uint8_t ea[GAN__ENCODING_CAP], eb[GAN__ENCODING_CAP];
    if (a->ops != b->ops || gan__shape_size(a->in) != gan__shape_size(b->in) || a->out.c != b->out.c ||
        a->out.h != b->out.h || a->out.w != b->out.w)
        return 0;
    uint32_t ka, kb;
    size_t la = gan__layer_encode(a, ea, &ka), lb = gan__layer_encode(b, eb, &kb);
    return ka == kb && la == lb && memcmp(ea, eb, la) == 0;
}

static int compare_input(const ctx *c, const char *who, gan_shape a, gan_shape b)
{
    if (a.c != b.c || a.h != b.h || a.w != b.w)
        return perr(c, GAN_EFORMAT, "%s takes %zux%zux%zu inputs in the file, %zux%zux%zu in the trainer", who, a.c,
                    a.h, a.w, b.c, b.h, b.w);
    return GAN_OK;
}

/* The live net must be the file's architecture, layer by layer. */
static int compare_net(const ctx *c, const char *who, const netspec *ns, const gan_net *live)
{
    int rc = compare_input(c, who, ns->in, live->in);
    if (rc) return rc;
    for (size_t i = 0; i < ns->n_layers || i < live->n_layers; i++) {
        if (i < ns->n_layers && i < live->n_layers && same_layer(ns->layers[i], live->layers[i])) continue;
        char in_file[GAN__DESCRIBE_CAP] = "nothing", in_trainer[GAN__DESCRIBE_CAP];
        if (i < ns->n_layers) gan__layer_describe(ns->layers[i], in_file, sizeof in_file);
        gan__net_describe_layer(live, i, in_trainer, sizeof in_trainer);
        return perr(c, GAN_EFORMAT, "%s layer %zu: %s in the file, %s in the trainer (%zu layers vs %zu)", who, i,
                    in_file, in_trainer, ns->n_layers, live->n_layers);
    }
    return GAN_OK;
}

/* A trainer's net against the file's NET chunk. A version-2 record must hold the live
 * layer's kind and encoding byte for byte, so the live net, already valid, vouches for
 * shapes and sizes and nothing is allocated; an older file is decoded and compared. */
static int match_net(const ctx *c, const chunks *ch, uint32_t role, const gan_net *live, size_t *n_params)
{
    const char *who = ROLE_NAMES[role];
    netspec ns = {0};
    int rc;
    if (ch->version == 1) {
        rc = check_net(c, ch, role, &ns);
        if (!rc) rc = compare_net(c, who, &ns, live);
        *n_params = ns.n_params;
        netspec_free(&ns);
        return rc;
    }
    const span *net = &ch->net[role];
    if (!net->p) return perr(c, GAN_EFORMAT, "no NET chunk for %s", who);
    if (!ch->parm[role].p) return perr(c, GAN_EFORMAT, "no PARM chunk for %s", who);
    size_t pos;
    if ((rc = read_net_head(c, who, net, ch->version, &ns, &pos))) return rc;
    if ((rc = compare_input(c, who, ns.in, live->in))) return rc;
    uint32_t n_layers = get_u32(net->p + 4);
    for (size_t i = 0; i < n_layers || i < live->n_layers; i++) {
        const gan_layer *l = i < live->n_layers ? live->layers[i] : NULL;
        uint8_t enc[GAN__ENCODING_CAP];
        uint32_t kind = 0;
        size_t len = l ? gan__layer_encode(l, enc, &kind) : 0, left = net->len - pos;
        const uint8_t *rec = net->p + pos;
        if (i < n_layers && l && left >= LAYER_HEAD + len && get_u32(rec) == kind &&
            get_u32(rec + 4) == len && memcmp(rec + LAYER_HEAD, enc, len) == 0) {
            pos += LAYER_HEAD + len;
            continue;
        }
        /* A difference: decode the file's layer to say what it is. */
        char in_file[GAN__DESCRIBE_CAP] = "nothing", in_trainer[GAN__DESCRIBE_CAP];
        if (i < n_layers) {
            gan_layer *f = NULL;
            gan_shape in = i ? live->layers[i - 1]->out : live->in;
            if ((rc = read_layer(c, who, net, ch->version, i, in, &pos, &f))) return rc;
            gan__layer_describe(f, in_file, sizeof in_file);
            gan_layer_free(f);
        }
        gan__net_describe_layer(live, i, in_trainer, sizeof in_trainer);
        return perr(c, GAN_EFORMAT, "%s layer %zu: %s in the file, %s in the trainer (%lu layers vs %zu)", who, i,
                    in_file, in_trainer, (unsigned long)n_layers, live->n_layers);
    }
    if (pos != net->len)
        return perr(c, GAN_EFORMAT, "%s's NET chunk has %zu bytes after its %lu layers", who, net->len - pos,
                    (unsigned long)n_layers);
    *n_params = live->n_params;
    rc = check_values(c, ch, role, live->n_params, live->n_state);
    return rc ? rc : check_state(c, ch, role, live->layers, live->n_layers);
}

/* Build a net from a checked spec (its layers move into the net) and fill its parameters
 * and state. */
static int build_net(const ctx *c, netspec *ns, const chunks *ch, gan_net **out)
{
    gan_net *n = NULL;
    int rc = gan_net_create_image(&n, ns->in.c, ns->in.h, ns->in.w);
    for (size_t i = 0; !rc && i < ns->n_layers; i++)
        if (!(rc = gan_net_add(n, ns->layers[i]))) ns->layers[i] = NULL;
    if (rc) {
        gan_net_free(n);
        if (rc == GAN_ENOMEM) return perr(c, GAN_ENOMEM, "out of memory");
        return perr(c, GAN_EFORMAT, "the net cannot be built: %s", gan_error_last());
    }
    get_floats(n->params, ch->parm[ROLE_NET].p + PARM_HEAD, ns->n_params);
    if (ns->n_state) get_floats(n->state, ch->stat[ROLE_NET].p + PARM_HEAD, ns->n_state);
    gan__net_weights_set(n);
    *out = n;
    return GAN_OK;
}

/* OPTM: role, kind, nesterov, reserved, lr, momentum, beta2, eps, steps, n, state. */
typedef struct {
    int kind;
    int nesterov;
    float lr, momentum, beta2, eps;
    uint64_t steps;
    size_t n, slots;
    const uint8_t *state;
    float *fresh; /* allocated before the commit when the live state cannot take it */
} optspec;

static int check_optim(const ctx *c, const chunks *ch, uint32_t role, const gan_optim *live, size_t n_params,
                       optspec *o)
{
    static const char *const names[] = {"?", "sgd", "adam"};
    const char *who = ROLE_NAMES[role];
    const span *s = &ch->optm[role];
    if (!s->p) return perr(c, GAN_EFORMAT, "no OPTM chunk for %s", who);
    if (s->len < OPTM_HEAD) return perr(c, GAN_EFORMAT, "%s's OPTM chunk is %zu bytes, too short", who, s->len);
    uint32_t kind = get_u32(s->p + 4), nesterov = get_u32(s->p + 8);
    if (get_u32(s->p + 12)) return perr(c, GAN_EFORMAT, "%s's OPTM chunk: a reserved field is not zero", who);
    o->lr = get_f32(s->p + 16);
    o->momentum = get_f32(s->p + 20);
    o->beta2 = get_f32(s->p + 24);
    o->eps = get_f32(s->p + 28);
    o->steps = get_u64(s->p + 32);
    uint64_t n = get_u64(s->p + 40);
    if (kind != FILE_OPTIM_SGD && kind != FILE_OPTIM_ADAM)
        return perr(c, GAN_EFORMAT, "%s's optimizer has unknown kind %lu", who, (unsigned long)kind);
    int live_kind = live->kind == GAN_OPTIM_ADAM ? FILE_OPTIM_ADAM : FILE_OPTIM_SGD;
    if ((int)kind != live_kind)
        return perr(c, GAN_EFORMAT, "%s's optimizer: %s in the file, %s in the trainer", who, names[kind],
                    names[live_kind]);
    o->kind = live->kind;
    int adam = kind == FILE_OPTIM_ADAM;
    if (!adam && (nesterov > 1 || f32_bits(o->beta2) || f32_bits(o->eps)))
        return perr(c, GAN_EFORMAT, "%s's optimizer (sgd): bad nesterov flag or unused fields not zero", who);
    if (adam && nesterov) return perr(c, GAN_EFORMAT, "%s's optimizer (adam): an unused field is not zero", who);
    int rc = gan__check_lr(o->lr);
    if (!rc) rc = gan__check_fraction(o->momentum, adam ? "beta1" : "momentum");
    if (!rc && adam) rc = gan__check_fraction(o->beta2, "beta2");
    if (!rc && adam) rc = gan__check_eps(o->eps);
    if (rc) return invalid_field(c, "%s's optimizer", who);
    o->nesterov = (int)nesterov;
    o->slots = kind == FILE_OPTIM_ADAM ? 2 : 1;
    if (n != 0 && n != n_params)
        return perr(c, GAN_EFORMAT, "%s's optimizer holds state for %llu parameters but %s has %zu", who,
                    (unsigned long long)n, who, n_params);
    o->n = (size_t)n;
    if (s->len != OPTM_HEAD + 4 * o->n * o->slots)
        return perr(c, GAN_EFORMAT, "%s's OPTM chunk is %zu bytes but its state needs %zu", who, s->len,
                    OPTM_HEAD + 4 * o->n * o->slots);
    o->state = s->p + OPTM_HEAD;
    o->fresh = NULL;
    return GAN_OK;
}

/* TRNR: the trainer's settings and step count. */
typedef struct {
    size_t batch, cond_dim;
    uint64_t steps;
    unsigned d_steps, g_steps;
    int update, loss, noise_kind, generate_stats;
    float real_target, clip, ema_decay, noise_scale;
} trnspec;

static int check_settings(const ctx *c, const chunks *ch, const gan_trainer *t, trnspec *ts)
{
    const span *s = &ch->trnr;
    if (!s->p) return perr(c, GAN_EFORMAT, "no TRNR chunk");
    if (s->len != TRNR_SIZE) return perr(c, GAN_EFORMAT, "the TRNR chunk is %zu bytes, not %d", s->len, TRNR_SIZE);
    const uint8_t *p = s->p;
    uint64_t batch = get_u64(p), cond = get_u64(p + 8);
    ts->steps = get_u64(p + 16);
    uint32_t d_steps = get_u32(p + 24), g_steps = get_u32(p + 28), update = get_u32(p + 32), loss = get_u32(p + 36);
    ts->real_target = get_f32(p + 40);
    ts->clip = get_f32(p + 44);
    ts->ema_decay = get_f32(p + 48);
    uint32_t noise = get_u32(p + 52);
    ts->noise_scale = get_f32(p + 56);
    uint32_t generate_stats = get_u32(p + 60);
    if (noise > FILE_NOISE_NORMAL) return perr(c, GAN_EFORMAT, "unknown noise kind %lu", (unsigned long)noise);
    int rc = gan__check_batch(batch);
    if (!rc) rc = gan__check_update_count(d_steps, "k (D updates per step)");
    if (!rc) rc = gan__check_update_count(g_steps, "the number of G updates per step");
    if (!rc) rc = gan__check_update_mode(update);
    if (!rc) rc = gan__check_loss(loss);
    if (!rc) rc = gan__check_real_target(ts->real_target);
    if (!rc) rc = gan__check_clip(ts->clip);
    if (!rc) rc = gan__check_ema_decay(ts->ema_decay);
    if (!rc) rc = gan__check_noise_scale(ts->noise_scale);
    if (!rc) rc = gan__check_generate_stats(generate_stats);
    ts->generate_stats = (int)generate_stats;
    if (rc) return invalid_field(c, "the trainer's settings");
    /* A condition must fit the nets, as gan_trainer_set_cond_dim requires; 0 is what a
     * trainer starts with, whatever its nets (it is checked when training starts). */
    size_t g_in = gan_net_in_dim(t->g), g_out = gan_net_out_dim(t->g), d_in = gan_net_in_dim(t->d);
    if (cond != 0 && (cond >= g_in || d_in != g_out + cond))
        return perr(c, GAN_EFORMAT, "condition size %llu does not fit G (%zu inputs, %zu outputs) and D (%zu inputs)",
                    (unsigned long long)cond, g_in, g_out, d_in);
    ts->batch = (size_t)batch;
    ts->cond_dim = (size_t)cond;
    ts->d_steps = (unsigned)d_steps;
    ts->g_steps = (unsigned)g_steps;
    ts->update = (int)update;
    ts->loss = (int)loss;
    ts->noise_kind = noise == FILE_NOISE_UNIFORM ? NOISE_UNIFORM : noise == FILE_NOISE_NORMAL ? NOISE_NORMAL
                                                                                              : NOISE_CUSTOM;
    if (ts->noise_kind == NOISE_CUSTOM && t->noise_kind != NOISE_CUSTOM)
        return perr(c, GAN_ESTATE, "the checkpoint was trained with a custom noise callback: set it on the trainer "
                                   "(gan_trainer_set_noise) before loading");
    return GAN_OK;
}

static int check_rngs(const ctx *c, const chunks *ch, gan_rng rngs[4])
{
    const span *s = &ch->rng;
    if (!s->p) return perr(c, GAN_EFORMAT, "no RNG chunk");
    if (s->len != RNG_SIZE) return perr(c, GAN_EFORMAT, "the RNG chunk is %zu bytes, not %d", s->len, RNG_SIZE);
    if (get_u32(s->p) != 4 || get_u32(s->p + 4) != 0)
        return perr(c, GAN_EFORMAT, "the RNG chunk holds %lu streams, not 4, or a reserved field is not zero",
                    (unsigned long)get_u32(s->p));
    for (int i = 0; i < 4; i++) {
        const uint8_t *p = s->p + 8 + RNG_STREAM * i;
        rngs[i].state = get_u64(p);
        rngs[i].inc = get_u64(p + 8);
        uint32_t has_spare = get_u32(p + 16);
        rngs[i].spare = get_f32(p + 20);
        if (!(rngs[i].inc & 1) || has_spare > 1)
            return perr(c, GAN_EFORMAT, "rng stream %d is invalid (even increment or bad spare flag)", i);
        rngs[i].has_spare = (int)has_spare;
    }
    return GAN_OK;
}

static int check_ema(const ctx *c, const chunks *ch, const trnspec *ts, size_t n_params)
{
    const span *s = &ch->ema;
    if (ts->ema_decay == 0.0f) {
        if (s->p) return perr(c, GAN_EFORMAT, "an EMA chunk but the EMA decay is 0");
        return GAN_OK;
    }
    if (!s->p) return perr(c, GAN_EFORMAT, "the EMA decay is %g but there is no EMA chunk", (double)ts->ema_decay);
    if (s->len < EMA_HEAD) return perr(c, GAN_EFORMAT, "the EMA chunk is %zu bytes, too short", s->len);
    uint64_t count = get_u64(s->p);
    if (count != n_params || s->len != EMA_HEAD + 4 * n_params)
        return perr(c, GAN_EFORMAT, "the EMA chunk holds %llu weights in %zu bytes; G has %zu parameters",
                    (unsigned long long)count, s->len, n_params);
    return GAN_OK;
}

/* Put a checked optimizer into place. Cannot fail. */
static void commit_optim(gan_optim *live, optspec *o, const gan_net *net)
{
    if (o->n == 0) {
        gan__free(live->state);
        live->state = NULL;
    } else if (o->fresh) {
        gan__free(live->state);
        live->state = o->fresh;
        o->fresh = NULL;
    }
    if (o->n) get_floats(live->state, o->state, o->n * o->slots);
    live->n = o->n;
    live->net = net;
    live->lr = o->lr;
    live->momentum = o->momentum;
    live->beta2 = o->beta2;
    live->eps = o->eps;
    live->nesterov = o->nesterov;
    live->steps = o->steps;
}

static int need_fresh_state(const gan_optim *live, const optspec *o)
{
    return o->n && !(live->state && live->n == o->n);
}

static int load_trainer(const ctx *c, gan_trainer *t, const uint8_t *b, size_t size)
{
    chunks ch;
    size_t g_params = 0, d_params = 0;
    optspec og = {0}, od = {0};
    trnspec ts = {0};
    gan_rng rngs[4] = {{0}};
    int rc = nets_unchanged(c, t);
    if (!rc) rc = frame(c, b, size, KIND_TRAINER, &ch);
    if (!rc) rc = match_net(c, &ch, ROLE_G, t->g, &g_params);
    if (!rc) rc = match_net(c, &ch, ROLE_D, t->d, &d_params);
    if (!rc) rc = check_optim(c, &ch, ROLE_G, t->opt_g, g_params, &og);
    if (!rc) rc = check_optim(c, &ch, ROLE_D, t->opt_d, d_params, &od);
    if (!rc) rc = check_settings(c, &ch, t, &ts);
    if (!rc) rc = check_rngs(c, &ch, rngs);
    if (!rc) rc = check_ema(c, &ch, &ts, g_params);
    if (rc) return rc;

    /* Everything checks out: allocate what the commit needs, then commit. */
    float *ema = NULL;
    if (need_fresh_state(t->opt_g, &og) && !(og.fresh = gan__calloc(og.n * og.slots, sizeof(float)))) goto oom;
    if (need_fresh_state(t->opt_d, &od) && !(od.fresh = gan__calloc(od.n * od.slots, sizeof(float)))) goto oom;
    if (ts.ema_decay > 0.0f && !t->ema && !(ema = gan__calloc(g_params, sizeof(float)))) goto oom;

    get_floats(t->g->params, ch.parm[ROLE_G].p + PARM_HEAD, g_params);
    get_floats(t->d->params, ch.parm[ROLE_D].p + PARM_HEAD, d_params);
    if (t->g->n_state) get_floats(t->g->state, ch.stat[ROLE_G].p + PARM_HEAD, t->g->n_state);
    if (t->d->n_state) get_floats(t->d->state, ch.stat[ROLE_D].p + PARM_HEAD, t->d->n_state);
    gan__net_weights_set(t->g);
    gan__net_weights_set(t->d);
    t->ema_from = t->g->weights_set;
    commit_optim(t->opt_g, &og, t->g);
    commit_optim(t->opt_d, &od, t->d);
    if (ts.ema_decay > 0.0f) {
        if (ema) t->ema = ema;
        get_floats(t->ema, ch.ema.p + EMA_HEAD, g_params);
    } else {
        gan__free(t->ema);
        t->ema = NULL;
    }
    t->ema_decay = ts.ema_decay;
    t->cond_dim = ts.cond_dim;
    t->batch = ts.batch;
    t->d_steps = ts.d_steps;
    t->g_steps = ts.g_steps;
    t->update = ts.update;
    t->loss = ts.loss;
    t->real_target = ts.real_target;
    t->clip = ts.clip;
    t->generate_stats = ts.generate_stats;
    t->steps = ts.steps;
    /* A built-in noise replaces whatever noise the trainer had; a custom one is kept. */
    if (ts.noise_kind == NOISE_UNIFORM) gan_trainer_set_noise_uniform(t, ts.noise_scale);
    else if (ts.noise_kind == NOISE_NORMAL) gan_trainer_set_noise_normal(t, ts.noise_scale);
    else t->noise_scale = ts.noise_scale;
    for (int i = 0; i < 4; i++) *t->rng[i] = rngs[i];
    return GAN_OK;
oom:
    gan__free(og.fresh);
    gan__free(od.fresh);
    return perr(c, GAN_ENOMEM, "out of memory");
}

static int load_net(const ctx *c, gan_net **out, const uint8_t *b, size_t size)
{
    chunks ch;
    netspec ns = {0};
    int rc = frame(c, b, size, KIND_NET, &ch);
    if (!rc) rc = check_net(c, &ch, ROLE_NET, &ns);
    if (!rc) rc = build_net(c, &ns, &ch, out);
    netspec_free(&ns);
    return rc;
}

/* The whole file in memory: its real size bounds every later allocation. */
static int read_file(const ctx *c, const char *path, uint8_t **out, size_t *size)
{
    /* O_NONBLOCK: opening a FIFO must not wait for a writer (it is then refused below);
     * it changes nothing for regular files. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return perr(c, GAN_EIO, "cannot open: %s", strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return perr(c, GAN_EIO, "cannot stat: %s", strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return perr(c, GAN_EIO, "not a regular file");
    }
    if (st.st_size < 0 || (uintmax_t)st.st_size > SIZE_MAX) {
        close(fd);
        return perr(c, GAN_EFORMAT, "too large to load");
    }
    size_t n = (size_t)st.st_size, got = 0;
    uint8_t *buf = gan__malloc(n);
    if (!buf) {
        close(fd);
        return perr(c, GAN_ENOMEM, "out of memory for the file's %zu bytes", n);
    }
    while (got < n) {
        ssize_t k = read(fd, buf + got, n - got);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) {
            int e = k < 0 ? errno : 0;
            close(fd);
            gan__free(buf);
            if (e) return perr(c, GAN_EIO, "read error: %s", strerror(e));
            return perr(c, GAN_EIO, "the file ended after %zu of %zu bytes (changed while reading?)", got, n);
        }
        got += (size_t)k;
    }
    close(fd);
    *out = buf;
    *size = n;
    return GAN_OK;
}

/* --------------------------------------------------------------- public API */

int gan_net_save(const gan_net *n, const char *path)
{
    GAN_CHECK_ARG(n);
    GAN_CHECK_ARG(path);
    ctx c = {"gan_net_save", path};
    return save_path(&c, emit_net_file, net_file_size(n), n, path);
}

int gan_net_save_mem(const gan_net *n, void *buf, size_t cap, size_t *size)
{
    GAN_CHECK_ARG(n);
    GAN_CHECK_ARG(size);
    ctx c = {"gan_net_save_mem", NULL};
    return save_mem(&c, emit_net_file, net_file_size(n), n, buf, cap, size);
}

int gan_net_load(gan_net **out, const char *path)
{
    GAN_CHECK_ARG(out);
    *out = NULL;
    GAN_CHECK_ARG(path);
    ctx c = {"gan_net_load", path};
    uint8_t *buf;
    size_t size;
    int rc = read_file(&c, path, &buf, &size);
    if (rc) return rc;
    rc = load_net(&c, out, buf, size);
    gan__free(buf);
    return rc;
}

int gan_net_load_mem(gan_net **out, const void *buf, size_t size)
{
    GAN_CHECK_ARG(out);
    *out = NULL;
    if (size) GAN_CHECK_ARG(buf);
    ctx c = {"gan_net_load_mem", NULL};
    static const uint8_t empty[1] = {0};
    return load_net(&c, out, size ? buf : empty, size);
}

int gan_trainer_save(const gan_trainer *t, const char *path)
{
    GAN_CHECK_ARG(t);
    GAN_CHECK_ARG(path);
    ctx c = {"gan_trainer_save", path};
    int rc = trainer_savable(&c, t);
    return rc ? rc : save_path(&c, emit_trainer_file, trainer_file_size(t), t, path);
}

int gan_trainer_save_mem(const gan_trainer *t, void *buf, size_t cap, size_t *size)
{
    GAN_CHECK_ARG(t);
    GAN_CHECK_ARG(size);
    ctx c = {"gan_trainer_save_mem", NULL};
    int rc = trainer_savable(&c, t);
    return rc ? rc : save_mem(&c, emit_trainer_file, trainer_file_size(t), t, buf, cap, size);
}

int gan_trainer_load(gan_trainer *t, const char *path)
{
    GAN_CHECK_ARG(t);
    GAN_CHECK_ARG(path);
    ctx c = {"gan_trainer_load", path};
    uint8_t *buf;
    size_t size;
    int rc = read_file(&c, path, &buf, &size);
    if (rc) return rc;
    rc = load_trainer(&c, t, buf, size);
    gan__free(buf);
    return rc;
}

int gan_trainer_load_mem(gan_trainer *t, const void *buf, size_t size)
{
    GAN_CHECK_ARG(t);
    if (size) GAN_CHECK_ARG(buf);
    ctx c = {"gan_trainer_load_mem", NULL};
    static const uint8_t empty[1] = {0};
    return load_trainer(&c, t, size ? buf : empty, size);
}
