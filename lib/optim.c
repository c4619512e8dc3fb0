/* Optimizers: SGD (classical or Nesterov momentum) and Adam over a net's flat buffers. */
#include "optim_impl.h"
#include "alloc_impl.h"
#include "error_impl.h"
#include "kernels_impl.h"
#include "net_impl.h"

#include <math.h>

static int valid_lr(float lr) { return lr >= 0.0f && lr <= 1e30f; }
static int valid_fraction(float f) { return f >= 0.0f && f < 1.0f; }

static int new_optim(gan_optim **out, int kind, float lr, float momentum, const char *fn)
{
    if (!valid_lr(lr)) return gan__fail(GAN_EINVAL, "%s: lr must be finite and >= 0, got %g", fn, lr);
    if (!valid_fraction(momentum))
        return gan__fail(GAN_EINVAL, "%s: %s must be in [0, 1), got %g", fn,
                         kind == GAN_OPTIM_SGD ? "momentum" : "beta1", momentum);
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
    int rc = new_optim(out, GAN_OPTIM_SGD, lr, momentum, "gan_optim_sgd");
    if (!rc) (*out)->nesterov = nesterov != 0;
    return rc;
}

int gan_optim_adam(gan_optim **out, float lr, float beta1, float beta2, float eps)
{
    GAN_CHECK_ARG(out);
    *out = NULL;
    if (!valid_fraction(beta2)) return gan__fail(GAN_EINVAL, "gan_optim_adam: beta2 must be in [0, 1), got %g", beta2);
    if (!(eps > 0.0f && eps <= 1.0f)) return gan__fail(GAN_EINVAL, "gan_optim_adam: eps must be in (0, 1], got %g", eps);
    int rc = new_optim(out, GAN_OPTIM_ADAM, lr, beta1, "gan_optim_adam");
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

/* Adam's bias corrections 1 - beta^t for the coming step. */
static void adam_corrections(const gan_optim *opt, float *c1, float *c2)
{
    double t = (double)(opt->steps + 1);
    *c1 = (float)(1.0 - pow(opt->momentum, t));
    *c2 = (float)(1.0 - pow(opt->beta2, t));
}

/* Size the state on the first step; refuse a net of another size. */
static int ready(gan_optim *opt, gan_net *net)
{
    size_t n = gan_net_num_params(net);
    if (n == 0) return gan__fail(GAN_EINVAL, "the net has no parameters");
    if (opt->n && opt->n != n)
        return gan__fail(GAN_EINVAL, "the optimizer's state is for %zu parameters, the net has %zu "
                                     "(gan_optim_reset to reuse it)", opt->n, n);
    if (!opt->state) {
        size_t slots = gan__optim_slots(opt);
        if (n > SIZE_MAX / slots || !(opt->state = gan__calloc(n * slots, sizeof(float))))
            return gan__fail(GAN_ENOMEM, "out of memory for the state of %zu parameters", n);
        opt->n = n;
    }
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
        finite = gan__sgd_finite(p, opt->state, g, n, opt->lr, opt->momentum, opt->nesterov, staged, &ss);
    } else {
        float c1, c2;
        adam_corrections(opt, &c1, &c2);
        finite = gan__adam_finite(p, opt->state, opt->state + n, g, n, opt->lr, opt->momentum, opt->beta2,
                                  opt->eps, c1, c2, staged, &ss);
    }
    if (!isfinite(ss)) return gan__fail(GAN_EDIVERGED, "the gradient is not finite");
    if (!finite) return gan__fail(GAN_EDIVERGED, "the update would overflow; nothing was changed");
    if (grad_norm) *grad_norm = sqrt(ss);
    return GAN_OK;
}

int gan__optim_prepare(gan_optim *opt, gan_net *net, float *staged, double *grad_norm)
{
    int fresh = !opt->state;
    int rc = ready(opt, net);
    if (!rc) rc = dry_run(opt, net, staged, grad_norm);
    if (rc && fresh && opt->state) {
        gan__free(opt->state);
        opt->state = NULL;
        opt->n = 0;
    }
    return rc;
}

void gan__optim_apply(gan_optim *opt, gan_net *net)
{
    size_t n = opt->n;
    float *p = gan_net_params(net);
    const float *g = gan_net_grads(net);
    if (opt->kind == GAN_OPTIM_SGD) {
        gan__sgd_update(p, opt->state, g, n, opt->lr, opt->momentum, opt->nesterov);
    } else {
        float c1, c2;
        adam_corrections(opt, &c1, &c2);
        gan__adam_update(p, opt->state, opt->state + n, g, n, opt->lr, opt->momentum, opt->beta2, opt->eps, c1, c2);
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

int gan_optim_reset(gan_optim *opt)
{
    GAN_CHECK_ARG(opt);
    gan__free(opt->state);
    opt->state = NULL;
    opt->n = 0;
    opt->steps = 0;
    return GAN_OK;
}

int gan_optim_set_lr(gan_optim *opt, float lr)
{
    GAN_CHECK_ARG(opt);
    if (!valid_lr(lr)) return gan__fail(GAN_EINVAL, "gan_optim_set_lr: lr must be finite and >= 0, got %g", lr);
    opt->lr = lr;
    return GAN_OK;
}

float gan_optim_get_lr(const gan_optim *opt) { return opt ? opt->lr : 0.0f; }

int gan_optim_set_momentum(gan_optim *opt, float momentum)
{
    GAN_CHECK_ARG(opt);
    if (!valid_fraction(momentum))
        return gan__fail(GAN_EINVAL, "gan_optim_set_momentum: momentum must be in [0, 1), got %g", momentum);
    opt->momentum = momentum;
    return GAN_OK;
}

float gan_optim_get_momentum(const gan_optim *opt) { return opt ? opt->momentum : 0.0f; }
uint64_t gan_optim_steps(const gan_optim *opt) { return opt ? opt->steps : 0; }
