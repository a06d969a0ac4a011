/*
 * loadgen — Switchyard's own load generator (issue 7).
 *
 * One thread, epoll, non-blocking sockets. Speaks RFC 6455 WebSocket (client side:
 * masked frames; fragmentation, ping and close from the server handled), Engine.IO v4
 * and Socket.IO v5 directly, or raw HTTP/1.1 keep-alive long-polling.
 *
 * Scenarios (JSON result on stdout, progress on stderr):
 *   echo       N connections, each a closed loop: 42<id>["echo",{"n":i,"data":"<S>"}]
 *              then wait for 43<id>[...]. acks/s and latency p50/p99/p999.
 *   broadcast  N receivers + 1 sender emitting 42["broadcast",{"t":<ns>,"i":<k>}] at R/s;
 *              deliveries/s, delivered %, fan-out latency, time until the last receiver.
 *   connect    open N connections (bounded handshake concurrency), hold them idle,
 *              sample the server's RSS: connections/s, handshake latency, bytes/conn.
 *   polling    the echo scenario over HTTP long-polling (alias: echo --transport polling).
 *   recover    connection state recovery (issue 12): N receivers + 1 sender connect to a server
 *              with connectionStateRecovery on; one broadcast gives every receiver an offset;
 *              the receivers drop their TCP connections, the sender broadcasts M more events
 *              (missed), then (with --wait-restart) the generator prints "loadgen: restart now"
 *              and waits for a line on stdin while the server restarts; then every receiver
 *              reconnects with 40{"pid","offset"}: time from the first reconnect to the last
 *              CONNECT reply, recovered (old sid back) or not, missed events replayed in order.
 * --proto plain: plain WebSocket echo of the same bytes (the ceiling), no EIO/SIO framing.
 * --proto msgpack: the echo over socket.io-msgpack-parser packets (binary frames holding
 *              {type, data, id, nsp} MessagePack maps) instead of the default text parser.
 *
 * See bench/README.md or `loadgen --help`.
 */
#define _GNU_SOURCE
#include "common.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

enum { SC_ECHO, SC_BROADCAST, SC_CONNECT, SC_RECOVER };
enum { PR_SIO, PR_PLAIN, PR_MSGPACK };
enum { TR_WS, TR_POLL };
enum { P_CONNECT, P_WARMUP, P_MEASURE, P_DRAIN, P_SETTLE, P_HOLD, P_PRIME, P_DROP, P_RECONNECT, P_DONE };
enum { S_NEW, S_UPGRADE, S_EIO_OPEN, S_SIO_CONNECT, S_READY, S_DEAD };
enum { ROLE_NORMAL, ROLE_SENDER };

static struct {
    int scenario, proto, transport;
    const char *host;
    int port;
    int sender_port; /* broadcast: the sender's server (another node of a cluster); 0 = --port */
    int conns, size, rate, concurrency, src_ips;
    double warmup, duration, hold, settle, drain, connect_timeout;
    int server_pid;
    int missed, wait_restart, reconnect_port; /* recover */
    const char *label;
} cfg = {
    .scenario = SC_ECHO, .proto = PR_SIO, .transport = TR_WS,
    .host = "127.0.0.1", .port = 3000,
    .conns = -1, .size = 64, .rate = 100, .concurrency = 200, .src_ips = 0,
    .warmup = 2, .duration = 10, .hold = 5, .settle = 2, .drain = 3, .connect_timeout = 120,
    .server_pid = 0, .missed = 10, .wait_restart = 0, .label = "",
};

struct sess;

typedef struct conn {
    int fd;
    uint8_t connected; /* TCP connect completed */
    uint8_t upgraded;  /* WebSocket 101 seen */
    uint8_t is_get;    /* polling: the GET (long-poll) connection */
    uint8_t inflight;  /* polling: a request awaits its response */
    uint8_t frag_op;
    uint8_t out_armed; /* EPOLLOUT registered */
    buf_t rb, wb, frag;
    struct sess *s;
} conn_t;

typedef struct sess {
    int idx;
    uint8_t state, role;
    conn_t *ws, *get, *post;
    char sid[64];
    uint64_t t_open, t_sent;
    uint32_t next_id, await_id;
    int outstanding;
    buf_t postq;
    /* recover: the Socket.IO socket id and private session id of the first CONNECT reply, the
     * offset (last argument) of the last event seen before the drop, and what came back */
    char sio_sid[32], pid[32], offset[48];
    int64_t last_i;
    uint32_t replayed;
} sess_t;

/* ---- global state ---- */
static int ep;
static uint64_t t0;
static int phase = P_CONNECT;
static sess_t *sessions;
static int nsess, opened, inflight_hs, nready, nfailed;
static uint64_t t_first_open, t_all_connected, phase_end;
static uint64_t t_measure_start, t_measure_end;
static double cpu_measure_start, cpu_measure_end, cpu_connect_start, cpu_connect_end;
/* the server's CPU seconds from the first connection opened to the last one ready (-1: no --server-pid) */
static double srv_connect_start = -1, srv_connect_end = -1;
static double srv_cpu_start, srv_cpu_end;
static struct sockaddr_in dst, sender_dst;
static char hostport[128];
static char *echo_data;
static uint32_t rng = 0x9e3779b9u;

/* counters */
static uint64_t acks_measured, acks_total, pings_answered, server_closes, disconnects_ready;
static uint64_t connect_errors, http_errors, proto_errors, unexpected_acks, sio_connect_errors;
/* acks whose first argument is an {"error": …} object: the server refused or failed the event */
static uint64_t error_acks;
static hist_t h_lat, h_hs, h_fan, h_last;

/* broadcast */
static uint64_t bc_period_ns, bc_next_send;
static uint32_t bc_sent, bc_first_measured, bc_end_measured, bc_cap;
static uint32_t *bc_count;
static uint64_t bc_delivered, bc_delivered_outside, bc_dups, bc_complete;

/* connect */
static long rss_before_kb, rss_after_kb, rss_end_kb;

/* recover */
static int open_limit; /* sessions [opened, open_limit) are still to be opened */
static uint32_t rc_sent;
static int rc_primed;
static uint64_t rc_prime_start, rc_drop_at, rc_restart_wait_ns, rc_reconnect_start, rc_last_reply;
static uint64_t rc_recovered, rc_not_recovered, rc_replay_exact, rc_replayed, rc_order_errors, rc_missing_pid;
static hist_t h_rec;

static void sess_fail(sess_t *s, uint64_t *counter);
static void on_ready(sess_t *s);
static void send_echo(sess_t *s);
static void poll_issue_get(sess_t *s);

static inline uint32_t xs32(void) {
    rng ^= rng << 13; rng ^= rng >> 17; rng ^= rng << 5;
    return rng;
}

static long read_rss_kb(int pid) {
    if (pid <= 0) return -1;
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    long kb = -1;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "VmRSS:", 6)) { kb = strtol(line + 6, NULL, 10); break; }
    fclose(f);
    return kb;
}

static double read_proc_cpu_s(int pid) {
    if (pid <= 0) return -1;
    char path[64], b[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    size_t n = fread(b, 1, sizeof b - 1, f);
    fclose(f);
    b[n] = 0;
    char *p = strrchr(b, ')');
    if (!p) return -1;
    unsigned long ut = 0, st = 0;
    /* after ')': state(3) ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime(14) stime(15) */
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2) return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* ------------------------------------------------------------------ sockets */

static void conn_arm_out(conn_t *c, int on) {
    if (c->out_armed == on) return;
    struct epoll_event ev = {.events = EPOLLIN | (on ? EPOLLOUT : 0), .data.ptr = c};
    if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) < 0) die("epoll_ctl mod");
    c->out_armed = on;
}

static void conn_close(conn_t *c) {
    if (!c || c->fd < 0) return;
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->fd = -1;
    c->connected = c->upgraded = c->inflight = 0;
    c->rb.len = c->wb.len = c->frag.len = 0;
}

static int conn_open(conn_t *c) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) { perror("socket"); return -1; }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (cfg.src_ips > 1) {
        static uint32_t rr;
        struct sockaddr_in src = {.sin_family = AF_INET};
        src.sin_addr.s_addr = htonl(0x7f000001u + (rr++ % (uint32_t)cfg.src_ips));
        setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
        if (bind(fd, (struct sockaddr *)&src, sizeof src) < 0) { perror("bind"); close(fd); return -1; }
    }
    const struct sockaddr_in *to = (c->s && c->s->role == ROLE_SENDER && cfg.sender_port) ? &sender_dst : &dst;
    int r = connect(fd, (const struct sockaddr *)to, sizeof *to);
    if (r < 0 && errno != EINPROGRESS) { perror("connect"); close(fd); return -1; }
    c->fd = fd;
    c->connected = 0;
    c->out_armed = 1;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) die("epoll_ctl add");
    return 0;
}

/* Write now if possible; otherwise queue and wait for EPOLLOUT. Returns -1 on a dead socket. */
static int conn_write(conn_t *c, const void *d, size_t n) {
    if (c->fd < 0) return -1;
    if (!c->connected || c->wb.len) { buf_append(&c->wb, d, n); return 0; }
    ssize_t w = write(c->fd, d, n);
    if (w < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK) return -1;
        w = 0;
    }
    if ((size_t)w < n) {
        buf_append(&c->wb, (const char *)d + w, n - (size_t)w);
        conn_arm_out(c, 1);
    }
    return 0;
}

static int conn_flush(conn_t *c) {
    while (c->wb.len) {
        ssize_t w = write(c->fd, c->wb.p, c->wb.len);
        if (w < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
            return -1;
        }
        buf_consume(&c->wb, (size_t)w);
    }
    conn_arm_out(c, 0);
    return 0;
}

/* ------------------------------------------------------------------ WebSocket client */

static void ws_send(conn_t *c, int op, const char *p, size_t n) {
    uint8_t hdr[14];
    size_t h = 0;
    hdr[h++] = (uint8_t)(0x80 | op);
    if (n < 126) hdr[h++] = (uint8_t)(0x80 | n);
    else if (n < 65536) { hdr[h++] = 0x80 | 126; hdr[h++] = (uint8_t)(n >> 8); hdr[h++] = (uint8_t)n; }
    else { hdr[h++] = 0x80 | 127; for (int i = 7; i >= 0; i--) hdr[h++] = (uint8_t)((uint64_t)n >> (8 * i)); }
    uint32_t mk = xs32();
    uint8_t m[4];
    memcpy(m, &mk, 4);
    memcpy(hdr + h, m, 4);
    h += 4;
    char stackbuf[2048];
    char *out = (h + n <= sizeof stackbuf) ? stackbuf : malloc(h + n);
    memcpy(out, hdr, h);
    for (size_t i = 0; i < n; i++) out[h + i] = p[i] ^ m[i & 3];
    if (conn_write(c, out, h + n) < 0 && c->s) sess_fail(c->s, &disconnects_ready);
    if (out != stackbuf) free(out);
}

static void ws_start(conn_t *c) {
    char req[512];
    const char *path = cfg.proto == PR_PLAIN ? "/" : "/socket.io/?EIO=4&transport=websocket";
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
                     path, hostport);
    conn_write(c, req, (size_t)n);
}

/* ------------------------------------------------------------------ Engine.IO / Socket.IO */

static void sess_send(sess_t *s, const char *p, size_t n);

static uint64_t parse_num_after(const char *p, size_t n, const char *key) {
    const char *k = memmem(p, n, key, strlen(key));
    if (!k) return UINT64_MAX;
    k += strlen(key);
    while (k < p + n && (*k == ' ')) k++;
    char tmp[40];
    size_t l = 0;
    while (k + l < p + n && l < sizeof tmp - 1 &&
           (k[l] == '-' || k[l] == '+' || k[l] == '.' || k[l] == 'e' || k[l] == 'E' || (k[l] >= '0' && k[l] <= '9')))
        l++;
    memcpy(tmp, k, l);
    tmp[l] = 0;
    if (!l) return UINT64_MAX;
    double v = strtod(tmp, NULL);
    if (v < 0) return UINT64_MAX;
    return (uint64_t)(v + 0.5);
}

/* Copies the JSON string value of "key": into out (no escapes expected: ids and offsets). */
static int json_str_after(const char *p, size_t n, const char *key, char *out, size_t cap) {
    const char *k = memmem(p, n, key, strlen(key));
    if (!k) return 0;
    k += strlen(key);
    if (k >= p + n || *k != '"') return 0;
    k++;
    size_t l = 0;
    while (k + l < p + n && k[l] != '"' && l < cap - 1) l++;
    if (k + l >= p + n || k[l] != '"') return 0;
    memcpy(out, k, l);
    out[l] = 0;
    return 1;
}

static void rc_send(void);

/* recover: 42["broadcast",{"t":…,"i":k},"<offset>"] — the offset is the last argument. */
static void rc_event(sess_t *s, const char *p, size_t n) {
    if (s->role == ROLE_SENDER) return;
    uint64_t i = parse_num_after(p, n, "\"i\":");
    const char *end = p + n;
    while (end > p && end[-1] != ']') end--;
    const char *q = end - 1; /* the ']' */
    if (i == UINT64_MAX || q <= p || q[-1] != '"') { proto_errors++; return; }
    const char *e = q - 1, *b = e;
    while (b > p && b[-1] != '"') b--;
    size_t l = (size_t)(e - b);
    if (l >= sizeof s->offset) { proto_errors++; return; }
    if (phase == P_PRIME) {
        if (s->last_i < 0) rc_primed++;
        memcpy(s->offset, b, l);
        s->offset[l] = 0;
        s->last_i = (int64_t)i;
    } else if (phase == P_RECONNECT && s->state == S_SIO_CONNECT) {
        /* replayed before the CONNECT reply, each once and in order */
        if ((int64_t)i != s->last_i + 1) rc_order_errors++;
        s->last_i = (int64_t)i;
        s->replayed++;
        rc_replayed++;
    }
}

static void rc_connected(sess_t *s, const char *p, size_t n) {
    char sid[sizeof s->sio_sid];
    if (!json_str_after(p, n, "\"sid\":", sid, sizeof sid)) { proto_errors++; return; }
    if (phase != P_RECONNECT) {
        memcpy(s->sio_sid, sid, sizeof sid);
        if (!json_str_after(p, n, "\"pid\":", s->pid, sizeof s->pid)) rc_missing_pid++;
        s->last_i = -1;
        return;
    }
    uint64_t now = now_ns();
    rc_last_reply = now;
    hist_add(&h_rec, now - s->t_open);
    if (!strcmp(sid, s->sio_sid)) {
        rc_recovered++;
        if (s->replayed == (uint32_t)cfg.missed && s->last_i == cfg.missed) rc_replay_exact++;
    } else {
        rc_not_recovered++;
    }
}

static void on_broadcast(sess_t *s, const char *p, size_t n) {
    if (s->role == ROLE_SENDER) return;
    uint64_t now = now_ns() - t0;
    uint64_t t = parse_num_after(p, n, "\"t\":");
    uint64_t i = parse_num_after(p, n, "\"i\":");
    if (t == UINT64_MAX || i == UINT64_MAX || i >= bc_cap) { proto_errors++; return; }
    uint64_t lat = now > t ? now - t : 0;
    uint32_t c = ++bc_count[i];
    if (c > (uint32_t)cfg.conns) { bc_dups++; return; }
    if (i >= bc_first_measured && i < bc_end_measured) {
        bc_delivered++;
        hist_add(&h_fan, lat);
        if (c == (uint32_t)cfg.conns) { bc_complete++; hist_add(&h_last, lat); }
    } else {
        bc_delivered_outside++;
    }
}

static void on_ack(sess_t *s, uint32_t id) {
    if (!s->outstanding || id != s->await_id) { unexpected_acks++; return; }
    uint64_t lat = now_ns() - s->t_sent;
    s->outstanding = 0;
    acks_total++;
    if (phase == P_MEASURE) { acks_measured++; hist_add(&h_lat, lat); }
    if (phase == P_WARMUP || phase == P_MEASURE) send_echo(s);
}

/* One Socket.IO packet (the Engine.IO message payload after the leading '4'). */
static void sio_packet(sess_t *s, const char *p, size_t n) {
    if (!n) { proto_errors++; return; }
    switch (p[0]) {
    case '0': /* CONNECT ack on "/" */
        if (s->state == S_SIO_CONNECT) {
            if (cfg.scenario == SC_RECOVER && s->role != ROLE_SENDER) rc_connected(s, p + 1, n - 1);
            s->state = S_READY;
            on_ready(s);
        }
        break;
    case '4':
        sio_connect_errors++;
        sess_fail(s, NULL);
        break;
    case '1':
        sess_fail(s, &server_closes);
        break;
    case '3': { /* ACK 3<id>[...] */
        uint32_t id = 0;
        size_t i = 1;
        if (i < n && p[i] == '/') { while (i < n && p[i] != ',') i++; i++; }
        while (i < n && p[i] >= '0' && p[i] <= '9') id = id * 10 + (uint32_t)(p[i++] - '0');
        if (i + 10 <= n && !memcmp(p + i, "[{\"error\":", 10)) error_acks++;
        on_ack(s, id);
        break;
    }
    case '2':
        if (cfg.scenario == SC_BROADCAST && memmem(p, n < 32 ? n : 32, "\"broadcast\"", 11)) on_broadcast(s, p, n);
        if (cfg.scenario == SC_RECOVER && memmem(p, n < 32 ? n : 32, "\"broadcast\"", 11)) rc_event(s, p, n);
        break;
    default:
        proto_errors++;
    }
}

/* One Engine.IO packet. */
static void eio_packet(sess_t *s, const char *p, size_t n) {
    if (!n) return;
    switch (p[0]) {
    case '0': /* open */
        if (s->state == S_EIO_OPEN) {
            if (cfg.transport == TR_POLL) {
                const char *k = memmem(p, n, "\"sid\":\"", 7);
                if (!k) { proto_errors++; sess_fail(s, NULL); return; }
                k += 7;
                size_t l = 0;
                while (k + l < p + n && k[l] != '"' && l < sizeof s->sid - 1) l++;
                memcpy(s->sid, k, l);
                s->sid[l] = 0;
            }
            s->state = S_SIO_CONNECT;
            if (cfg.proto == PR_MSGPACK) {
                /* {type: 0, nsp: "/"} */
                static const char connect[] = "\x82" "\xa4" "type" "\x00" "\xa3" "nsp" "\xa1" "/";
                ws_send(s->ws, 2, connect, sizeof connect - 1);
            } else if (cfg.scenario == SC_RECOVER && phase == P_RECONNECT && s->pid[0]) {
                char msg[160];
                int l = s->offset[0] ? snprintf(msg, sizeof msg, "40{\"pid\":\"%s\",\"offset\":\"%s\"}", s->pid, s->offset)
                                     : snprintf(msg, sizeof msg, "40{\"pid\":\"%s\"}", s->pid);
                sess_send(s, msg, (size_t)l);
            } else {
                sess_send(s, "40", 2);
            }
        }
        break;
    case '2': /* ping */
        pings_answered++;
        sess_send(s, "3", 1);
        break;
    case '4':
        sio_packet(s, p + 1, n - 1);
        break;
    case '1':
        sess_fail(s, &server_closes);
        break;
    case '3': case '6':
        break;
    default:
        proto_errors++;
    }
}

/* A msgpack unsigned integer at p[*i] (fixint, uint 8/16/32); -1 if something else. */
static int64_t mp_uint(const uint8_t *p, size_t n, size_t *i) {
    if (*i >= n) return -1;
    uint8_t b = p[(*i)++];
    if (b < 0x80) return b;
    int w = b == 0xcc ? 1 : b == 0xcd ? 2 : b == 0xce ? 4 : 0;
    if (!w || *i + (size_t)w > n) return -1;
    int64_t v = 0;
    for (int k = 0; k < w; k++) v = (v << 8) | p[(*i)++];
    return v;
}

/* One msgpack-parser packet as Switchyard writes it: ACK {id, type: 3, …}, or
 * {type: 0|1|2|4, …} (CONNECT, DISCONNECT, EVENT, CONNECT_ERROR). */
static void msgpack_packet(sess_t *s, const uint8_t *p, size_t n) {
    if (n < 5 || (p[0] & 0xf0) != 0x80) { proto_errors++; return; }
    size_t i = 1;
    if (p[i] == 0xa2 && i + 3 <= n && !memcmp(p + i + 1, "id", 2)) {
        i += 3;
        int64_t id = mp_uint(p, n, &i);
        if (id < 0) { proto_errors++; return; }
        if (memmem(p + i, n - i, "\xa5" "error", 6)) error_acks++;
        on_ack(s, (uint32_t)id);
        return;
    }
    if (p[i] != 0xa4 || i + 6 > n || memcmp(p + i + 1, "type", 4)) { proto_errors++; return; }
    switch (p[i + 5]) {
    case 0: if (s->state == S_SIO_CONNECT) { s->state = S_READY; on_ready(s); } break;
    case 1: sess_fail(s, &server_closes); break;
    case 2: break;
    case 4: sio_connect_errors++; sess_fail(s, NULL); break;
    default: proto_errors++;
    }
}

static void ws_message(conn_t *c, int op, char *p, size_t n) {
    sess_t *s = c->s;
    if (cfg.proto == PR_MSGPACK && op == 2) { msgpack_packet(s, (const uint8_t *)p, n); return; }
    if (cfg.proto == PR_PLAIN) {
        if (s->outstanding) on_ack(s, s->await_id);
        else unexpected_acks++;
        return;
    }
    eio_packet(s, p, n);
}

/* Parse WebSocket frames from d[0..n); returns bytes consumed. */
static size_t ws_parse(conn_t *c, uint8_t *d, size_t n) {
    size_t off = 0;
    while (n - off >= 2) {
        uint8_t b0 = d[off], b1 = d[off + 1];
        int fin = b0 & 0x80, op = b0 & 0x0f, masked = b1 & 0x80;
        uint64_t plen = b1 & 0x7f;
        size_t h = 2;
        if (plen == 126) {
            if (n - off < 4) break;
            plen = ((uint64_t)d[off + 2] << 8) | d[off + 3];
            h = 4;
        } else if (plen == 127) {
            if (n - off < 10) break;
            plen = 0;
            for (int i = 0; i < 8; i++) plen = (plen << 8) | d[off + 2 + i];
            h = 10;
        }
        if (masked) h += 4;
        if (n - off < h + plen) break;
        uint8_t *pl = d + off + h;
        if (masked) {
            uint8_t *m = d + off + h - 4;
            for (uint64_t i = 0; i < plen; i++) pl[i] ^= m[i & 3];
        }
        off += h + plen;
        if (op == 0x9) { ws_send(c, 0xA, (char *)pl, plen); }
        else if (op == 0xA) { /* pong */ }
        else if (op == 0x8) { sess_fail(c->s, &server_closes); return n; }
        else if (op == 0x0) {
            buf_append(&c->frag, pl, plen);
            if (fin) { ws_message(c, c->frag_op, c->frag.p, c->frag.len); c->frag.len = 0; }
        } else if (fin) {
            ws_message(c, op, (char *)pl, plen);
        } else {
            c->frag_op = (uint8_t)op;
            c->frag.len = 0;
            buf_append(&c->frag, pl, plen);
        }
        if (c->fd < 0) return n;
    }
    return off;
}

/* WebSocket upgrade response; returns bytes consumed or 0 when incomplete. */
static size_t ws_upgrade_parse(conn_t *c, char *d, size_t n) {
    char *e = memmem(d, n, "\r\n\r\n", 4);
    if (!e) return 0;
    if (n < 12 || memcmp(d + 9, "101", 3) != 0) {
        proto_errors++;
        sess_fail(c->s, &connect_errors);
        return n;
    }
    c->upgraded = 1;
    sess_t *s = c->s;
    if (cfg.proto == PR_PLAIN) { s->state = S_READY; on_ready(s); }
    else s->state = S_EIO_OPEN;
    return (size_t)(e + 4 - d);
}

/* ------------------------------------------------------------------ HTTP long-polling */

static buf_t http_tmp;

/* Try to parse one HTTP response. Returns 1 with status/body set, 0 incomplete, -1 error. */
static int http_parse(char *d, size_t n, int *status, char **body, size_t *blen, size_t *used, int *close_after) {
    char *e = memmem(d, n, "\r\n\r\n", 4);
    if (!e) return 0;
    if (n < 12 || memcmp(d, "HTTP/1.", 7) != 0) return -1;
    *status = atoi(d + 9);
    long clen = -1;
    int chunked = 0;
    *close_after = 0;
    char *line = memchr(d, '\n', (size_t)(e - d)) + 1;
    while (line < e) {
        char *nl = memchr(line, '\n', (size_t)(e + 2 - line));
        if (!nl) break;
        size_t ll = (size_t)(nl - line);
        if (ll > 15 && !strncasecmp(line, "content-length:", 15)) clen = strtol(line + 15, NULL, 10);
        else if (ll > 18 && !strncasecmp(line, "transfer-encoding:", 18) && memmem(line, ll, "chunked", 7)) chunked = 1;
        else if (ll > 11 && !strncasecmp(line, "connection:", 11) && (memmem(line, ll, "close", 5) || memmem(line, ll, "Close", 5))) *close_after = 1;
        line = nl + 1;
    }
    char *b = e + 4;
    size_t avail = n - (size_t)(b - d);
    if (chunked) {
        http_tmp.len = 0;
        size_t off = 0;
        for (;;) {
            char *crlf = memmem(b + off, avail - off, "\r\n", 2);
            if (!crlf) return 0;
            long sz = strtol(b + off, NULL, 16);
            size_t start = (size_t)(crlf + 2 - b);
            if (sz == 0) {
                /* no trailers supported: expect the final CRLF */
                if (avail < start + 2) return 0;
                *used = (size_t)(b - d) + start + 2;
                break;
            }
            if (avail < start + (size_t)sz + 2) return 0;
            buf_append(&http_tmp, b + start, (size_t)sz);
            off = start + (size_t)sz + 2;
        }
        *body = http_tmp.p;
        *blen = http_tmp.len;
        return 1;
    }
    if (clen < 0) clen = 0;
    if (avail < (size_t)clen) return 0;
    *body = b;
    *blen = (size_t)clen;
    *used = (size_t)(b - d) + (size_t)clen;
    return 1;
}

static void http_request(sess_t *s, conn_t *c, const char *method, const char *body, size_t blen) {
    if (c->fd < 0 && conn_open(c) < 0) { sess_fail(s, &connect_errors); return; }
    char hdr[512];
    int n;
    if (s->sid[0])
        n = snprintf(hdr, sizeof hdr, "%s /socket.io/?EIO=4&transport=polling&sid=%s HTTP/1.1\r\nHost: %s\r\n", method, s->sid, hostport);
    else
        n = snprintf(hdr, sizeof hdr, "%s /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: %s\r\n", method, hostport);
    if (body) n += snprintf(hdr + n, sizeof hdr - (size_t)n, "Content-Type: text/plain;charset=UTF-8\r\nContent-Length: %zu\r\n", blen);
    n += snprintf(hdr + n, sizeof hdr - (size_t)n, "\r\n");
    c->inflight = 1;
    if (body && blen + (size_t)n < 4096) {
        char out[4096];
        memcpy(out, hdr, (size_t)n);
        memcpy(out + n, body, blen);
        if (conn_write(c, out, (size_t)n + blen) < 0) sess_fail(s, &disconnects_ready);
    } else {
        if (conn_write(c, hdr, (size_t)n) < 0) { sess_fail(s, &disconnects_ready); return; }
        if (body && conn_write(c, body, blen) < 0) sess_fail(s, &disconnects_ready);
    }
}

static void poll_flush_post(sess_t *s) {
    if (s->post->inflight || !s->postq.len || s->state == S_DEAD) return;
    /* send a copy: postq may be appended to while the request is in flight */
    static buf_t body;
    body.len = 0;
    buf_append(&body, s->postq.p, s->postq.len);
    s->postq.len = 0;
    http_request(s, s->post, "POST", body.p, body.len);
}

static void poll_issue_get(sess_t *s) {
    if (s->state == S_DEAD || s->get->inflight || phase == P_DONE) return;
    http_request(s, s->get, "GET", NULL, 0);
}

static void poll_response(conn_t *c, int status, char *body, size_t blen) {
    sess_t *s = c->s;
    c->inflight = 0;
    if (status != 200) {
        if (http_errors < 5) fprintf(stderr, "loadgen: HTTP %d on %s: %.*s\n", status, c->is_get ? "GET" : "POST", (int)(blen > 200 ? 200 : blen), body);
        sess_fail(s, &http_errors);
        return;
    }
    if (!c->is_get) { poll_flush_post(s); return; }
    size_t i = 0;
    while (i < blen && s->state != S_DEAD) {
        char *sep = memchr(body + i, 0x1e, blen - i);
        size_t l = sep ? (size_t)(sep - (body + i)) : blen - i;
        eio_packet(s, body + i, l);
        i += l + 1;
    }
    poll_issue_get(s);
}

/* ------------------------------------------------------------------ sessions */

static void sess_send(sess_t *s, const char *p, size_t n) {
    if (s->state == S_DEAD) return;
    if (cfg.transport == TR_WS) { ws_send(s->ws, 1, p, n); return; }
    if (s->postq.len) buf_append(&s->postq, "\x1e", 1);
    buf_append(&s->postq, p, n);
    poll_flush_post(s);
}

static void sess_fail(sess_t *s, uint64_t *counter) {
    if (s->state == S_DEAD) return;
    if (s->state == S_READY) {
        nready--;
        disconnects_ready++;
        if (counter && counter != &disconnects_ready) (*counter)++;
    } else {
        inflight_hs--;
        nfailed++;
        if (counter && counter != &disconnects_ready) (*counter)++;
        else connect_errors++;
    }
    s->state = S_DEAD;
    conn_close(s->ws);
    conn_close(s->get);
    conn_close(s->post);
}

static void on_ready(sess_t *s) {
    inflight_hs--;
    nready++;
    if (phase != P_RECONNECT) hist_add(&h_hs, now_ns() - s->t_open);
    if (cfg.scenario == SC_ECHO && (phase == P_WARMUP || phase == P_MEASURE)) send_echo(s);
}

static conn_t *conn_new(sess_t *s) {
    conn_t *c = calloc(1, sizeof *c);
    c->fd = -1;
    c->s = s;
    return c;
}

static void sess_open(sess_t *s) {
    s->t_open = now_ns();
    if (!t_first_open) t_first_open = s->t_open;
    inflight_hs++;
    opened++;
    if (cfg.transport == TR_WS) {
        s->ws = conn_new(s);
        if (conn_open(s->ws) < 0) { sess_fail(s, &connect_errors); return; }
        s->state = S_UPGRADE;
        ws_start(s->ws);
    } else {
        s->get = conn_new(s);
        s->get->is_get = 1;
        s->post = conn_new(s);
        s->state = S_EIO_OPEN;
        http_request(s, s->get, "GET", NULL, 0);
    }
}

/* Appends a msgpack unsigned integer (the shortest form, as notepack.io writes it). */
static size_t mp_put_uint(uint8_t *o, uint32_t v) {
    if (v < 0x80) { o[0] = (uint8_t)v; return 1; }
    if (v < 0x100) { o[0] = 0xcc; o[1] = (uint8_t)v; return 2; }
    if (v < 0x10000) { o[0] = 0xcd; o[1] = (uint8_t)(v >> 8); o[2] = (uint8_t)v; return 3; }
    o[0] = 0xce; o[1] = (uint8_t)(v >> 24); o[2] = (uint8_t)(v >> 16); o[3] = (uint8_t)(v >> 8); o[4] = (uint8_t)v;
    return 5;
}

/* {type: 2, data: ["echo", {n: id, data: "<S>"}], id, nsp: "/"} in one binary frame. */
static void send_echo_msgpack(sess_t *s) {
    static uint8_t msg[128 + 65536];
    uint32_t id = s->next_id++;
    size_t n = 0;
    static const char head[] = "\x84" "\xa4" "type" "\x02" "\xa4" "data" "\x92" "\xa4" "echo" "\x82" "\xa1" "n";
    memcpy(msg, head, sizeof head - 1);
    n = sizeof head - 1;
    n += mp_put_uint(msg + n, id);
    memcpy(msg + n, "\xa4" "data", 5);
    n += 5;
    size_t len = (size_t)cfg.size;
    if (len < 32) msg[n++] = (uint8_t)(0xa0 | len);
    else if (len < 0x100) { msg[n++] = 0xd9; msg[n++] = (uint8_t)len; }
    else { msg[n++] = 0xda; msg[n++] = (uint8_t)(len >> 8); msg[n++] = (uint8_t)len; }
    memcpy(msg + n, echo_data, len);
    n += len;
    memcpy(msg + n, "\xa2" "id", 3);
    n += 3;
    n += mp_put_uint(msg + n, id);
    memcpy(msg + n, "\xa3" "nsp" "\xa1" "/", 6);
    n += 6;
    s->await_id = id;
    s->outstanding = 1;
    s->t_sent = now_ns();
    if (s->state != S_DEAD) ws_send(s->ws, 2, (const char *)msg, n);
}

static void send_echo(sess_t *s) {
    if (cfg.proto == PR_MSGPACK) { send_echo_msgpack(s); return; }
    char msg[256 + 65536];
    uint32_t id = s->next_id++;
    int h = snprintf(msg, 256, "42%u[\"echo\",{\"n\":%u,\"data\":\"", id, id);
    if ((size_t)cfg.size + (size_t)h + 8 > sizeof msg) die("payload too large");
    memcpy(msg + h, echo_data, (size_t)cfg.size);
    size_t n = (size_t)h + (size_t)cfg.size;
    memcpy(msg + n, "\"}]", 3);
    n += 3;
    s->await_id = id;
    s->outstanding = 1;
    s->t_sent = now_ns();
    sess_send(s, msg, n);
}

/* recover: the sender broadcasts event i = rc_sent (0 primes every receiver's offset). */
static void rc_send(void) {
    sess_t *s = &sessions[nsess - 1];
    if (s->state != S_READY) { proto_errors++; return; }
    char msg[128];
    int n = snprintf(msg, sizeof msg, "42[\"broadcast\",{\"t\":%llu,\"i\":%u}]", (unsigned long long)(now_ns() - t0), rc_sent);
    rc_sent++;
    sess_send(s, msg, (size_t)n);
}

/* recover: a receiver's transport goes away without a word (as a network change does). */
static void rc_drop(sess_t *s) {
    if (s->state == S_READY) nready--;
    conn_close(s->ws);
    if (s->ws) { buf_free(&s->ws->rb); buf_free(&s->ws->wb); buf_free(&s->ws->frag); free(s->ws); s->ws = NULL; }
    s->state = S_NEW;
}

static void bc_send(void) {
    sess_t *s = &sessions[nsess - 1];
    if (s->state != S_READY) return;
    if (bc_sent >= bc_cap) return;
    char msg[128];
    uint64_t t = now_ns() - t0;
    int n = snprintf(msg, sizeof msg, "42[\"broadcast\",{\"t\":%llu,\"i\":%u}]", (unsigned long long)t, bc_sent);
    bc_sent++;
    sess_send(s, msg, (size_t)n);
}

/* ------------------------------------------------------------------ events */

static uint8_t rbuf_static[1 << 18];

static size_t conn_consume(conn_t *c, char *d, size_t n) {
    size_t used = 0;
    for (;;) {
        if (c->fd < 0) return n;
        if (cfg.transport == TR_WS) {
            if (!c->upgraded) {
                size_t u = ws_upgrade_parse(c, d + used, n - used);
                if (!u) return used;
                used += u;
                continue;
            }
            return used + ws_parse(c, (uint8_t *)d + used, n - used);
        }
        int status, close_after;
        char *body;
        size_t blen, u;
        int r = http_parse(d + used, n - used, &status, &body, &blen, &u, &close_after);
        if (r == 0) return used;
        if (r < 0) { proto_errors++; sess_fail(c->s, &http_errors); return n; }
        used += u;
        poll_response(c, status, body, blen);
        if (close_after && c->fd >= 0 && !c->inflight) conn_close(c);
        if (used >= n) return used;
    }
}

static void handle(conn_t *c, uint32_t evs) {
    sess_t *s = c->s;
    if (c->fd < 0) return; /* closed earlier in this batch */
    if (!c->connected && (evs & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
        int err = 0;
        socklen_t el = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
        if (err) {
            if (connect_errors < 5) fprintf(stderr, "loadgen: connect: %s\n", strerror(err));
            sess_fail(s, &connect_errors);
            return;
        }
        c->connected = 1;
    }
    if (evs & EPOLLOUT) {
        if (conn_flush(c) < 0) { sess_fail(s, &disconnects_ready); return; }
    }
    if (evs & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
        for (;;) {
            ssize_t r;
            if (c->rb.len == 0) {
                r = read(c->fd, rbuf_static, sizeof rbuf_static);
                if (r > 0) {
                    size_t used = conn_consume(c, (char *)rbuf_static, (size_t)r);
                    if (c->fd >= 0 && used < (size_t)r) buf_append(&c->rb, rbuf_static + used, (size_t)r - used);
                }
            } else {
                buf_reserve(&c->rb, 65536);
                r = read(c->fd, c->rb.p + c->rb.len, c->rb.cap - c->rb.len);
                if (r > 0) {
                    c->rb.len += (size_t)r;
                    size_t used = conn_consume(c, c->rb.p, c->rb.len);
                    if (c->fd >= 0) buf_consume(&c->rb, used);
                }
            }
            if (c->fd < 0) return;
            if (r == 0) {
                /* EOF: an idle keep-alive poll connection may be closed by the server */
                if (cfg.transport == TR_POLL && !c->inflight && s->state == S_READY) { conn_close(c); return; }
                sess_fail(s, s->state == S_READY ? &server_closes : &connect_errors);
                return;
            }
            if (r < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK) break;
                if (errno == EINTR) continue;
                sess_fail(s, s->state == S_READY ? &server_closes : &connect_errors);
                return;
            }
            if ((size_t)r < sizeof rbuf_static) break;
        }
    }
}

/* ------------------------------------------------------------------ main loop */

static void open_more(void) {
    while (opened < open_limit && inflight_hs < cfg.concurrency) sess_open(&sessions[opened]);
}

/* Machine-wide busy CPU seconds from /proc/stat (user+nice+system+irq+softirq+steal). */
static double read_machine_busy_s(void) {
    FILE *f = fopen("/proc/stat", "r");
    if (!f) return -1;
    unsigned long long v[8] = {0};
    int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]);
    fclose(f);
    if (n < 8) return -1;
    return (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / (double)sysconf(_SC_CLK_TCK);
}
static double busy_start, busy_end;

static void start_measure(uint64_t now) {
    busy_start = read_machine_busy_s();
    phase = P_MEASURE;
    t_measure_start = now;
    cpu_measure_start = rusage_cpu_s();
    srv_cpu_start = read_proc_cpu_s(cfg.server_pid);
    phase_end = now + (uint64_t)(cfg.duration * 1e9);
}

static void end_measure(uint64_t now) {
    t_measure_end = now;
    busy_end = read_machine_busy_s();
    cpu_measure_end = rusage_cpu_s();
    srv_cpu_end = read_proc_cpu_s(cfg.server_pid);
}

static void tick(void) {
    uint64_t now = now_ns();
    switch (phase) {
    case P_CONNECT:
        open_more();
        if (opened == nsess && inflight_hs == 0) {
            t_all_connected = now;
            if (cfg.scenario == SC_RECOVER) {
                fprintf(stderr, "loadgen: %d ready, %d failed in %.2fs; priming offsets\n", nready, nfailed, (now - t_first_open) / 1e9);
                phase = P_PRIME;
                rc_prime_start = now;
                phase_end = now + 10000000000ull; /* every receiver has its offset well before */
                rc_send();
                break;
            }
            cpu_connect_end = rusage_cpu_s();
            if (srv_connect_start >= 0) srv_connect_end = read_proc_cpu_s(cfg.server_pid);
            fprintf(stderr, "loadgen: %d ready, %d failed in %.2fs\n", nready, nfailed, (now - t_first_open) / 1e9);
            if (cfg.scenario == SC_CONNECT) {
                phase = P_SETTLE;
                phase_end = now + (uint64_t)(cfg.settle * 1e9);
            } else {
                phase = P_WARMUP;
                phase_end = now + (uint64_t)(cfg.warmup * 1e9);
                if (cfg.scenario == SC_ECHO)
                    for (int i = 0; i < nsess; i++) if (sessions[i].state == S_READY) send_echo(&sessions[i]);
                if (cfg.scenario == SC_BROADCAST) bc_next_send = now;
            }
        } else if (now - t_first_open > (uint64_t)(cfg.connect_timeout * 1e9)) {
            fprintf(stderr, "loadgen: connect phase timed out (%d ready, %d in flight)\n", nready, inflight_hs);
            for (int i = 0; i < opened; i++)
                if (sessions[i].state != S_READY && sessions[i].state != S_DEAD) sess_fail(&sessions[i], &connect_errors);
            phase_end = now;
            opened = nsess;
        }
        break;
    case P_WARMUP:
        if (cfg.scenario == SC_BROADCAST) {
            while (now >= bc_next_send) { bc_send(); bc_next_send += bc_period_ns; }
        }
        if (now >= phase_end) {
            if (cfg.scenario == SC_BROADCAST) bc_first_measured = bc_end_measured = bc_sent;
            start_measure(now);
        }
        break;
    case P_MEASURE:
        if (cfg.scenario == SC_BROADCAST) {
            while (now >= bc_next_send) { bc_send(); bc_end_measured = bc_sent; bc_next_send += bc_period_ns; }
        }
        if (now >= phase_end) {
            end_measure(now);
            if (cfg.scenario == SC_BROADCAST) { phase = P_DRAIN; phase_end = now + (uint64_t)(cfg.drain * 1e9); }
            else phase = P_DONE;
        }
        break;
    case P_PRIME:
        if (rc_primed >= cfg.conns || now >= phase_end) {
            fprintf(stderr, "loadgen: %d of %d receivers have an offset; dropping them, %d events while away\n", rc_primed, cfg.conns, cfg.missed);
            for (int i = 0; i < cfg.conns; i++) rc_drop(&sessions[i]);
            for (int k = 0; k < cfg.missed; k++) rc_send();
            rc_drop_at = now;
            phase = P_DROP;
            phase_end = now + (uint64_t)(cfg.settle * 1e9);
        }
        break;
    case P_DROP:
        if (now >= phase_end) {
            rc_drop(&sessions[nsess - 1]); /* the sender is done */
            if (cfg.wait_restart) {
                fprintf(stderr, "loadgen: restart now\n");
                uint64_t w0 = now_ns();
                char line[64];
                if (!fgets(line, sizeof line, stdin)) die("stdin closed before the restart was done");
                rc_restart_wait_ns = now_ns() - w0;
            }
            if (cfg.reconnect_port) {
                dst.sin_port = htons((uint16_t)cfg.reconnect_port);
                snprintf(hostport, sizeof hostport, "%s:%d", cfg.host, cfg.reconnect_port);
            }
            fprintf(stderr, "loadgen: reconnecting %d receivers to %s\n", cfg.conns, hostport);
            phase = P_RECONNECT;
            opened = 0;
            open_limit = cfg.conns;
            inflight_hs = 0;
            rc_reconnect_start = now_ns();
            phase_end = rc_reconnect_start + (uint64_t)(cfg.connect_timeout * 1e9);
            open_more();
        }
        break;
    case P_RECONNECT:
        open_more();
        if (opened == open_limit && inflight_hs == 0) phase = P_DONE;
        else if (now >= phase_end) {
            fprintf(stderr, "loadgen: reconnect phase timed out (%d ready, %d in flight)\n", nready, inflight_hs);
            phase = P_DONE;
        }
        break;
    case P_DRAIN:
        if (now >= phase_end || bc_complete == bc_end_measured - bc_first_measured) phase = P_DONE;
        break;
    case P_SETTLE:
        if (now >= phase_end) {
            rss_after_kb = read_rss_kb(cfg.server_pid);
            phase = P_HOLD;
            t_measure_start = now;
            cpu_measure_start = rusage_cpu_s();
            srv_cpu_start = read_proc_cpu_s(cfg.server_pid);
            busy_start = read_machine_busy_s();
            phase_end = now + (uint64_t)(cfg.hold * 1e9);
            fprintf(stderr, "loadgen: holding %d connections for %.0fs (server RSS %ld kB)\n", nready, cfg.hold, rss_after_kb);
        }
        break;
    case P_HOLD:
        if (now >= phase_end) {
            rss_end_kb = read_rss_kb(cfg.server_pid);
            end_measure(now);
            phase = P_DONE;
        }
        break;
    }
}

static int next_timeout_ms(void) {
    uint64_t now = now_ns();
    uint64_t next = now + 10000000ull;
    if (phase != P_CONNECT && phase_end && phase_end < next) next = phase_end;
    if (cfg.scenario == SC_BROADCAST && (phase == P_WARMUP || phase == P_MEASURE) && bc_next_send < next) next = bc_next_send;
    if (next <= now) return 0;
    return (int)((next - now + 999999) / 1000000);
}

static void usage(void) {
    fprintf(stderr,
            "usage: loadgen [options]\n"
            "  --scenario echo|broadcast|connect|polling|recover   (default echo)\n"
            "  --proto sio|plain|msgpack sio = Engine.IO v4 + Socket.IO v5; plain = bare WebSocket echo;\n"
            "                           msgpack = Socket.IO with socket.io-msgpack-parser packets (WebSocket echo/connect)\n"
            "  --transport websocket|polling\n"
            "  --host H --port P        server (default 127.0.0.1:3000)\n"
            "  -n, --conns N            connections (echo 100, broadcast 1000 receivers, connect 10000)\n"
            "  --size S                 echo payload bytes (64)\n"
            "  --rate R                 broadcast messages/s (100)\n"
            "  --concurrency C          handshakes in flight (200)\n"
            "  --warmup S --duration S  seconds (2, 10)\n"
            "  --hold S --settle S      connect: idle hold and settle before the RSS sample (5, 2)\n"
            "  --drain S                broadcast: wait for late deliveries (3)\n"
            "  --sender-port P          broadcast: the sender connects to P (another node), receivers to --port\n"
            "  --server-pid PID         sample the server's RSS and CPU from /proc\n"
            "  --src-ips K              spread connections over 127.0.0.1..K (auto)\n"
            "  --missed M               recover: events broadcast while the receivers are away (10)\n"
            "  --wait-restart           recover: print \"loadgen: restart now\" after the drop and wait\n"
            "                           for a line on stdin before reconnecting (the server restarts)\n"
            "  --reconnect-port P       recover: reconnect to P (another node of a cluster) instead of --port\n"
            "  --label TEXT             copied into the JSON result\n");
    exit(2);
}

static void raise_nofile(long want) {
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rlim_t target = (rlim_t)want;
    if (rl.rlim_max != RLIM_INFINITY && target > rl.rlim_max) {
        struct rlimit r2 = {target, target};
        if (setrlimit(RLIMIT_NOFILE, &r2) == 0) return;
        target = rl.rlim_max;
        fprintf(stderr, "loadgen: warning: RLIMIT_NOFILE hard limit %lu < %ld wanted\n", (unsigned long)rl.rlim_max, want);
    }
    if (rl.rlim_cur < target) {
        rl.rlim_cur = target;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0) perror("setrlimit");
    }
}

static void print_hist(const char *name, const hist_t *h) {
    printf("\"%s\":{\"count\":%llu,\"p50_ms\":%.3f,\"p90_ms\":%.3f,\"p99_ms\":%.3f,\"p999_ms\":%.3f,\"max_ms\":%.3f,\"mean_ms\":%.3f}",
           name, (unsigned long long)h->n, ns_ms(hist_q(h, .5)), ns_ms(hist_q(h, .9)), ns_ms(hist_q(h, .99)),
           ns_ms(hist_q(h, .999)), ns_ms(h->max), h->n ? h->sum / h->n / 1e6 : 0.0);
}

int main(int argc, char **argv) {
    static struct option opts[] = {
        {"scenario", 1, 0, 's'}, {"proto", 1, 0, 'p'}, {"transport", 1, 0, 't'}, {"host", 1, 0, 'H'},
        {"port", 1, 0, 'P'}, {"conns", 1, 0, 'n'}, {"size", 1, 0, 'S'}, {"rate", 1, 0, 'r'},
        {"concurrency", 1, 0, 'c'}, {"warmup", 1, 0, 'w'}, {"duration", 1, 0, 'd'}, {"hold", 1, 0, 'h'},
        {"settle", 1, 0, 'e'}, {"drain", 1, 0, 'D'}, {"server-pid", 1, 0, 'i'}, {"src-ips", 1, 0, 'I'},
        {"label", 1, 0, 'l'}, {"connect-timeout", 1, 0, 'T'}, {"sender-port", 1, 0, 'Q'}, {"missed", 1, 0, 'M'},
        {"wait-restart", 0, 0, 'W'}, {"reconnect-port", 1, 0, 'R'}, {"help", 0, 0, '?'},
        {0, 0, 0, 0}};
    int o;
    while ((o = getopt_long(argc, argv, "n:", opts, NULL)) != -1) {
        switch (o) {
        case 's':
            if (!strcmp(optarg, "echo")) cfg.scenario = SC_ECHO;
            else if (!strcmp(optarg, "broadcast")) cfg.scenario = SC_BROADCAST;
            else if (!strcmp(optarg, "connect")) cfg.scenario = SC_CONNECT;
            else if (!strcmp(optarg, "recover")) cfg.scenario = SC_RECOVER;
            else if (!strcmp(optarg, "polling")) { cfg.scenario = SC_ECHO; cfg.transport = TR_POLL; }
            else usage();
            break;
        case 'p': cfg.proto = !strcmp(optarg, "plain") ? PR_PLAIN : !strcmp(optarg, "msgpack") ? PR_MSGPACK : PR_SIO; break;
        case 't': cfg.transport = !strcmp(optarg, "polling") ? TR_POLL : TR_WS; break;
        case 'H': cfg.host = optarg; break;
        case 'P': cfg.port = atoi(optarg); break;
        case 'n': cfg.conns = atoi(optarg); break;
        case 'S': cfg.size = atoi(optarg); break;
        case 'r': cfg.rate = atoi(optarg); break;
        case 'c': cfg.concurrency = atoi(optarg); break;
        case 'w': cfg.warmup = atof(optarg); break;
        case 'd': cfg.duration = atof(optarg); break;
        case 'h': cfg.hold = atof(optarg); break;
        case 'e': cfg.settle = atof(optarg); break;
        case 'D': cfg.drain = atof(optarg); break;
        case 'i': cfg.server_pid = atoi(optarg); break;
        case 'I': cfg.src_ips = atoi(optarg); break;
        case 'l': cfg.label = optarg; break;
        case 'T': cfg.connect_timeout = atof(optarg); break;
        case 'Q': cfg.sender_port = atoi(optarg); break;
        case 'M': cfg.missed = atoi(optarg); break;
        case 'W': cfg.wait_restart = 1; break;
        case 'R': cfg.reconnect_port = atoi(optarg); break;
        default: usage();
        }
    }
    if (cfg.proto == PR_MSGPACK && (cfg.transport == TR_POLL || cfg.scenario == SC_BROADCAST)) {
        fprintf(stderr, "loadgen: --proto msgpack supports echo and connect over WebSocket only\n");
        return 2;
    }
    if (cfg.scenario == SC_RECOVER && (cfg.proto != PR_SIO || cfg.transport != TR_WS)) {
        fprintf(stderr, "loadgen: --scenario recover speaks the default parser over WebSocket only\n");
        return 2;
    }
    if (cfg.proto == PR_PLAIN && (cfg.transport == TR_POLL || cfg.scenario == SC_BROADCAST)) {
        fprintf(stderr, "loadgen: --proto plain supports echo and connect over WebSocket only\n");
        return 2;
    }
    if (cfg.conns < 0) cfg.conns = cfg.scenario == SC_ECHO ? 100 : cfg.scenario == SC_CONNECT ? 10000 : 1000;
    nsess = cfg.conns + (cfg.scenario == SC_BROADCAST || cfg.scenario == SC_RECOVER ? 1 : 0);
    open_limit = nsess;
    int fds_per = cfg.transport == TR_POLL ? 2 : 1;
    /* connect() gets slow as one source address's ephemeral ports fill up (the kernel's port
     * search): past ~5000 connections, spread them over 127.0.0.1, .2, ... */
    if (cfg.src_ips <= 0) cfg.src_ips = 1 + nsess * fds_per / 5000;
    raise_nofile((long)nsess * fds_per + 256);
    signal(SIGPIPE, SIG_IGN);

    dst.sin_family = AF_INET;
    dst.sin_port = htons((uint16_t)cfg.port);
    if (inet_pton(AF_INET, cfg.host, &dst.sin_addr) != 1) { fprintf(stderr, "loadgen: bad host %s\n", cfg.host); return 2; }
    snprintf(hostport, sizeof hostport, "%s:%d", cfg.host, cfg.port);
    sender_dst = dst;
    if (cfg.sender_port) sender_dst.sin_port = htons((uint16_t)cfg.sender_port);
    echo_data = malloc((size_t)cfg.size + 1);
    for (int i = 0; i < cfg.size; i++) echo_data[i] = (char)('a' + i % 26);
    rng ^= (uint32_t)getpid() * 2654435761u;

    sessions = calloc((size_t)nsess, sizeof *sessions);
    for (int i = 0; i < nsess; i++) { sessions[i].idx = i; sessions[i].state = S_NEW; }
    if (cfg.scenario == SC_BROADCAST || cfg.scenario == SC_RECOVER) sessions[nsess - 1].role = ROLE_SENDER;
    if (cfg.scenario == SC_BROADCAST) {
        bc_period_ns = (uint64_t)(1e9 / cfg.rate);
        bc_cap = (uint32_t)(cfg.rate * (cfg.warmup + cfg.duration + 5) + 16);
        bc_count = calloc(bc_cap, sizeof *bc_count);
    }

    ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) die("epoll_create1");
    t0 = now_ns();
    double cpu_total_start = rusage_cpu_s();
    double busy_total_start = read_machine_busy_s();
    double srv_total_start = read_proc_cpu_s(cfg.server_pid);
    rss_before_kb = read_rss_kb(cfg.server_pid);
    cpu_connect_start = cpu_total_start;
    srv_connect_start = cfg.server_pid > 0 ? srv_total_start : -1;
    fprintf(stderr, "loadgen: %s %s/%s %d conns -> %s\n",
            cfg.scenario == SC_ECHO ? "echo" : cfg.scenario == SC_BROADCAST ? "broadcast" : cfg.scenario == SC_RECOVER ? "recover" : "connect",
            cfg.proto == PR_PLAIN ? "plain" : cfg.proto == PR_MSGPACK ? "msgpack" : "sio", cfg.transport == TR_POLL ? "polling" : "websocket", cfg.conns, hostport);

    struct epoll_event evs[1024];
    open_more();
    while (phase != P_DONE) {
        int n = epoll_wait(ep, evs, 1024, next_timeout_ms());
        if (n < 0 && errno != EINTR) die("epoll_wait");
        for (int i = 0; i < n; i++) handle(evs[i].data.ptr, evs[i].events);
        tick();
        if (phase > P_CONNECT && phase != P_DRAIN && nready == 0 && phase != P_DONE && cfg.scenario != SC_RECOVER) {
            fprintf(stderr, "loadgen: no connection left\n");
            if (!t_measure_end) end_measure(now_ns());
            phase = P_DONE;
        }
    }
    double cpu_total = rusage_cpu_s() - cpu_total_start;
    double busy_total = read_machine_busy_s() - busy_total_start;
    double srv_total = srv_total_start >= 0 ? read_proc_cpu_s(cfg.server_pid) - srv_total_start : 0;
    double wall_total = (now_ns() - t0) / 1e9;
    double mwall = t_measure_end > t_measure_start ? (t_measure_end - t_measure_start) / 1e9 : 0;
    double gen_cpu = cpu_measure_end - cpu_measure_start;
    double srv_cpu = (srv_cpu_start >= 0 && srv_cpu_end >= 0) ? srv_cpu_end - srv_cpu_start : -1;

    printf("{\"scenario\":\"%s\",\"proto\":\"%s\",\"transport\":\"%s\",\"label\":\"%s\",\"conns\":%d,",
           cfg.scenario == SC_ECHO ? "echo" : cfg.scenario == SC_BROADCAST ? "broadcast" : cfg.scenario == SC_RECOVER ? "recover" : "connect",
           cfg.proto == PR_PLAIN ? "plain" : cfg.proto == PR_MSGPACK ? "msgpack" : "sio", cfg.transport == TR_POLL ? "polling" : "websocket", cfg.label, cfg.conns);
    printf("\"ready\":%d,\"connect_failed\":%d,\"connect_s\":%.3f,", nready + (int)disconnects_ready, nfailed,
           t_all_connected ? (t_all_connected - t_first_open) / 1e9 : -1.0);
    if (cfg.scenario == SC_ECHO) {
        printf("\"size\":%d,\"measure_s\":%.3f,\"acks\":%llu,\"acks_per_s\":%.1f,", cfg.size, mwall,
               (unsigned long long)acks_measured, mwall > 0 ? acks_measured / mwall : 0.0);
        print_hist("latency", &h_lat);
        printf(",");
    } else if (cfg.scenario == SC_BROADCAST) {
        uint64_t msgs = bc_end_measured - bc_first_measured;
        double expected = (double)msgs * cfg.conns;
        printf("\"rate\":%d,\"measure_s\":%.3f,\"messages\":%llu,\"expected\":%.0f,\"delivered\":%llu,"
               "\"delivered_pct\":%.3f,\"deliveries_per_s\":%.1f,\"complete_messages\":%llu,\"dups\":%llu,",
               cfg.rate, mwall, (unsigned long long)msgs, expected, (unsigned long long)bc_delivered,
               expected > 0 ? 100.0 * bc_delivered / expected : 0.0, mwall > 0 ? bc_delivered / mwall : 0.0,
               (unsigned long long)bc_complete, (unsigned long long)bc_dups);
        print_hist("fanout", &h_fan);
        printf(",");
        print_hist("last_receiver", &h_last);
        printf(",");
    } else if (cfg.scenario == SC_RECOVER) {
        double rs = rc_last_reply > rc_reconnect_start ? (rc_last_reply - rc_reconnect_start) / 1e9 : -1.0;
        printf("\"missed\":%d,\"primed\":%d,\"restart_wait_s\":%.3f,\"away_s\":%.3f,\"reconnect_s\":%.3f,"
               "\"recovered\":%llu,\"not_recovered\":%llu,\"replay_exact\":%llu,\"replayed\":%llu,\"order_errors\":%llu,"
               "\"missing_pid\":%llu,\"recoveries_per_s\":%.1f,",
               cfg.missed, rc_primed, rc_restart_wait_ns / 1e9, rc_reconnect_start > rc_drop_at ? (rc_reconnect_start - rc_drop_at) / 1e9 : 0.0,
               rs, (unsigned long long)rc_recovered, (unsigned long long)rc_not_recovered, (unsigned long long)rc_replay_exact,
               (unsigned long long)rc_replayed, (unsigned long long)rc_order_errors, (unsigned long long)rc_missing_pid,
               rs > 0 ? rc_recovered / rs : 0.0);
        print_hist("reconnect_to_recovered", &h_rec);
        printf(",");
    } else {
        double cs = t_all_connected ? (t_all_connected - t_first_open) / 1e9 : 0;
        int held = nready;
        printf("\"connections_per_s\":%.1f,\"hold_s\":%.1f,\"held_at_end\":%d,\"rss_before_kb\":%ld,\"rss_after_kb\":%ld,"
               "\"rss_end_kb\":%ld,\"bytes_per_conn\":%.0f,\"bytes_per_conn_end\":%.0f,",
               cs > 0 ? (nready + disconnects_ready) / cs : 0.0, cfg.hold, held, rss_before_kb, rss_after_kb, rss_end_kb,
               (rss_after_kb > 0 && nready) ? (rss_after_kb - rss_before_kb) * 1024.0 / (nready + disconnects_ready) : -1.0,
               (rss_end_kb > 0 && nready) ? (rss_end_kb - rss_before_kb) * 1024.0 / (nready + disconnects_ready) : -1.0);
    }
    print_hist("handshake", &h_hs);
    printf(",\"errors\":{\"connect\":%llu,\"sio_connect\":%llu,\"http\":%llu,\"protocol\":%llu,\"server_closes\":%llu,"
           "\"disconnects\":%llu,\"unexpected_acks\":%llu,\"error_acks\":%llu},\"pings_answered\":%llu,",
           (unsigned long long)connect_errors, (unsigned long long)sio_connect_errors, (unsigned long long)http_errors,
           (unsigned long long)proto_errors, (unsigned long long)server_closes, (unsigned long long)disconnects_ready,
           (unsigned long long)unexpected_acks, (unsigned long long)error_acks, (unsigned long long)pings_answered);
    printf("\"generator\":{\"cpu_s\":%.3f,\"cpu_core_frac\":%.3f,\"total_cpu_s\":%.3f,\"total_wall_s\":%.3f,\"connect_cpu_s\":%.3f},",
           gen_cpu, mwall > 0 ? gen_cpu / mwall : 0.0, cpu_total, wall_total, cpu_connect_end - cpu_connect_start);
    double srv_connect = (srv_connect_start >= 0 && srv_connect_end >= 0) ? srv_connect_end - srv_connect_start : -1;
    printf("\"server\":{\"pid\":%d,\"cpu_s\":%.3f,\"cpu_core_frac\":%.3f,\"rss_kb\":%ld,\"connect_cpu_s\":%.3f,\"connect_cpu_us_per_conn\":%.1f},",
           cfg.server_pid, srv_cpu, (mwall > 0 && srv_cpu >= 0) ? srv_cpu / mwall : -1.0, read_rss_kb(cfg.server_pid), srv_connect,
           (srv_connect >= 0 && nready + disconnects_ready > 0) ? 1e6 * srv_connect / (nready + disconnects_ready) : -1.0);
    /* CPU used on the machine during the measured window by anything but us and the server
     * (approximate: softirq time of our own loopback traffic may land here too) */
    double busy = busy_end - busy_start;
    double others = busy - gen_cpu - (srv_cpu > 0 ? srv_cpu : 0);
    double others_total = busy_total - cpu_total - srv_total;
    printf("\"machine\":{\"busy_core_frac\":%.3f,\"others_core_frac\":%.3f,\"others_core_frac_total\":%.3f},",
           mwall > 0 ? busy / mwall : 0.0, mwall > 0 ? (others > 0 ? others : 0) / mwall : 0.0,
           wall_total > 0 ? (others_total > 0 ? others_total : 0) / wall_total : 0.0);
    printf("\"server_cpu_total_s\":%.3f}\n", srv_total);
    fflush(stdout);
    return 0;
}
