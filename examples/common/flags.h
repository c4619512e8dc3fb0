/* Command lines of the example programs: each declares its flags in a table, and one
 * parser checks argv against it. What the table does not describe is refused. */
#ifndef EX_FLAGS_H
#define EX_FLAGS_H

typedef enum ex_kind {
    EX_LONG,   /* dst: long * */
    EX_REAL,   /* dst: double * */
    EX_TEXT,   /* dst: const char ** (points into argv) */
    EX_CHOICE, /* dst: const char **; one of the '|'-separated words of meta */
    EX_SWITCH  /* dst: int *, set to 1; takes no value */
} ex_kind;

typedef struct ex_flag {
    const char *name;  /* "--steps"; a name without a leading '-' ("PATH") is an argument
                          given by its place, required, taken in table order */
    ex_kind kind;
    void *dst;         /* holds the default before parsing */
    const char *meta;  /* the value in the usage line: "N", "DIR"; for EX_CHOICE "ring|grid" */
    const char *range; /* numbers: an interval such as "[1, inf)" or "(0, 1]"; NULL: any */
    const char *help;  /* one line for --help */
} ex_flag;

/* Set the table's values from argv. A table ends with {0}. An unknown flag, a missing
 * value, a missing or extra argument by place, a malformed or out-of-range number or choice prints "PROG: what is wrong" and
 * the usage line on stderr and exits with status 2; --help (or -h) prints `about`, the
 * usage line and every flag's help on stdout and exits with 0. */
void ex_flags_parse(int argc, char **argv, const ex_flag *flags, const char *about);

/* A command line the table alone cannot judge (flags that conflict, a multiple of 100):
 * "PROG: message", the usage line, exit status 2. */
void ex_flags_fail(const ex_flag *flags, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));

#endif
