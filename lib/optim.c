/* Optimizers: SGD (classical or Nesterov momentum) and Adam over a net's flat buffers. */
#include "optim_impl.h"
#include "alloc_impl.h"
#include "bytes_impl.h"
#include "error_impl.h"
#include "net_impl.h"

#include <math.h>
#include <string.h>

int gan__check_lr(float lr)
{
    if (!(lr >= 0.0f && lr <= 1e30f)) return gan__fail(GAN_EINVAL, "lr must be finite and >= 0, got %g", (double)lr);
    return GAN_OK;
}

int gan__check_fraction(float f, const char *what)
{
    if (!(f >= 0.0f && f < 1.0f)) return gan__fail(GAN_EINVAL, "%s must be in [0, 1), got %g", what, (double)f);
    return GAN_OK;
}

int gan__check_eps(float eps)
{
    if (!(eps > 0.0f && eps <= 1.0f)) return gan__fail(GAN_EINVAL, "eps must be in (0, 1], got %g", (double)eps);
    return GAN_OK;
}

static int new_optim(gan_optim **out, int kind, float lr, float momentum, const char *fn)
{
    int rc = gan__check_lr(lr);
    if (!rc) rc = gan__check_fraction(momentum, kind == GAN_OPTIM_SGD ? "momentum" : "beta1");
    if (rc) return gan__wrap(rc, "%s", fn);
    gan_optim *o = gan__calloc(1, sizeof *o);
    if (!o) return gan__fail(GAN_ENOMEM, "%s: out of memory", fn);
    o->kind = kind;
    o->lr = lr;
    o->momentum = momentum;
    *out = o;
    return GAN_OK;
}

int gan_optim_sgd(gan_optim **out, float lr, float momentum, int nesterov)
{
    GAN_CHECK_ARG(out);
    *out = NULL;
    int rc = new_optim(out, GAN_OPTIM_SGD, lr, momentum, __func__);
    if (!rc) (*out)->nesterov = nesterov != 0;
    return rc;
}

int gan_optim_adam(gan_optim **out, float lr, float beta1, float beta2, float eps)
{
    GAN_CHECK_ARG(out);
    *out = NULL;
    int rc = gan__check_fraction(beta2, "beta2");
    if (!rc) rc = gan__check_eps(eps);
    if (rc) return gan__wrap(rc, "%s", __func__);
    rc = new_optim(out, GAN_OPTIM_ADAM, lr, beta1, __func__);
    if (rc) return rc;
    (*out)->beta2 = beta2;
    (*out)->eps = eps;
    return GAN_OK;
}

void gan_optim_free(gan_optim *opt)
{
    if (!opt) return;
    gan__free(opt->state);
    gan__free(opt);
}

size_t gan__optim_slots(const gan_optim *opt) { return opt->kind == GAN_OPTIM_ADAM ? 2 : 1; }

/* The dry runs flag a new value that is infinite or NaN from its bits: the exponent
 * field plus one carries into the sign bit exactly when it is all ones. The flags are
 * OR-ed (an integer reduction, which the compiler vectorises), so the loop has no branch.
 * They also sum the squared gradient, so one pass serves both checks and the norm: each
 * chunk stores the squares in a small array, then adds them into LANES independent float
 * sums (vectorised without reassociating any one of them), which go to double once per
 * chunk to keep their precision. */
enum { LANES = 8, DRY_CHUNK = 512 };

static inline uint32_t nonfinite_bit(float x)
{
    uint32_t b;
    memcpy(&b, &x, sizeof b);
    return ((b & 0x7f800000u) + 0x00800000u) & 0x80000000u;
}

/* The sum of q[0..len) in double, through LANES float sums. */
static double lane_sum(const float *restrict q, size_t len)
{
    float sq[LANES] = {0};
    size_t k = 0;
    for (; k + LANES <= len; k += LANES)
        for (int j = 0; j < LANES; j++) sq[j] += q[k + j];
    for (; k < len; k++) sq[0] += q[k];
    double s = 0.0;
    for (int j = 0; j < LANES; j++) s += sq[j];
    return s;
}

/* The new values of one parameter, written once and used by the dry runs and the
 * updates alike, so a staged value is bit for bit the one the update later stores. */
static inline float sgd_velocity(float v, float g, float lr, float momentum) { return momentum * v - lr * g; }

static inline float sgd_param(float p, float vn, float g, float lr, float momentum, int nesterov)
{
    return p + (nesterov ? momentum * vn - lr * g : vn);
}

static inline float adam_m(float m, float g, float beta1) { return beta1 * m + (1.0f - beta1) * g; }
static inline float adam_v(float v, float g, float beta2) { return beta2 * v + (1.0f - beta2) * g * g; }

static inline float adam_param(float p, float mn, float vn, float lr, float eps, float c1, float c2)
{
    return p - lr * (mn / c1) / (sqrtf(vn / c2) + eps);
}

/* The SGD dry run: the new values exactly as sgd_update computes them, flagged when
 * not finite, and stored in p_new when `stage` is set. Inlined twice (stage 0 and 1), so
 * neither loop tests it. */
static inline int sgd_dry_body(const float *restrict p, const float *restrict v, const float *restrict g, size_t n,
                               float lr, float momentum, int nesterov, float *restrict p_new, int stage,
                               double *grad_sq)
{
    float q[DRY_CHUNK];
    uint32_t bad = 0;
    double sq = 0.0;
    for (size_t i = 0; i < n; i += DRY_CHUNK) {
        size_t len = n - i < DRY_CHUNK ? n - i : DRY_CHUNK;
        const float *pi = p + i, *vi = v + i, *gi = g + i;
        for (size_t k = 0; k < len; k++) {
            float gk = gi[k];
            float vn = sgd_velocity(vi[k], gk, lr, momentum);
            float pn = sgd_param(pi[k], vn, gk, lr, momentum, nesterov);
            bad |= nonfinite_bit(vn) | nonfinite_bit(pn);
            q[k] = gk * gk;
            if (stage) p_new[i + k] = pn;
        }
        sq += lane_sum(q, len);
    }
    *grad_sq = sq;
    return !bad && isfinite(sq);
}

/* Dry runs of the two updates: 1 if the gradient and every new value would be finite,
 * 0 otherwise; *grad_sq receives the gradient's sum of squares either way. They let a
 * step refuse an update that would overflow, before writing anything. When p_new is not
 * NULL it receives the new parameters, bit for bit what the update will store: a staged
 * update, while p and the state stay as they are. */
static int sgd_finite(const float *p, const float *v, const float *g, size_t n, float lr, float momentum, int nesterov,
                      float *p_new, double *grad_sq)
{
    if (p_new) return sgd_dry_body(p, v, g, n, lr, momentum, nesterov, p_new, 1, grad_sq);
    return sgd_dry_body(p, v, g, n, lr, momentum, nesterov, NULL, 0, grad_sq);
}

static inline int adam_dry_body(const float *restrict p, const float *restrict m, const float *restrict v,
                                const float *restrict g, size_t n, float lr, float beta1, float beta2, float eps,
                                float c1, float c2, float *restrict p_new, int stage, double *grad_sq)
{
    float q[DRY_CHUNK];
    uint32_t bad = 0;
    double sq = 0.0;
    for (size_t i = 0; i < n; i += DRY_CHUNK) {
        size_t len = n - i < DRY_CHUNK ? n - i : DRY_CHUNK;
        const float *pi = p + i, *mi = m + i, *vi = v + i, *gi = g + i;
        for (size_t k = 0; k < len; k++) {
            float gk = gi[k];
            float mn = adam_m(mi[k], gk, beta1), vn = adam_v(vi[k], gk, beta2);
            float pn = adam_param(pi[k], mn, vn, lr, eps, c1, c2);
            bad |= nonfinite_bit(mn) | nonfinite_bit(vn) | nonfinite_bit(pn);
            q[k] = gk * gk;
            if (stage) p_new[i + k] = pn;
        }
        sq += lane_sum(q, len);
    }
    *grad_sq = sq;
    return !bad && isfinite(sq);
}

static int adam_finite(const float *p, const float *m, const float *v, const float *g, size_t n, float lr,
                       float beta1, float beta2, float eps, float c1, float c2, float *p_new, double *grad_sq)
{
    if (p_new) return adam_dry_body(p, m, v, g, n, lr, beta1, beta2, eps, c1, c2, p_new, 1, grad_sq);
    return adam_dry_body(p, m, v, g, n, lr, beta1, beta2, eps, c1, c2, NULL, 0, grad_sq);
}

/* SGD with classical or Nesterov momentum; v is the velocity. */
static void sgd_update(float *restrict p, float *restrict v, const float *restrict g, size_t n,
                       float lr, float momentum, int nesterov)
{
    if (nesterov) {
        for (size_t i = 0; i < n; i++) {
            v[i] = sgd_velocity(v[i], g[i], lr, momentum);
            p[i] = sgd_param(p[i], v[i], g[i], lr, momentum, 1);
        }
    } else {
        for (size_t i = 0; i < n; i++) {
            v[i] = sgd_velocity(v[i], g[i], lr, momentum);
            p[i] = sgd_param(p[i], v[i], g[i], lr, momentum, 0);
        }
    }
}

/* Adam; c1, c2 are the bias corrections 1 - beta^t. */
static void adam_update(float *restrict p, float *restrict m, float *restrict v, const float *restrict g,
                        size_t n, float lr, float beta1, float beta2, float eps, float c1, float c2)
{
    for (size_t i = 0; i < n; i++) {
        m[i] = adam_m(m[i], g[i], beta1);
        v[i] = adam_v(v[i], g[i], beta2);
        p[i] = adam_param(p[i], m[i], v[i], lr, eps, c1, c2);
    }
}

/* Adam's bias corrections 1 - beta^t for the coming step. */
static void adam_corrections(const gan_optim *opt, float *c1, float *c2)
{
    double t = (double)(opt->steps + 1);
    *c1 = (float)(1.0 - pow(opt->momentum, t));
    *c2 = (float)(1.0 - pow(opt->beta2, t));
}

/* The state fits `net`: there is none yet, or it was accumulated for this net at its
 * size. The state (velocities, moments) belongs to the parameters it was accumulated for. */
static int fits(const gan_optim *opt, const gan_net *net)
{
    size_t n = gan_net_num_params(net);
    if (n == 0) return gan__fail(GAN_EINVAL, "the net has no parameters");
    if (opt->n && opt->n != n)
        return gan__fail(GAN_EINVAL, "the optimizer's state is for %zu parameters, the net has %zu "
                                     "(gan_optim_reset to reuse it)", opt->n, n);
    if (opt->state && opt->net != net)
        return gan__fail(GAN_EINVAL, "the optimizer's state belongs to another net (gan_optim_reset to reuse it)");
    return GAN_OK;
}

/* Refuse state that does not fit; size it on the first step. */
static int ready(gan_optim *opt, gan_net *net)
{
    int rc = fits(opt, net);
    if (rc || opt->state) return rc;
    size_t n = gan_net_num_params(net), slots = gan__optim_slots(opt);
    if (n > SIZE_MAX / slots || !(opt->state = gan__calloc(n * slots, sizeof(float))))
        return gan__fail(GAN_ENOMEM, "out of memory for the state of %zu parameters", n);
    opt->n = n;
    opt->net = net;
    return GAN_OK;
}

/* The dry run: refuse a non-finite gradient or an update that would overflow; with
 * `staged`, also write the new parameters there. */
static int dry_run(gan_optim *opt, gan_net *net, float *staged, double *grad_norm)
{
    size_t n = opt->n;
    const float *g = gan_net_grads(net), *p = gan_net_params(net);
    double ss;
    int finite;
    if (opt->kind == GAN_OPTIM_SGD) {
        finite = sgd_finite(p, opt->state, g, n, opt->lr, opt->momentum, opt->nesterov, staged, &ss);
    } else {
        float c1, c2;
        adam_corrections(opt, &c1, &c2);
        finite = adam_finite(p, opt->state, opt->state + n, g, n, opt->lr, opt->momentum, opt->beta2,
                                  opt->eps, c1, c2, staged, &ss);
    }
    if (!isfinite(ss)) return gan__fail(GAN_EDIVERGED, "the gradient is not finite");
    if (!finite) return gan__fail(GAN_EDIVERGED, "the update would overflow; nothing was changed");
    if (grad_norm) *grad_norm = sqrt(ss);
    return GAN_OK;
}

/* Back to no state: the next step sizes it afresh. */
static void forget(gan_optim *opt)
{
    gan__free(opt->state);
    opt->state = NULL;
    opt->n = 0;
    opt->net = NULL;
}

int gan__optim_prepare(gan_optim *opt, gan_net *net, float *staged, double *grad_norm)
{
    int fresh = !opt->state;
    int rc = ready(opt, net);
    if (!rc) rc = dry_run(opt, net, staged, grad_norm);
    if (rc && fresh) forget(opt);
    return rc;
}

void gan__optim_apply(gan_optim *opt, gan_net *net)
{
    size_t n = opt->n;
    float *p = gan_net_params(net);
    const float *g = gan_net_grads(net);
    if (opt->kind == GAN_OPTIM_SGD) {
        sgd_update(p, opt->state, g, n, opt->lr, opt->momentum, opt->nesterov);
    } else {
        float c1, c2;
        adam_corrections(opt, &c1, &c2);
        adam_update(p, opt->state, opt->state + n, g, n, opt->lr, opt->momentum, opt->beta2, opt->eps, c1, c2);
    }
    opt->steps++;
}

int gan_optim_step(gan_optim *opt, gan_net *net)
{
    GAN_CHECK_ARG(opt);
    GAN_CHECK_ARG(net);
    int rc = gan__optim_prepare(opt, net, NULL, NULL);
    if (rc) return gan__wrap(rc, "gan_optim_step");
    gan__optim_apply(opt, net);
    return GAN_OK;
}

/* ----------------------------------------------------- transactions */

int gan__optim_mark_reserve(gan__optim_mark *m, const gan_optim *opt, const gan_net *net)
{
    size_t n = gan_net_num_params(net), slots = gan__optim_slots(opt);
    if (n > SIZE_MAX / slots) return gan__fail(GAN_ENOMEM, "out of memory for the step's snapshot");
    if (m->cap >= n * slots) return GAN_OK;
    float *copy = gan__calloc(n * slots, sizeof(float));
    if (!copy) return gan__fail(GAN_ENOMEM, "out of memory for the step's snapshot");
    gan__free(m->copy);
    m->copy = copy;
    m->cap = n * slots;
    return GAN_OK;
}

int gan__optim_begin(gan__optim_mark *m, const gan_optim *opt, const gan_net *net, int full)
{
    int rc = fits(opt, net);
    if (rc) return rc;
    size_t n = opt->n * gan__optim_slots(opt);
    if (full && opt->state && n > m->cap)
        return gan__fail(GAN_ESTATE, "the step's snapshot holds %zu values, the optimizer %zu", m->cap, n);
    m->had_state = opt->state != NULL;
    m->full = full;
    m->steps = opt->steps;
    if (full && m->had_state) memcpy(m->copy, opt->state, n * sizeof(float));
    return GAN_OK;
}

void gan__optim_rollback(const gan__optim_mark *m, gan_optim *opt)
{
    if (!m->had_state) forget(opt);
    else if (m->full) memcpy(opt->state, m->copy, opt->n * gan__optim_slots(opt) * sizeof(float));
    opt->steps = m->steps;
}

void gan__optim_mark_free(gan__optim_mark *m)
{
    gan__free(m->copy);
    *m = (gan__optim_mark){0};
}

int gan_optim_reset(gan_optim *opt)
{
    GAN_CHECK_ARG(opt);
    forget(opt);
    opt->steps = 0;
    return GAN_OK;
}

int gan_optim_set_lr(gan_optim *opt, float lr)
{
    GAN_CHECK_ARG(opt);
    int rc = gan__check_lr(lr);
    if (rc) return gan__wrap(rc, "%s", __func__);
    opt->lr = lr;
    return GAN_OK;
}

float gan_optim_get_lr(const gan_optim *opt) { return opt ? opt->lr : 0.0f; }

int gan_optim_set_momentum(gan_optim *opt, float momentum)
{
    GAN_CHECK_ARG(opt);
    int rc = gan__check_fraction(momentum, "momentum");
    if (rc) return gan__wrap(rc, "%s", __func__);
    opt->momentum = momentum;
    return GAN_OK;
}

float gan_optim_get_momentum(const gan_optim *opt) { return opt ? opt->momentum : 0.0f; }
uint64_t gan_optim_steps(const gan_optim *opt) { return opt ? opt->steps : 0; }

/* ------------------------------------------------ the checkpoint record */

/* The kinds as the file writes them, pinned by the format (not GAN_OPTIM_*). */
enum { FILE_OPTIM_SGD = 1, FILE_OPTIM_ADAM = 2 };

size_t gan__optim_encode(const gan_optim *opt, uint8_t *out)
{
    if (!out) return GAN__OPTIM_RECORD_HEAD;
    int adam = opt->kind == GAN_OPTIM_ADAM;
    gan__put_u32(out, adam ? FILE_OPTIM_ADAM : FILE_OPTIM_SGD);
    gan__put_u32(out + 4, adam ? 0 : (uint32_t)(opt->nesterov != 0));
    gan__put_u32(out + 8, 0);
    gan__put_f32(out + 12, opt->lr);
    gan__put_f32(out + 16, opt->momentum);
    gan__put_f32(out + 20, adam ? opt->beta2 : 0.0f);
    gan__put_f32(out + 24, adam ? opt->eps : 0.0f);
    gan__put_u64(out + 28, opt->steps);
    gan__put_u64(out + 36, opt->n);
    return GAN__OPTIM_RECORD_HEAD;
}

const float *gan__optim_values(const gan_optim *opt, size_t *count)
{
    *count = opt->n ? opt->n * gan__optim_slots(opt) : 0;
    return opt->n ? opt->state : NULL;
}

int gan__optim_check_savable(const gan_optim *opt, const gan_net *net)
{
    size_t n = gan_net_num_params(net);
    if (opt->n && opt->n != n)
        return gan__fail(GAN_ESTATE, "it holds state for %zu parameters but the net has %zu", opt->n, n);
    return GAN_OK;
}

/* A validator's refusal, as a file's: GAN_EFORMAT with its message. */
static int format_error(void)
{
    gan__saved_error inner;
    gan__error_save(&inner);
    return gan__fail(GAN_EFORMAT, "%s", inner.message);
}

int gan__optim_decode(gan__optim_record *r, const gan_optim *live, size_t n_params, const uint8_t *p, size_t len)
{
    static const char *const names[] = {"?", "sgd", "adam"};
    *r = (gan__optim_record){0};
    if (len < GAN__OPTIM_RECORD_HEAD) return gan__fail(GAN_EFORMAT, "its record is %zu bytes, too short", len);
    uint32_t kind = gan__get_u32(p), nesterov = gan__get_u32(p + 4);
    if (gan__get_u32(p + 8)) return gan__fail(GAN_EFORMAT, "a reserved field is not zero");
    r->lr = gan__get_f32(p + 12);
    r->momentum = gan__get_f32(p + 16);
    r->beta2 = gan__get_f32(p + 20);
    r->eps = gan__get_f32(p + 24);
    r->steps = gan__get_u64(p + 28);
    uint64_t n = gan__get_u64(p + 36);
    if (kind != FILE_OPTIM_SGD && kind != FILE_OPTIM_ADAM)
        return gan__fail(GAN_EFORMAT, "unknown kind %lu", (unsigned long)kind);
    uint32_t live_kind = live->kind == GAN_OPTIM_ADAM ? FILE_OPTIM_ADAM : FILE_OPTIM_SGD;
    if (kind != live_kind)
        return gan__fail(GAN_EFORMAT, "%s in the file, %s in the trainer", names[kind], names[live_kind]);
    int adam = kind == FILE_OPTIM_ADAM;
    if (!adam && (nesterov > 1 || gan__f32_bits(r->beta2) || gan__f32_bits(r->eps)))
        return gan__fail(GAN_EFORMAT, "sgd with a bad nesterov flag or unused fields not zero");
    if (adam && nesterov) return gan__fail(GAN_EFORMAT, "adam with an unused field not zero");
    int rc = gan__check_lr(r->lr);
    if (!rc) rc = gan__check_fraction(r->momentum, adam ? "beta1" : "momentum");
    if (!rc && adam) rc = gan__check_fraction(r->beta2, "beta2");
    if (!rc && adam) rc = gan__check_eps(r->eps);
    if (rc) return format_error();
    r->nesterov = (int)nesterov;
    if (n != 0 && n != n_params)
        return gan__fail(GAN_EFORMAT, "it holds state for %llu parameters but the net has %zu", (unsigned long long)n,
                         n_params);
    size_t slots = gan__optim_slots(live), need = GAN__OPTIM_RECORD_HEAD + 4 * (size_t)n * slots;
    if (len != need) return gan__fail(GAN_EFORMAT, "its record is %zu bytes but its state needs %zu", len, need);
    r->n = (size_t)n;
    r->state = p + GAN__OPTIM_RECORD_HEAD;
    return GAN_OK;
}

int gan__optim_reserve(gan__optim_record *r, const gan_optim *live)
{
    if (!r->n || (live->state && live->n == r->n)) return GAN_OK;
    if (!(r->fresh = gan__calloc(r->n * gan__optim_slots(live), sizeof(float))))
        return gan__fail(GAN_ENOMEM, "out of memory");
    return GAN_OK;
}

void gan__optim_release(gan__optim_record *r)
{
    gan__free(r->fresh);
    r->fresh = NULL;
}

void gan__optim_commit(gan__optim_record *r, gan_optim *live, const gan_net *net)
{
    if (r->n == 0 || r->fresh) {
        gan__free(live->state);
        live->state = r->fresh;
        r->fresh = NULL;
    }
    for (size_t i = 0; i < r->n * gan__optim_slots(live); i++) live->state[i] = gan__get_f32(r->state + 4 * i);
    live->n = r->n;
    live->net = net;
    live->lr = r->lr;
    live->momentum = r->momentum;
    live->beta2 = r->beta2;
    live->eps = r->eps;
    live->nesterov = r->nesterov;
    live->steps = r->steps;
}
