/* One parser for every example's flag table (flags.h). */
#define _GNU_SOURCE /* program_invocation_short_name */
#include "flags.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *prog(void) { return program_invocation_short_name; }

/* A flag ("--out") rather than an argument given by its place ("PATH"). */
static int is_flag(const ex_flag *fl) { return fl->name[0] == '-'; }

/* "usage: PROG [--a N] [--b] ...", wrapped under its first flag. */
static void usage_line(FILE *f, const ex_flag *flags)
{
    int indent = fprintf(f, "usage: %s", prog()), col = indent;
    for (const ex_flag *fl = flags; fl->name; fl++) {
        char item[128];
        int n = !is_flag(fl)          ? snprintf(item, sizeof item, " %s", fl->name)
                : fl->kind == EX_SWITCH ? snprintf(item, sizeof item, " [%s]", fl->name)
                                        : snprintf(item, sizeof item, " [%s %s]", fl->name, fl->meta);
        if (col + n > 88) col = fprintf(f, "\n%*s", indent, "") - 1;
        col += fprintf(f, "%s", item);
    }
    fputc('\n', f);
}

void ex_flags_fail(const ex_flag *flags, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", prog());
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    usage_line(stderr, flags);
    fprintf(stderr, "(%s --help describes each flag)\n", prog());
    exit(2);
}

static void help(const ex_flag *flags, const char *about)
{
    printf("%s\n\n", about);
    usage_line(stdout, flags);
    for (const ex_flag *fl = flags; fl->name; fl++) {
        char left[128];
        snprintf(left, sizeof left, "%s %s", fl->name, fl->kind == EX_SWITCH || !is_flag(fl) ? "" : fl->meta);
        printf("  %-26s %s\n", left, fl->help);
    }
    exit(0);
}

/* x within fl->range, an interval "[lo, hi]" whose ends may be open and infinite. */
static void check_range(const ex_flag *flags, const ex_flag *fl, double x, const char *text)
{
    char open, close;
    double lo, hi;
    if (!fl->range) return;
    if (sscanf(fl->range, " %c %lf , %lf %c", &open, &lo, &hi, &close) != 4) /* a bad table: the example's bug */
        ex_flags_fail(flags, "%s: the table's range '%s' is not an interval", fl->name, fl->range);
    int above = open == '(' ? x > lo : x >= lo, below = close == ')' ? x < hi : x <= hi;
    if (!above || !below) ex_flags_fail(flags, "%s must be in %s, got %s", fl->name, fl->range, text);
}

/* Whether `word` is one of the '|'-separated choices. */
static int is_choice(const char *choices, const char *word)
{
    size_t n = strlen(word);
    for (const char *c = choices;; c++) {
        if (strncmp(c, word, n) == 0 && (c[n] == '|' || c[n] == '\0')) return n > 0;
        if (!(c = strchr(c, '|'))) return 0;
    }
}

static const ex_flag *lookup(const ex_flag *flags, const char *name)
{
    for (const ex_flag *fl = flags; fl->name; fl++)
        if (is_flag(fl) && strcmp(fl->name, name) == 0) return fl;
    return NULL;
}

/* The first argument by place that is still unset after `taken` of them, or NULL. */
static const ex_flag *positional(const ex_flag *flags, int taken)
{
    for (const ex_flag *fl = flags; fl->name; fl++)
        if (!is_flag(fl) && taken-- == 0) return fl;
    return NULL;
}

static void set_value(const ex_flag *flags, const ex_flag *fl, const char *v)
{
    char *end;
    errno = 0;
    switch (fl->kind) {
    case EX_LONG: {
        long x = strtol(v, &end, 10);
        if (end == v || *end) ex_flags_fail(flags, "%s expects an integer, got '%s'", fl->name, v);
        check_range(flags, fl, errno == ERANGE ? (x < 0 ? -INFINITY : INFINITY) : (double)x, v);
        if (errno == ERANGE) ex_flags_fail(flags, "%s: %s is too large", fl->name, v);
        *(long *)fl->dst = x;
        break;
    }
    case EX_REAL: {
        double x = strtod(v, &end);
        if (end == v || *end || !isfinite(x)) ex_flags_fail(flags, "%s expects a number, got '%s'", fl->name, v);
        check_range(flags, fl, x, v);
        *(double *)fl->dst = x;
        break;
    }
    case EX_CHOICE:
        if (!is_choice(fl->meta, v)) ex_flags_fail(flags, "%s expects one of %s, got '%s'", fl->name, fl->meta, v);
        /* fall through */
    case EX_TEXT:
        *(const char **)fl->dst = v;
        break;
    case EX_SWITCH:
        break;
    }
}

void ex_flags_parse(int argc, char **argv, const ex_flag *flags, const char *about)
{
    int taken = 0; /* arguments by place so far */
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) help(flags, about);
        const ex_flag *fl = lookup(flags, a);
        if (!fl && a[0] != '-' && (fl = positional(flags, taken))) {
            taken++;
            set_value(flags, fl, a);
            continue;
        }
        if (!fl) ex_flags_fail(flags, a[0] == '-' ? "unknown flag %s" : "unexpected argument '%s'", a);
        if (fl->kind == EX_SWITCH) {
            *(int *)fl->dst = 1;
            continue;
        }
        /* A flag where the value should be means the value was left out: "--out --steps 5". */
        if (i + 1 >= argc || lookup(flags, argv[i + 1])) ex_flags_fail(flags, "%s needs a value (%s)", a, fl->meta);
        set_value(flags, fl, argv[++i]);
    }
    const ex_flag *missing = positional(flags, taken);
    if (missing) ex_flags_fail(flags, "%s is missing", missing->name);
}
