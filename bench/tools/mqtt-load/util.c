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
 * Local ports: a narrow window of the ephemeral range per connect(), not the whole range.
 * The kernel's choice searches the range from a hashed offset for a port whose 4-tuple is
 * free, even ports first; once more than half of it is taken (19k connections to one address
 * and port, plus the TIME_WAIT of earlier runs, in 28k ports) each connect() walked thousands
 * of ports: 154 µs of system time per connect at 19k against ~10 at 10k (strace -c). Here
 * each socket gets IP_LOCAL_PORT_RANGE (Linux 6.3+) = the WINDOW ports at a cursor that moves
 * on by one per connection, so connect() looks at a few ports at any count. The kernel still
 * picks the port in the window, so its bucket stays shareable by other processes' connect()
 * (a bind() to an explicit port would have kept every port of the range from their automatic
 * choice while its TIME_WAIT lasts). Without the option: the kernel's whole range.
 */
#ifndef IP_LOCAL_PORT_RANGE
#define IP_LOCAL_PORT_RANGE 51
#endif
#define PORT_WINDOW 32

static int port_low, port_high, port_next, windows_off;

/** Reads the ephemeral range (the ports the kernel chooses from) once. */
static void init_port_range(void) {
  port_low = 32768;
  port_high = 60999;
  FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
  if (f) {
    int lo, hi;
    if (fscanf(f, "%d %d", &lo, &hi) == 2 && lo > 0 && hi >= lo + 2 * PORT_WINDOW &&
        hi < 65536) {
      port_low = lo;
      port_high = hi;
    }
    fclose(f);
  }
  port_next = port_low + (int)(now_ns() / 1000 % (uint64_t)(port_high - port_low + 1));
}

/** Narrows `fd`'s local ports to the window at the cursor and moves the cursor by `step`. */
static void narrow_ports(int fd, int step) {
  if (windows_off) return;
  if (!port_low) init_port_range();
  if (port_next + PORT_WINDOW - 1 > port_high) port_next = port_low;
  uint32_t range = (uint32_t)port_next | (uint32_t)(port_next + PORT_WINDOW - 1) << 16;
  if (setsockopt(fd, IPPROTO_IP, IP_LOCAL_PORT_RANGE, &range, sizeof range) != 0)
    windows_off = 1; /* an older kernel: its own choice over the whole range */
  port_next += step;
}

/** A non-blocking socket with TCP_NODELAY, connect() started; `step`: see narrow_ports. */
static int try_connect(const struct sockaddr_in *addr, int narrow, int step) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  int one = 1;
  /* As the brokers are configured: each packet leaves at once, no Nagle delay. */
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (narrow) narrow_ports(fd, step);
  if (connect(fd, (const struct sockaddr *)addr, sizeof *addr) != 0 && errno != EINPROGRESS) {
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
  /* EADDRNOTAVAIL: no free port in that window; the next whole window is tried, a few
     times, then the kernel's whole range. */
  int fd = try_connect(&addr, 1, 1);
  for (int attempt = 0; fd < 0 && errno == EADDRNOTAVAIL && attempt < 8; attempt++)
    fd = try_connect(&addr, 1, PORT_WINDOW);
  if (fd < 0 && errno == EADDRNOTAVAIL) fd = try_connect(&addr, 0, 0);
  return fd;
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
