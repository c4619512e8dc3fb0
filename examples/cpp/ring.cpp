// ring.cpp: libgan from C++17. RAII handles (std::unique_ptr with the library's free
// functions as deleters), exceptions for errors, and a GAN trained on the ring of 8
// Gaussians with the recipe of examples/mixture2d.c. The last line is the score:
// modes=<covered>/8 hq=<% of samples within 3 sigma of a mode>.
//
//   ring [--steps 5000] [--seed 1] [--min-modes K (exit 1 when fewer modes are covered)]
#include <gan.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <iterator>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

// ------------------------------------------------------------------ RAII
template <class T, void (*Free)(T *)> struct deleter {
    void operator()(T *p) const noexcept { Free(p); }
};
using rng_ptr = std::unique_ptr<gan_rng, deleter<gan_rng, gan_rng_free>>;
using layer_ptr = std::unique_ptr<gan_layer, deleter<gan_layer, gan_layer_free>>;
using net_ptr = std::unique_ptr<gan_net, deleter<gan_net, gan_net_free>>;
using optim_ptr = std::unique_ptr<gan_optim, deleter<gan_optim, gan_optim_free>>;
using trainer_ptr = std::unique_ptr<gan_trainer, deleter<gan_trainer, gan_trainer_free>>;

// A failed call: the status code, its gan_strerror and the thread's gan_error_last().
struct gan_error : std::runtime_error {
    int code;
    explicit gan_error(int rc)
        : std::runtime_error(std::string(gan_strerror(rc)) + ": " + gan_error_last()), code(rc) {}
};

void check(int rc)
{
    if (rc != GAN_OK) throw gan_error(rc);
}

// Call a constructor gan_X(&out, args...) and own its result.
template <class Ptr, class... Params, class... Args>
Ptr make(int (*ctor)(typename Ptr::pointer *, Params...), Args... args)
{
    typename Ptr::pointer p = nullptr;
    check(ctor(&p, args...));
    return Ptr(p);
}

// The net owns a layer only once gan_net_add succeeds; until then the layer_ptr does.
void add(gan_net *net, layer_ptr layer)
{
    check(gan_net_add(net, layer.get()));
    layer.release();
}

// in -> (dense hidden, act) x layers -> dense out
net_ptr mlp(size_t in, size_t hidden, int layers, size_t out, gan_activation act)
{
    auto net = make<net_ptr>(gan_net_create, in);
    for (int i = 0; i < layers; i++) {
        add(net.get(), make<layer_ptr>(gan_layer_dense, gan_net_out_dim(net.get()), hidden));
        add(net.get(), make<layer_ptr>(gan_layer_activation, act));
    }
    add(net.get(), make<layer_ptr>(gan_layer_dense, gan_net_out_dim(net.get()), out));
    return net;
}

// --------------------------------------------------------------- the ring
constexpr int n_modes = 8;
constexpr double sigma = 0.01;
const double pi = std::acos(-1.0);

double mode_x(int k) { return std::cos(2 * pi * k / n_modes); }
double mode_y(int k) { return std::sin(2 * pi * k / n_modes); }

// gan_data_fn: a uniform mode plus N(0, sigma^2) per axis, drawn from the trainer's data
// stream only. Callbacks are called from C: they must not throw (this one cannot).
int sample_ring(void *, gan_rng *rng, float *x, float *, size_t batch) noexcept
{
    for (size_t i = 0; i < batch; i++) {
        int k = static_cast<int>(gan_rng_uniform(rng) * n_modes);
        if (k >= n_modes) k = n_modes - 1; // float rounding
        x[2 * i] = static_cast<float>(mode_x(k) + sigma * gan_rng_normal(rng));
        x[2 * i + 1] = static_cast<float>(mode_y(k) + sigma * gan_rng_normal(rng));
    }
    return 0;
}

struct score {
    int covered;
    double hq_percent;
};

// A sample is high quality within 3 sigma of its nearest mode; a mode is covered when one is.
score score_samples(const std::vector<float> &xy)
{
    size_t n = xy.size() / 2, hq = 0;
    bool covered[n_modes] = {};
    for (size_t i = 0; i < n; i++) {
        int best = 0;
        double best_d2 = INFINITY;
        for (int k = 0; k < n_modes; k++) {
            double dx = xy[2 * i] - mode_x(k), dy = xy[2 * i + 1] - mode_y(k), d2 = dx * dx + dy * dy;
            if (d2 < best_d2) {
                best_d2 = d2;
                best = k;
            }
        }
        if (std::sqrt(best_d2) <= 3 * sigma) {
            covered[best] = true;
            hq++;
        }
    }
    score s{0, 100.0 * static_cast<double>(hq) / static_cast<double>(n)};
    for (bool c : covered) s.covered += c;
    return s;
}

// --------------------------------------------------------------- training
// gan_step_fn state: the learning rate falls linearly to 0 over the second half of the
// run (Adam's steps do not shrink on their own, and sigma 0.01 needs G to come to rest).
struct schedule {
    gan_optim *opt_g, *opt_d;
    double lr;
    uint64_t steps;
};

int on_step(void *payload, const gan_step_stats *s) noexcept
{
    const auto &p = *static_cast<const schedule *>(payload);
    double end = static_cast<double>(p.steps), start = 0.5 * end, step = static_cast<double>(s->step);
    double factor = step <= start ? 1.0 : (end - step) / (end - start);
    if (s->step % (p.steps / 5 ? p.steps / 5 : 1) == 0)
        std::printf("step %5llu  loss_d %.3f  loss_g %.3f  D(real) %.2f  D(fake) %.2f\n",
                    static_cast<unsigned long long>(s->step), s->loss_d, s->loss_g, s->d_real, s->d_fake);
    int rc = gan_optim_set_lr(p.opt_g, static_cast<float>(factor * p.lr));
    return rc ? rc : gan_optim_set_lr(p.opt_d, static_cast<float>(factor * p.lr));
}

// The command line: --steps, --seed and --min-modes, each with a whole number. Anything
// else, a missing value or a malformed number is refused with the usage line (exit 2).
struct options {
    long steps = 5000, seed = 1, min_modes = 0;
};

const char usage[] = "usage: ring [--steps N (>= 1, 5000)] [--seed S (1)] [--min-modes M (0..8, 0)]";

[[noreturn]] void refuse(const std::string &what)
{
    std::fprintf(stderr, "ring: %s\n%s\n", what.c_str(), usage);
    std::exit(2);
}

options parse(int argc, char **argv)
{
    options o;
    const struct {
        const char *name;
        long *dst, lo, hi;
    } flags[] = {{"--steps", &o.steps, 1, 1L << 40}, {"--seed", &o.seed, 0, LONG_MAX}, {"--min-modes", &o.min_modes, 0, 8}};
    for (int i = 1; i < argc; i++) {
        if (!std::strcmp(argv[i], "--help") || !std::strcmp(argv[i], "-h")) {
            std::printf("ring: a GAN on 8 Gaussians on a ring, from C++ through the RAII wrapper\n%s\n", usage);
            std::exit(0);
        }
        auto f = std::find_if(std::begin(flags), std::end(flags), [&](const auto &fl) { return !std::strcmp(argv[i], fl.name); });
        if (f == std::end(flags)) refuse(std::string("unknown argument ") + argv[i]);
        if (i + 1 == argc) refuse(std::string(f->name) + " needs a value");
        char *end;
        errno = 0;
        long v = std::strtol(argv[++i], &end, 10);
        if (*argv[i] == '\0' || *end || errno || v < f->lo || v > f->hi)
            refuse(std::string(f->name) + ": '" + argv[i] + "' is not a whole number in [" + std::to_string(f->lo) + ", " +
                   std::to_string(f->hi) + "]");
        *f->dst = v;
    }
    return o;
}

} // namespace

int main(int argc, char **argv)
try {
    const options o = parse(argc, argv);
    const long steps = o.steps, seed = o.seed, min_modes = o.min_modes;
    const float lr = 1e-3f;
    std::printf("libgan %s from C++: ring of %d Gaussians, %ld steps, seed %ld\n", gan_version_string(), n_modes,
                steps, seed);

    // G: z (2) -> 3 x 128 ReLU -> 2; D: 2 -> 3 x 128 leaky ReLU -> 1 logit.
    net_ptr g = mlp(2, 128, 3, 2, GAN_ACT_RELU), d = mlp(2, 128, 3, 1, GAN_ACT_LEAKY_RELU);
    optim_ptr opt_g = make<optim_ptr>(gan_optim_adam, lr, 0.5f, 0.999f, 1e-8f);
    optim_ptr opt_d = make<optim_ptr>(gan_optim_adam, lr, 0.5f, 0.999f, 1e-8f);
    // The trainer borrows the nets and optimizers: declared after them, it is destroyed first.
    trainer_ptr t = make<trainer_ptr>(gan_trainer_create, g.get(), d.get(), opt_g.get(), opt_d.get());
    check(gan_trainer_set_seed(t.get(), static_cast<uint64_t>(seed)));
    gan_rng *init = gan_trainer_rng(t.get(), GAN_STREAM_INIT); // borrowed from the trainer
    check(gan_net_init(g.get(), init, GAN_INIT_HE, 1.0f));
    check(gan_net_init(d.get(), init, GAN_INIT_HE, 1.0f));
    check(gan_trainer_set_data(t.get(), sample_ring, nullptr));
    check(gan_trainer_set_noise_normal(t.get(), 1.0f));
    check(gan_trainer_set_batch_size(t.get(), 256));
    check(gan_trainer_set_loss(t.get(), GAN_LOSS_NON_SATURATING));

    schedule sched{opt_g.get(), opt_d.get(), lr, static_cast<uint64_t>(steps)};
    check(gan_trainer_run(t.get(), sched.steps, on_step, &sched));

    std::vector<float> xy(2 * 2500);
    check(gan_trainer_generate(t.get(), nullptr, nullptr, xy.size() / 2, xy.data()));
    score s = score_samples(xy);
    std::printf("modes=%d/%d hq=%.1f\n", s.covered, n_modes, s.hq_percent);
    return s.covered >= min_modes ? 0 : 1;
} catch (const std::exception &e) {
    std::fprintf(stderr, "ring: %s\n", e.what());
    return 1;
}
