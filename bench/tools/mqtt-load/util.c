/* Clocks, CPU time, sockets and MQTT encoding shared by the modes. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "mqtt-load.h"

uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void cpu_ns(uint64_t *user, uint64_t *sys) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  *user = (uint64_t)ru.ru_utime.tv_sec * 1000000000u + (uint64_t)ru.ru_utime.tv_usec * 1000u;
  *sys = (uint64_t)ru.ru_stime.tv_sec * 1000000000u + (uint64_t)ru.ru_stime.tv_usec * 1000u;
}

long raise_nofile(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return -1;
  if (rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    getrlimit(RLIMIT_NOFILE, &rl);
  }
  return (long)rl.rlim_cur;
}

/*
 * Local ports: chosen here, not by connect(). The kernel's choice searches the ephemeral
 * range from a hashed offset for a port whose 4-tuple is free, preferring even ports; once
 * more than half the range is taken (19k connections to one address and port, plus the
 * TIME_WAIT of earlier runs, in 28k ports) each connect() walked thousands of ports: 154 µs
 * of system time per connect at 19k against ~10 at 10k (strace -c). A cursor that walks the
 * range once costs one bind() and one 4-tuple lookup per connection at any count.
 */
static int port_low, port_high, port_next, ports_exhausted;

/** Reads the ephemeral range (the ports the kernel would have chosen from) once. */
static void init_port_range(void) {
  port_low = 32768;
  port_high = 60999;
  FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
  if (f) {
    int lo, hi;
    if (fscanf(f, "%d %d", &lo, &hi) == 2 && lo > 0 && hi >= lo && hi < 65536) {
      port_low = lo;
      port_high = hi;
    }
    fclose(f);
  }
  port_next = port_low + (int)(now_ns() / 1000 % (uint64_t)(port_high - port_low + 1));
}

/**
 * Binds `fd` to the next local port that bind() takes (SO_REUSEADDR: a port held only by
 * TIME_WAIT or by connections to other peers is fine, the 4-tuple is checked at connect()).
 * Returns 0, or -1 when no port of the range would do.
 */
static int bind_next_port(int fd, const struct sockaddr_in *peer) {
  if (!port_low) init_port_range();
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in local;
  memset(&local, 0, sizeof local);
  local.sin_family = AF_INET;
  /* The address the kernel would use for this peer: the peer's own one on loopback. */
  local.sin_addr.s_addr =
      (ntohl(peer->sin_addr.s_addr) >> 24) == 127 ? peer->sin_addr.s_addr : htonl(INADDR_ANY);
  for (int tries = port_high - port_low + 1; tries > 0; tries--) {
    int port = port_next;
    port_next = port_next >= port_high ? port_low : port_next + 1;
    local.sin_port = htons((uint16_t)port);
    if (bind(fd, (struct sockaddr *)&local, sizeof local) == 0) return 0;
    if (errno != EADDRINUSE) return -1;
  }
  ports_exhausted = 1; /* from now on the kernel chooses (and says when it cannot either) */
  errno = EADDRNOTAVAIL;
  return -1;
}

/** A non-blocking socket with TCP_NODELAY, bound to a chosen port, connect() started. */
static int try_connect(const struct sockaddr_in *addr, int choose_port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  int one = 1;
  /* As the brokers are configured: each packet leaves at once, no Nagle delay. */
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if ((choose_port && bind_next_port(fd, addr) != 0) ||
      (connect(fd, (const struct sockaddr *)addr, sizeof *addr) != 0 && errno != EINPROGRESS)) {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  return fd;
}

int start_connect(const char *host, int port) {
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_port = htons((uint16_t)port);
  if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
    errno = EINVAL;
    return -1;
  }
  /* EADDRNOTAVAIL: that port's 4-tuple is taken (a TIME_WAIT too young to reuse); the next
     one is tried, a few times, then the kernel's own choice. */
  for (int attempt = 0; attempt < 8 && !ports_exhausted; attempt++) {
    int fd = try_connect(&addr, 1);
    if (fd >= 0 || (errno != EADDRNOTAVAIL && errno != EADDRINUSE)) return fd;
  }
  return try_connect(&addr, 0);
}

void set_nonblocking(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

int put_varint(uint8_t *p, uint32_t v) {
  int n = 0;
  do {
    uint8_t b = v & 0x7f;
    v >>= 7;
    p[n++] = v ? (uint8_t)(b | 0x80) : b;
  } while (v && n < 4);
  return n;
}

int packet_length(const uint8_t *p, size_t n, size_t *total) {
  uint32_t len = 0;
  for (size_t i = 1; i < 5; i++) {
    if (i >= n) return 0;
    len |= (uint32_t)(p[i] & 0x7f) << (7 * (i - 1));
    if (!(p[i] & 0x80)) {
      *total = i + 1 + len;
      return 1;
    }
  }
  return -1;
}

size_t encode_connect(uint8_t *out, int version, int keepalive, const char *client_id,
                      size_t *id_offset) {
  uint8_t body[512];
  size_t n = 0;
  size_t id_len = strlen(client_id);
  static const uint8_t name[] = {0, 4, 'M', 'Q', 'T', 'T'};
  memcpy(body, name, sizeof name);
  n = sizeof name;
  body[n++] = (uint8_t)version;
  body[n++] = 0x02; /* clean session / clean start, no will, no credentials */
  body[n++] = (uint8_t)(keepalive >> 8);
  body[n++] = (uint8_t)keepalive;
  if (version == 5) body[n++] = 0; /* no CONNECT properties */
  body[n++] = (uint8_t)(id_len >> 8);
  body[n++] = (uint8_t)id_len;
  size_t id_at = n;
  memcpy(body + n, client_id, id_len);
  n += id_len;
  out[0] = 0x10;
  int h = 1 + put_varint(out + 1, (uint32_t)n);
  memcpy(out + h, body, n);
  *id_offset = (size_t)h + id_at;
  return (size_t)h + n;
}

void put_digits(uint8_t *p, int width, unsigned long count) {
  for (int i = width - 1; i >= 0; i--) {
    p[i] = (uint8_t)('0' + count % 10);
    count /= 10;
  }
}

void emit(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
  putchar('\n');
  fflush(stdout);
}

int out_flush(int fd, struct outbuf *b) {
  while (b->off < b->len) {
    ssize_t n = send(fd, b->data + b->off, b->len - b->off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 1;
    if (n < 0) return -1;
    b->off += (size_t)n;
  }
  b->off = b->len = 0;
  return 0;
}

int out_send(int fd, struct outbuf *b, const uint8_t *p, size_t n) {
  if (n > sizeof b->data) return 2; /* never part of a packet: the stream stays whole */
  if (b->len > b->off) {
    if (b->off > 0) {
      memmove(b->data, b->data + b->off, b->len - b->off);
      b->len -= b->off;
      b->off = 0;
    }
    if (b->len + n > sizeof b->data) return 2;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return out_flush(fd, b) < 0 ? -1 : (b->len > b->off ? 1 : 0);
  }
  size_t sent = 0;
  while (sent < n) {
    ssize_t k = send(fd, p + sent, n - sent, MSG_NOSIGNAL);
    if (k < 0 && errno == EINTR) continue;
    if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (k < 0) return -1;
    sent += (size_t)k;
  }
  if (sent == n) return 0;
  memcpy(b->data, p + sent, n - sent);
  b->off = 0;
  b->len = n - sent;
  return 1;
}
