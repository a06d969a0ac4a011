/* Shared helpers for the Switchyard benchmark tools: clock, growable buffers,
 * a log-bucket latency histogram (HDR-style, ~1.6% precision), rusage. */
#ifndef SY_BENCH_COMMON_H
#define SY_BENCH_COMMON_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <time.h>
#include <sys/resource.h>

static inline uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static __attribute__((unused)) void die(const char *msg) { perror(msg); exit(2); }

/* ---- growable byte buffer ---- */
typedef struct {
    char *p;
    size_t len, cap;
} buf_t;

static inline void buf_reserve(buf_t *b, size_t extra) {
    if (b->len + extra <= b->cap) return;
    size_t nc = b->cap ? b->cap : 256;
    while (nc < b->len + extra) nc *= 2;
    b->p = realloc(b->p, nc);
    if (!b->p) die("realloc");
    b->cap = nc;
}
static inline void buf_append(buf_t *b, const void *d, size_t n) {
    buf_reserve(b, n);
    memcpy(b->p + b->len, d, n);
    b->len += n;
}
static inline void buf_consume(buf_t *b, size_t n) {
    if (n >= b->len) { b->len = 0; return; }
    memmove(b->p, b->p + n, b->len - n);
    b->len -= n;
}
static inline void buf_free(buf_t *b) { free(b->p); b->p = NULL; b->len = b->cap = 0; }

/* ---- log-bucket histogram of nanosecond values ---- */
#define HIST_SUB 64
#define HIST_N ((64 - 6 + 1) * HIST_SUB)
typedef struct {
    uint64_t c[HIST_N];
    uint64_t n, max, min;
    double sum;
} hist_t;

static inline int hist_idx(uint64_t v) {
    if (v < HIST_SUB) return (int)v;
    int msb = 63 - __builtin_clzll(v);
    int shift = msb - 6;
    return (shift + 1) * HIST_SUB + (int)((v >> shift) & (HIST_SUB - 1));
}
static inline uint64_t hist_val(int i) {
    if (i < HIST_SUB) return (uint64_t)i;
    int shift = i / HIST_SUB - 1;
    uint64_t sub = (uint64_t)(i % HIST_SUB);
    uint64_t low = (HIST_SUB + sub) << shift;
    return low + ((1ull << shift) >> 1);
}
static inline void hist_add(hist_t *h, uint64_t v) {
    h->c[hist_idx(v)]++;
    h->n++;
    h->sum += (double)v;
    if (v > h->max) h->max = v;
    if (h->n == 1 || v < h->min) h->min = v;
}
static __attribute__((unused)) uint64_t hist_q(const hist_t *h, double q) {
    if (!h->n) return 0;
    uint64_t want = (uint64_t)(q * (double)h->n);
    if (want >= h->n) want = h->n - 1;
    uint64_t acc = 0;
    for (int i = 0; i < HIST_N; i++) {
        acc += h->c[i];
        if (acc > want) {
            uint64_t v = hist_val(i);
            return v > h->max ? h->max : v;
        }
    }
    return h->max;
}
static inline double ns_ms(uint64_t ns) { return (double)ns / 1e6; }

static inline double rusage_cpu_s(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

#endif
