/* Model files and trainer checkpoints (docs/file-format.md).
 *
 * A file is a 20-byte header (magic, format version, file kind, CRC-32 of those) and a
 * sequence of chunks, each a 16-byte head (type, flags, payload length), the payload
 * and a CRC-32 of head and payload, ending with an empty END chunk. Every field is
 * little-endian and fixed-width. Readers check every CRC and every length before
 * looking at a payload, skip chunk types they do not know unless the writer marked
 * them critical, and refuse sizes the bytes present cannot back.
 *
 * This file holds the framing, the CRCs, the order of the chunks, the nets' chunks and
 * the atomic write, and no other module's fields: each record is encoded, decoded and
 * checked by the module that owns it, as a layer encodes its hyperparameters
 * (ops->encode, ops->decode): the optimizers' OPTM records (lib/optim.c), the trainer's
 * settings (TSET, and TRNR of earlier files: lib/trainer_record.c) and the rng streams
 * (lib/rng.c). Their messages name no function; the ones here put the function, the
 * path and the chunk in front.
 *
 * Loading is all or nothing: the whole input is framed and validated, everything the
 * commit needs is allocated, and only then is anything written into the caller's
 * objects (a step that cannot fail). Saving to a path is atomic: a temporary file
 * beside the target, written, flushed, fsync'ed, closed and renamed over it. */
#define _POSIX_C_SOURCE 200809L

#include "alloc_impl.h"
#include "bytes_impl.h"
#include "error_impl.h"
#include "file_impl.h"
#include "layer_impl.h"
#include "net_impl.h"
#include "optim_impl.h"
#include "rng_codec_impl.h"
#include "trainer_impl.h"
#include "trainer_record_impl.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
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
    ROLE_HEAD = 4,    /* OPTM: role, then the optimizer's record */
    RNG_SIZE = 8 + 4 * GAN__RNG_RECORD, /* count, reserved, the streams' records */
    EMA_HEAD = 8,
    MAX_LAYERS = 1 << 16 /* far beyond any real net; refuses absurd counts early */
};

#define FOURCC(a, b, c, d) ((uint32_t)(a) | (uint32_t)(b) << 8 | (uint32_t)(c) << 16 | (uint32_t)(d) << 24)
#define CH_NET FOURCC('N', 'E', 'T', ' ')
#define CH_PARM FOURCC('P', 'A', 'R', 'M')
#define CH_STAT FOURCC('S', 'T', 'A', 'T')
#define CH_OPTM FOURCC('O', 'P', 'T', 'M')
#define CH_TSET FOURCC('T', 'S', 'E', 'T')
#define CH_TRNR FOURCC('T', 'R', 'N', 'R') /* the settings in files of earlier builds */
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

/* A failure of something called (a validator, a module's codec): `code`, its message
 * after `what`. */
static int relay(const ctx *c, int code, const char *what, ...) GAN_PRINTF(3, 4);
static int relay(const ctx *c, int code, const char *what, ...)
{
    char head[128];
    gan__saved_error inner;
    gan__error_save(&inner);
    va_list ap;
    va_start(ap, what);
    vsnprintf(head, sizeof head, what, ap);
    va_end(ap);
    return perr(c, code, "%s: %s", head, inner.message);
}

/* The current message (a failure of something this call called), with the public
 * function and the file in front. */
static int pwrap(const ctx *c, int code)
{
    if (c->path) return gan__wrap(code, "%s: '%s'", c->fn, c->path);
    return gan__wrap(code, "%s", c->fn);
}

/* A field a validator refused: GAN_EFORMAT, the validator's message after `what`. */
#define invalid_field(c, ...) relay((c), GAN_EFORMAT, __VA_ARGS__)

/* The same with no context of its own: the callee's message is complete. */
static int pass_on(const ctx *c, int code)
{
    gan__saved_error inner;
    gan__error_save(&inner);
    return perr(c, code, "%s", inner.message);
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
    if (!w->err) w->err = gan__file_write_all(w->fd, w->stage, w->staged);
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
/* OPTM: role, the optimizer's record head, its state floats. */
static size_t optm_payload(const gan_optim *o)
{
    size_t count;
    (void)gan__optim_values(o, &count);
    return ROLE_HEAD + gan__optim_encode(o, NULL) + 4 * count;
}

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
    uint8_t head[GAN__OPTIM_RECORD_HEAD];
    size_t count;
    const float *state = gan__optim_values(o, &count);
    w_chunk_begin(w, CH_OPTM, optm_payload(o));
    w_u32(w, role);
    w_bytes(w, head, gan__optim_encode(o, head));
    w_floats(w, state, count);
    w_chunk_end(w);
}

/* TSET: the trainer's settings as the trainer's record encodes them. */
static void w_settings(writer *w, const gan_trainer *t)
{
    uint8_t rec[GAN__TRAINER_SETTINGS_CAP];
    size_t len = gan__trainer_settings_encode(t, NULL);
    if (len > sizeof rec) { /* the cap is behind the settings: a bug, refused by the size check */
        w->bug = 1;
        return;
    }
    w_chunk_begin(w, CH_TSET, len);
    w_bytes(w, rec, gan__trainer_settings_encode(t, rec));
    w_chunk_end(w);
}

/* RNG: count, reserved, then each stream's record. */
static void w_rngs(writer *w, gan_rng *const rngs[4])
{
    w_chunk_begin(w, CH_RNG, RNG_SIZE);
    w_u32(w, 4);
    w_u32(w, 0);
    for (int i = 0; i < 4; i++) {
        uint8_t rec[GAN__RNG_RECORD];
        gan__rng_encode(rngs[i], rec);
        w_bytes(w, rec, sizeof rec);
    }
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
    s += CHUNK(gan__trainer_settings_encode(t, NULL)) + CHUNK(RNG_SIZE);
    if (gan__trainer_ema_values(t)) s += CHUNK(EMA_HEAD + 4 * t->g->n_params);
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
    w_settings(w, t);
    w_rngs(w, t->rng);
    const float *ema = gan__trainer_ema_values(t);
    if (ema) {
        w_chunk_begin(w, CH_EMA, EMA_HEAD + 4 * t->g->n_params);
        w_u64(w, t->g->n_params);
        w_floats(w, ema, t->g->n_params);
        w_chunk_end(w);
    }
    w_end(w);
}

/* A trainer whose optimizer state is sized for another net cannot be restored
 * faithfully; refuse it rather than write a file no reader accepts. */
static int nets_unchanged(const ctx *c, const gan_trainer *t)
{
    int rc = gan__trainer_check_nets(t);
    return rc ? pass_on(c, rc) : GAN_OK;
}

static int trainer_savable(const ctx *c, const gan_trainer *t)
{
    int rc = nets_unchanged(c, t);
    if (rc) return rc;
    const gan_optim *opts[2] = {t->opt_g, t->opt_d};
    const gan_net *nets[2] = {t->g, t->d};
    for (int i = 0; i < 2; i++)
        if ((rc = gan__optim_check_savable(opts[i], nets[i]))) return relay(c, rc, "%s's optimizer", ROLE_NAMES[i + 1]);
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

/* What save_path hands the atomic write. */
typedef struct save_job {
    writer *w;
    emit_fn emit;
    const void *obj;
    size_t need;
} save_job;

/* A file's bytes through the writer's stage: 0 or the errno value of a failed write. */
static int emit_to_fd(void *arg, int fd)
{
    save_job *job = arg;
    writer *w = job->w;
    w->fd = fd;
    job->emit(w, job->obj);
    w_flush(w);
    if (!w->err && (w->bug || w->pos != job->need)) return EIO; /* an internal error: sizes differ */
    return w->err;
}

static int save_path(const ctx *c, emit_fn emit, size_t need, const void *obj, const char *path)
{
    writer *w = gan__malloc(sizeof *w);
    if (!w) return perr(c, GAN_ENOMEM, "out of memory");
    w->mem = NULL;
    w->pos = w->staged = w->chunk_end = 0;
    w->crc = 0;
    w->err = w->bug = 0;
    save_job job = {w, emit, obj, need};
    int rc = gan__file_write_atomic(path, emit_to_fd, &job);
    gan__free(w);
    return rc ? pwrap(c, rc) : GAN_OK;
}

/* ------------------------------------------------------------------- reader */

typedef struct {
    const uint8_t *p; /* payload, NULL when the chunk is absent */
    size_t len;       /* payload bytes */
    size_t off;       /* file offset of the chunk, for messages */
} span;

typedef struct {
    unsigned version; /* the file's format version */
    span net[3], parm[3], stat[3], optm[3], tset, trnr, rng, ema;
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
        } else if (type == CH_TSET || type == CH_TRNR || type == CH_RNG || type == CH_EMA) {
            if (!trainer) return perr(c, GAN_EFORMAT, "chunk %s at byte %zu does not belong in a net file", tn, s.off);
            slot = type == CH_TSET ? &out->tset : type == CH_TRNR ? &out->trnr : type == CH_RNG ? &out->rng : &out->ema;
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

/* Decode and place layer i at *pos on the nodes of a net with input `in` and `layers`
 * before it; its record's length is checked against the chunk. */
static int read_layer(const ctx *c, const char *who, const span *net, unsigned version, size_t i, gan_shape in,
                      gan_layer *const *layers, size_t *pos, gan_layer **out)
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
    /* Version 1's records rely on the previous node's width. */
    size_t in_size = gan__shape_size(i ? layers[i - 1]->out : in);
    int rc = gan__layer_decode(out, kind, p, len, version, in_size);
    if (!rc) {
        gan_layer *l = *out;
        if (l->n_from == 1 && l->from[0] == i)
            rc = gan__fail(GAN_EFORMAT, "a graph record that reads just the previous node");
        if (!l->n_from) { /* the previous node */
            l->from[0] = i;
            l->n_from = 1;
        }
        if (!rc) rc = gan__place(l, in, layers, i, l->from, l->n_from);
    }
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
    uint64_t total = 0, state = 0;
    for (size_t i = 0; i < n_layers; i++) {
        if ((rc = read_layer(c, who, net, ch->version, i, ns->in, ns->layers, &pos, &ns->layers[i]))) return rc;
        ns->n_layers++;
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
    if (!ch->stat[role].p) return GAN_OK; /* layers without state (check_values saw to it) */
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
            if ((rc = read_layer(c, who, net, ch->version, i, live->in, live->layers, &pos, &f))) return rc;
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
        if (!(rc = gan_net_add_from(n, ns->layers[i], ns->layers[i]->from, ns->layers[i]->n_from)))
            ns->layers[i] = NULL;
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

/* OPTM: role, then the optimizer's record, which the optimizer decodes and checks. */
static int decode_optim(const ctx *c, const chunks *ch, uint32_t role, const gan_optim *live, size_t n_params,
                        gan__optim_record *o)
{
    const char *who = ROLE_NAMES[role];
    const span *s = &ch->optm[role];
    if (!s->p) return perr(c, GAN_EFORMAT, "no OPTM chunk for %s", who);
    int rc = gan__optim_decode(o, live, n_params, s->p + ROLE_HEAD, s->len - ROLE_HEAD);
    return rc ? relay(c, rc, "%s's optimizer", who) : GAN_OK;
}

/* The trainer's settings: a TSET chunk, or the TRNR chunk of earlier builds, decoded and
 * checked by the trainer's record (lib/trainer_record.c), whose messages are complete. */
static int decode_settings(const ctx *c, const chunks *ch, const gan_trainer *t, gan__trainer_settings *ts)
{
    int rc;
    if (ch->tset.p && ch->trnr.p)
        return perr(c, GAN_EFORMAT, "two settings chunks: TSET at byte %zu and TRNR at byte %zu", ch->tset.off,
                    ch->trnr.off);
    if (ch->tset.p) rc = gan__trainer_settings_decode(ts, t, ch->tset.p, ch->tset.len);
    else if (ch->trnr.p) rc = gan__trainer_settings_decode_fixed(ts, t, ch->trnr.p, ch->trnr.len);
    else return perr(c, GAN_EFORMAT, "no TSET chunk (nor the TRNR chunk of earlier files): the trainer's settings");
    return rc ? pass_on(c, rc) : GAN_OK;
}

/* RNG: count, reserved, then each stream's record, which the rng decodes and checks. */
static int decode_rngs(const ctx *c, const chunks *ch, gan_rng rngs[4])
{
    const span *s = &ch->rng;
    if (!s->p) return perr(c, GAN_EFORMAT, "no RNG chunk");
    if (s->len != RNG_SIZE) return perr(c, GAN_EFORMAT, "the RNG chunk is %zu bytes, not %d", s->len, RNG_SIZE);
    if (get_u32(s->p) != 4 || get_u32(s->p + 4) != 0)
        return perr(c, GAN_EFORMAT, "the RNG chunk holds %lu streams, not 4, or a reserved field is not zero",
                    (unsigned long)get_u32(s->p));
    for (int i = 0; i < 4; i++) {
        int rc = gan__rng_decode(&rngs[i], s->p + 8 + GAN__RNG_RECORD * i);
        if (rc) return relay(c, rc, "rng stream %d", i);
    }
    return GAN_OK;
}

static int check_ema(const ctx *c, const chunks *ch, const gan__trainer_settings *ts, size_t n_params)
{
    const span *s = &ch->ema;
    float decay = gan__trainer_settings_ema(ts);
    if (decay == 0.0f) {
        if (s->p) return perr(c, GAN_EFORMAT, "an EMA chunk but the EMA decay is 0");
        return GAN_OK;
    }
    if (!s->p) return perr(c, GAN_EFORMAT, "the EMA decay is %g but there is no EMA chunk", (double)decay);
    if (s->len < EMA_HEAD) return perr(c, GAN_EFORMAT, "the EMA chunk is %zu bytes, too short", s->len);
    uint64_t count = get_u64(s->p);
    if (count != n_params || s->len != EMA_HEAD + 4 * n_params)
        return perr(c, GAN_EFORMAT, "the EMA chunk holds %llu weights in %zu bytes; G has %zu parameters",
                    (unsigned long long)count, s->len, n_params);
    return GAN_OK;
}

static int load_trainer(const ctx *c, gan_trainer *t, const uint8_t *b, size_t size)
{
    chunks ch;
    size_t g_params = 0, d_params = 0;
    gan__optim_record og = {0}, od = {0};
    gan__trainer_settings ts = {0};
    gan_rng rngs[4] = {{0}};
    int rc = nets_unchanged(c, t);
    if (!rc) rc = frame(c, b, size, KIND_TRAINER, &ch);
    if (!rc) rc = match_net(c, &ch, ROLE_G, t->g, &g_params);
    if (!rc) rc = match_net(c, &ch, ROLE_D, t->d, &d_params);
    if (!rc) rc = decode_optim(c, &ch, ROLE_G, t->opt_g, g_params, &og);
    if (!rc) rc = decode_optim(c, &ch, ROLE_D, t->opt_d, d_params, &od);
    if (!rc) rc = decode_settings(c, &ch, t, &ts);
    if (!rc) rc = decode_rngs(c, &ch, rngs);
    if (!rc) rc = check_ema(c, &ch, &ts, g_params);
    if (rc) return rc;

    /* Everything checks out: allocate what the commit needs, then commit. */
    if (gan__optim_reserve(&og, t->opt_g) || gan__optim_reserve(&od, t->opt_d) ||
        gan__trainer_settings_reserve(&ts, t)) {
        gan__optim_release(&og);
        gan__optim_release(&od);
        gan__trainer_settings_release(&ts);
        return perr(c, GAN_ENOMEM, "out of memory");
    }
    get_floats(t->g->params, ch.parm[ROLE_G].p + PARM_HEAD, g_params);
    get_floats(t->d->params, ch.parm[ROLE_D].p + PARM_HEAD, d_params);
    if (t->g->n_state) get_floats(t->g->state, ch.stat[ROLE_G].p + PARM_HEAD, t->g->n_state);
    if (t->d->n_state) get_floats(t->d->state, ch.stat[ROLE_D].p + PARM_HEAD, t->d->n_state);
    gan__net_weights_set(t->g);
    gan__net_weights_set(t->d);
    gan__optim_commit(&og, t->opt_g, t->g);
    gan__optim_commit(&od, t->opt_d, t->d);
    float *ema = gan__trainer_settings_commit(&ts, t); /* after G's weights: the EMA restarts from them */
    if (ema) get_floats(ema, ch.ema.p + EMA_HEAD, g_params);
    for (int i = 0; i < 4; i++) *t->rng[i] = rngs[i];
    return GAN_OK;
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
    int fd, regular;
    uint64_t len;
    int rc = gan__file_open(&fd, path, 1, &len, &regular);
    if (rc) return pwrap(c, rc);
    if (len > SIZE_MAX) {
        gan__file_close(fd);
        return perr(c, GAN_EFORMAT, "too large to load");
    }
    size_t n = (size_t)len, got = 0;
    uint8_t *buf = gan__malloc(n ? n : 1);
    if (!buf) rc = perr(c, GAN_ENOMEM, "out of memory for the file's %zu bytes", n);
    else if ((rc = gan__file_read(fd, buf, n, &got))) rc = pwrap(c, rc);
    else if (got < n) rc = perr(c, GAN_EIO, "the file ended after %zu of %zu bytes (changed while reading?)", got, n);
    gan__file_close(fd);
    if (rc) {
        gan__free(buf);
        return rc;
    }
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
