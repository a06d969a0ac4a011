/*
 * wsecho — the ceiling for scripts/bench: a minimal single-threaded epoll WebSocket
 * server in C (self-contained SHA-1 for the handshake).
 *
 *   wsecho [--port P] [--host H]          echo every text/binary message back unchanged
 *   wsecho --sio [--port P]               "just enough Socket.IO": Engine.IO open, CONNECT
 *                                         ack on "/", `echo` acked with its arguments,
 *                                         `broadcast` re-emitted to every connection.
 *
 * The first is the plain-WebSocket ceiling of the machine; the second is the ceiling of
 * the Socket.IO contract itself (no parsing beyond a prefix match, no allocations per
 * message), the figure the issue calls "a minimal C server that speaks just enough
 * Socket.IO". Neither is a real server: no ping timers, no validation.
 */
#define _GNU_SOURCE
#include "../loadgen/common.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---------------------------------------------------------------- SHA-1 (RFC 3174) */
typedef struct { uint32_t h[5]; uint64_t len; uint8_t buf[64]; size_t n; } sha1_t;

static uint32_t rol(uint32_t x, int k) { return (x << k) | (x >> (32 - k)); }

static void sha1_block(sha1_t *s, const uint8_t *p) {
    uint32_t w[80];
    for (int i = 0; i < 16; i++) w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 80; i++) w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    uint32_t a = s->h[0], b = s->h[1], c = s->h[2], d = s->h[3], e = s->h[4];
    for (int i = 0; i < 80; i++) {
        uint32_t f, k;
        if (i < 20) { f = (b & c) | (~b & d); k = 0x5A827999; }
        else if (i < 40) { f = b ^ c ^ d; k = 0x6ED9EBA1; }
        else if (i < 60) { f = (b & c) | (b & d) | (c & d); k = 0x8F1BBCDC; }
        else { f = b ^ c ^ d; k = 0xCA62C1D6; }
        uint32_t t = rol(a, 5) + f + e + k + w[i];
        e = d; d = c; c = rol(b, 30); b = a; a = t;
    }
    s->h[0] += a; s->h[1] += b; s->h[2] += c; s->h[3] += d; s->h[4] += e;
}

static void sha1(const uint8_t *d, size_t n, uint8_t out[20]) {
    sha1_t s = {{0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0}, 0, {0}, 0};
    uint64_t bits = (uint64_t)n * 8;
    while (n >= 64) { sha1_block(&s, d); d += 64; n -= 64; }
    uint8_t last[128] = {0};
    memcpy(last, d, n);
    last[n] = 0x80;
    size_t total = n + 1 + 8 <= 64 ? 64 : 128;
    for (int i = 0; i < 8; i++) last[total - 1 - i] = (uint8_t)(bits >> (8 * i));
    sha1_block(&s, last);
    if (total == 128) sha1_block(&s, last + 64);
    for (int i = 0; i < 5; i++) { out[4 * i] = (uint8_t)(s.h[i] >> 24); out[4 * i + 1] = (uint8_t)(s.h[i] >> 16); out[4 * i + 2] = (uint8_t)(s.h[i] >> 8); out[4 * i + 3] = (uint8_t)s.h[i]; }
}

static void b64(const uint8_t *d, size_t n, char *out) {
    static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)d[i] << 16 | (i + 1 < n ? (uint32_t)d[i + 1] << 8 : 0) | (i + 2 < n ? d[i + 2] : 0);
        out[o++] = t[v >> 18 & 63];
        out[o++] = t[v >> 12 & 63];
        out[o++] = i + 1 < n ? t[v >> 6 & 63] : '=';
        out[o++] = i + 2 < n ? t[v & 63] : '=';
    }
    out[o] = 0;
}

/* ---------------------------------------------------------------- server */
typedef struct conn {
    int fd, idx;
    uint8_t upgraded, out_armed, frag_op;
    buf_t rb, wb, frag;
} conn_t;

static int ep, sio_mode;
static conn_t **all; /* for broadcast in --sio mode */
static int nall, capall;
static uint64_t sid_counter;

static void conn_close(conn_t *c) {
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->fd = -1;
    if (c->idx >= 0) { all[c->idx] = all[--nall]; all[c->idx]->idx = c->idx; c->idx = -1; }
    buf_free(&c->rb); buf_free(&c->wb); buf_free(&c->frag);
    free(c);
}

static int conn_write(conn_t *c, const void *d, size_t n) {
    if (c->wb.len) { buf_append(&c->wb, d, n); return 0; }
    ssize_t w = write(c->fd, d, n);
    if (w < 0) {
        if (errno != EAGAIN) return -1;
        w = 0;
    }
    if ((size_t)w < n) {
        buf_append(&c->wb, (const char *)d + w, n - (size_t)w);
        if (!c->out_armed) {
            struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
            epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
            c->out_armed = 1;
        }
    }
    return 0;
}

static size_t frame_hdr(uint8_t *h, int op, size_t n) {
    size_t k = 0;
    h[k++] = (uint8_t)(0x80 | op);
    if (n < 126) h[k++] = (uint8_t)n;
    else if (n < 65536) { h[k++] = 126; h[k++] = (uint8_t)(n >> 8); h[k++] = (uint8_t)n; }
    else { h[k++] = 127; for (int i = 7; i >= 0; i--) h[k++] = (uint8_t)((uint64_t)n >> (8 * i)); }
    return k;
}

static int send_frame(conn_t *c, int op, const char *p, size_t n) {
    char stackbuf[4096];
    char *out = n + 10 <= sizeof stackbuf ? stackbuf : malloc(n + 10);
    size_t h = frame_hdr((uint8_t *)out, op, n);
    memcpy(out + h, p, n);
    int r = conn_write(c, out, h + n);
    if (out != stackbuf) free(out);
    return r;
}

/* "just enough Socket.IO" */
static int sio_message(conn_t *c, char *p, size_t n) {
    if (n >= 2 && p[0] == '4' && p[1] == '0') {
        char r[64];
        int k = snprintf(r, sizeof r, "40{\"sid\":\"s%llu\"}", (unsigned long long)++sid_counter);
        return send_frame(c, 1, r, (size_t)k);
    }
    if (n >= 2 && p[0] == '4' && p[1] == '2') {
        size_t i = 2;
        while (i < n && p[i] >= '0' && p[i] <= '9') i++;
        if (i > 2 && n - i > 9 && !memcmp(p + i, "[\"echo\",", 8)) {
            /* 42<id>["echo",X] -> 43<id>[X] */
            char stackbuf[4096];
            size_t outn = n - 7;
            char *o = outn <= sizeof stackbuf ? stackbuf : malloc(outn);
            memcpy(o, p, i);
            o[1] = '3';
            o[i] = '[';
            memcpy(o + i + 1, p + i + 8, n - i - 8);
            int r = send_frame(c, 1, o, outn);
            if (o != stackbuf) free(o);
            return r;
        }
        if (i == 2 && n > 14 && !memcmp(p + 2, "[\"broadcast\",", 13)) {
            char hb[10];
            size_t h = frame_hdr((uint8_t *)hb, 1, n);
            char stackbuf[4096];
            char *o = n + h <= sizeof stackbuf ? stackbuf : malloc(n + h);
            memcpy(o, hb, h);
            memcpy(o + h, p, n);
            for (int k = nall - 1; k >= 0; k--) {
                conn_t *d = all[k];
                conn_write(d, o, n + h); /* a failed peer is closed by its own event */
            }
            if (o != stackbuf) free(o);
        }
        return 0;
    }
    return 0; /* pongs ("3") and everything else ignored */
}

static int on_message(conn_t *c, int op, char *p, size_t n) {
    if (sio_mode) return sio_message(c, p, n);
    return send_frame(c, op, p, n);
}

static int handshake(conn_t *c) {
    char *e = memmem(c->rb.p, c->rb.len, "\r\n\r\n", 4);
    if (!e) return c->rb.len > 8192 ? -1 : 0;
    char *k = NULL;
    for (char *l = c->rb.p; l < e; ) {
        char *nl = memchr(l, '\n', (size_t)(e + 2 - l));
        if (!nl) break;
        if (!strncasecmp(l, "sec-websocket-key:", 18)) { k = l + 18; while (*k == ' ') k++; }
        l = nl + 1;
    }
    if (!k) return -1;
    size_t kl = 0;
    while (k[kl] != '\r' && k[kl] != '\n' && k[kl] != ' ') kl++;
    char in[128];
    if (kl > 64) return -1;
    memcpy(in, k, kl);
    memcpy(in + kl, "258EAFA5-E914-47DA-95CA-C5AB0DC85B11", 36);
    uint8_t dg[20];
    sha1((uint8_t *)in, kl + 36, dg);
    char acc[32];
    b64(dg, 20, acc);
    char resp[256];
    int n = snprintf(resp, sizeof resp,
                     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Accept: %s\r\n\r\n", acc);
    if (conn_write(c, resp, (size_t)n) < 0) return -1;
    buf_consume(&c->rb, (size_t)(e + 4 - c->rb.p));
    c->upgraded = 1;
    if (sio_mode) {
        char open[192];
        int k2 = snprintf(open, sizeof open,
                          "0{\"sid\":\"e%llu\",\"upgrades\":[],\"pingInterval\":25000,\"pingTimeout\":20000,\"maxPayload\":1000000}",
                          (unsigned long long)++sid_counter);
        if (send_frame(c, 1, open, (size_t)k2) < 0) return -1;
        if (nall == capall) { capall = capall ? capall * 2 : 1024; all = realloc(all, sizeof *all * (size_t)capall); }
        c->idx = nall;
        all[nall++] = c;
    }
    return 1;
}

/* returns -1 to close */
static int frames(conn_t *c) {
    size_t off = 0;
    uint8_t *d = (uint8_t *)c->rb.p;
    size_t n = c->rb.len;
    int rc = 0;
    while (n - off >= 2) {
        uint8_t b0 = d[off], b1 = d[off + 1];
        int fin = b0 & 0x80, op = b0 & 15, masked = b1 & 0x80;
        uint64_t pl = b1 & 127;
        size_t h = 2;
        if (pl == 126) { if (n - off < 4) break; pl = (uint64_t)d[off + 2] << 8 | d[off + 3]; h = 4; }
        else if (pl == 127) { if (n - off < 10) break; pl = 0; for (int i = 0; i < 8; i++) pl = pl << 8 | d[off + 2 + i]; h = 10; }
        if (masked) h += 4;
        if (n - off < h + pl) break;
        uint8_t *p = d + off + h;
        if (masked) { uint8_t *m = p - 4; for (uint64_t i = 0; i < pl; i++) p[i] ^= m[i & 3]; }
        off += h + pl;
        if (op == 8) { send_frame(c, 8, (char *)p, pl > 125 ? 0 : pl); rc = -1; break; }
        if (op == 9) { if (send_frame(c, 10, (char *)p, pl) < 0) { rc = -1; break; } continue; }
        if (op == 10) continue;
        if (op == 0) {
            buf_append(&c->frag, p, pl);
            if (fin) { if (on_message(c, c->frag_op, c->frag.p, c->frag.len) < 0) { rc = -1; break; } c->frag.len = 0; }
            continue;
        }
        if (!fin) { c->frag_op = (uint8_t)op; c->frag.len = 0; buf_append(&c->frag, p, pl); continue; }
        if (on_message(c, op, (char *)p, pl) < 0) { rc = -1; break; }
    }
    if (rc == 0) buf_consume(&c->rb, off);
    return rc;
}

int main(int argc, char **argv) {
    const char *host = "127.0.0.1";
    int port = 3003;
    static struct option opts[] = {{"port", 1, 0, 'p'}, {"host", 1, 0, 'H'}, {"sio", 0, 0, 's'}, {0, 0, 0, 0}};
    int o;
    while ((o = getopt_long(argc, argv, "p:", opts, NULL)) != -1) {
        if (o == 'p') port = atoi(optarg);
        else if (o == 'H') host = optarg;
        else if (o == 's') sio_mode = 1;
        else { fprintf(stderr, "usage: wsecho [--sio] [--host H] [--port P]\n"); return 2; }
    }
    signal(SIGPIPE, SIG_IGN);
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);

    int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, host, &a.sin_addr);
    if (bind(ls, (struct sockaddr *)&a, sizeof a) < 0) die("bind");
    if (listen(ls, 4096) < 0) die("listen");
    ep = epoll_create1(0);
    struct epoll_event lev = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(ep, EPOLL_CTL_ADD, ls, &lev);
    fprintf(stderr, "wsecho%s listening on %s:%d\n", sio_mode ? " --sio" : "", host, port);

    static uint8_t rbuf[1 << 16];
    struct epoll_event evs[512];
    for (;;) {
        int n = epoll_wait(ep, evs, 512, -1);
        if (n < 0) { if (errno == EINTR) continue; die("epoll_wait"); }
        for (int i = 0; i < n; i++) {
            conn_t *c = evs[i].data.ptr;
            if (!c) {
                for (;;) {
                    int fd = accept4(ls, NULL, NULL, SOCK_NONBLOCK);
                    if (fd < 0) break;
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    conn_t *nc = calloc(1, sizeof *nc);
                    nc->fd = fd;
                    nc->idx = -1;
                    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = nc};
                    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
                }
                continue;
            }
            int dead = 0;
            if (evs[i].events & EPOLLOUT) {
                while (c->wb.len) {
                    ssize_t w = write(c->fd, c->wb.p, c->wb.len);
                    if (w < 0) { if (errno != EAGAIN) dead = 1; break; }
                    buf_consume(&c->wb, (size_t)w);
                }
                if (!dead && !c->wb.len) {
                    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
                    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
                    c->out_armed = 0;
                }
            }
            if (!dead && (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
                ssize_t r = read(c->fd, rbuf, sizeof rbuf);
                if (r == 0 || (r < 0 && errno != EAGAIN)) dead = 1;
                else if (r > 0) {
                    buf_append(&c->rb, rbuf, (size_t)r);
                    if (!c->upgraded) {
                        int h = handshake(c);
                        if (h < 0) dead = 1;
                    }
                    if (!dead && c->upgraded && frames(c) < 0) dead = 1;
                }
            }
            if (dead) conn_close(c);
        }
    }
}
