/*
 * mqtt-load: a small MQTT load generator for `npm run bench` (libc only: non-blocking
 * sockets, epoll, pre-encoded packets), so that the generator is not the limit of what it
 * measures. Two modes, each printing JSON lines on stdout:
 *
 *   connect  open N connections, at most K CONNECTs in flight, hold them until stdin closes
 *   fanin    P publishers -> 1 subscriber at a fixed total rate, each message alone at its
 *            own time (publisher i offset by i/P of its period)
 *
 * See bench/README.md ("The C load generator") for the options and the output.
 */
#ifndef MQTT_LOAD_H
#define MQTT_LOAD_H

#include <stddef.h>
#include <stdint.h>

/** Command-line options of both modes (each mode reads the ones it needs). */
struct options {
  const char *host;
  int port;
  const char *sub_host; /* fanin: the subscriber's broker (another cluster node); --host if NULL */
  int sub_port;         /* fanin: the subscriber's port; --port if 0 */
  int version;          /* 4 = MQTT 3.1.1, 5 = MQTT 5.0 */
  int keepalive;        /* seconds; 0 = none */
  long count;           /* connect: connections */
  int in_flight;        /* connect: CONNECTs awaiting their CONNACK at most */
  int half_pause;       /* connect: stop at half, say so, wait for a line on stdin */
  int timeout_ms;       /* connect: per connection, from connect() to CONNACK */
  int publishers;       /* fanin */
  double rate;          /* fanin: total msg/s */
  int qos;              /* fanin: 0 or 1 */
  int payload;          /* fanin: payload bytes, >= PAYLOAD_HEADER */
  double warmup_s;      /* fanin: sent and checked, not timed */
  double duration_s;    /* fanin: measured */
  double drain_s;       /* fanin: longest wait for the last messages */
  int window;           /* fanin QoS 1: unacknowledged messages per publisher at most */
  int spin_us;          /* fanin: polls instead of sleeping this close to a due time */
};

/** Bytes of the payload header: u32 run tag, u32 publisher, u32 sequence, u64 send ns. */
#define PAYLOAD_HEADER 20

/** Bytes waiting to be written to a socket that would have blocked. */
struct outbuf {
  uint8_t data[1 << 16];
  size_t off, len;
};

/* ---- util.c ---- */

/** CLOCK_MONOTONIC in nanoseconds. */
uint64_t now_ns(void);
/** This process's user and system CPU time so far, in nanoseconds. */
void cpu_ns(uint64_t *user, uint64_t *sys);
/** Raises the open-files soft limit to the hard limit; returns the new soft limit. */
long raise_nofile(void);
/** A non-blocking TCP socket with TCP_NODELAY, connect() started; -1 and errno on failure. */
int start_connect(const char *host, int port);
/** Makes `fd` non-blocking. */
void set_nonblocking(int fd);
/** Writes the MQTT variable-length integer `v` at `p`; returns its length (1-4). */
int put_varint(uint8_t *p, uint32_t v);
/**
 * Reads a fixed header at `p` (`n` bytes available): packet length (header included) in
 * `*total`; 0 = incomplete, -1 = malformed.
 */
int packet_length(const uint8_t *p, size_t n, size_t *total);
/**
 * Encodes a clean-session CONNECT for `client_id` into `out` (room for 64 + id length);
 * returns its length. The id's bytes start at `*id_offset` so a copy can be patched.
 */
size_t encode_connect(uint8_t *out, int version, int keepalive, const char *client_id,
                      size_t *id_offset);
/** Writes `count` in decimal into `p` as exactly `width` digits (zero-padded). */
void put_digits(uint8_t *p, int width, unsigned long count);
/**
 * Sends `n` bytes on non-blocking `fd`, keeping what the socket does not take in `b` (in
 * order behind what is already there). Returns 0 all sent, 1 some left in `b` (arm
 * EPOLLOUT), 2 no room in `b` (nothing sent), -1 a socket error (errno).
 */
int out_send(int fd, struct outbuf *b, const uint8_t *p, size_t n);
/** Writes what `b` holds: 0 all written, 1 some left, -1 a socket error (errno). */
int out_flush(int fd, struct outbuf *b);
/** Prints a JSON line (printf format) on stdout and flushes it. */
void emit(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- histogram.c: log-linear, < 1% error, constant memory ---- */

struct histogram {
  uint64_t *counts;
  uint64_t total;
  uint64_t max;
  double sum;
};

int hist_init(struct histogram *h);
void hist_record(struct histogram *h, uint64_t ns);
void hist_reset(struct histogram *h);
/** The value (ns) below which `p` percent of the values fall. */
uint64_t hist_percentile(const struct histogram *h, double p);
/** Formats count/p50/p90/p99/max/mean (milliseconds) as a JSON object into `out`. */
void hist_json(const struct histogram *h, char *out, size_t size);

/* ---- the modes ---- */

int run_connect(const struct options *o);
int run_fanin(const struct options *o);

#endif
