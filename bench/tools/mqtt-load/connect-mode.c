/*
 * connect mode: open `count` connections with at most `in_flight` CONNECTs awaiting their
 * CONNACK, check each CONNACK's return code, print the figures as one JSON line, then hold
 * the connections open (PINGREQ every keep-alive if one is set) until stdin closes or a
 * signal comes, and close them.
 *
 * One epoll set, edge-triggered: a socket's EPOLLOUT says its TCP connect finished (then the
 * pre-encoded CONNECT, with the connection's number patched into its client id, goes out in
 * one send), its EPOLLIN brings the CONNACK. Nothing is allocated per connection but its
 * slot in one array.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mqtt-load.h"

enum state { CONNECTING = 1, AWAIT_CONNACK, OPEN, DONE };

struct conn {
  int fd;
  uint8_t state;
  uint8_t have;     /* CONNACK bytes read so far (capped at sizeof head) */
  uint8_t head[8];  /* its first bytes: fixed header, flags, return code */
  uint32_t need;    /* its whole length, once the fixed header is in */
  uint32_t got;     /* bytes of it read so far */
  uint64_t started; /* before socket(): connect latency counts from here */
  uint64_t sent;    /* CONNECT written: CONNACK latency counts from here */
};

#define ID_DIGITS 8
#define STDIN_KEY (~0ull)
#define SIGNAL_KEY (~0ull - 1)

struct run {
  const struct options *o;
  struct conn *conns;
  int ep;
  uint8_t connect_pkt[600];
  size_t connect_len, digits_at;
  long next, scan, in_flight, settled, established, failed, refused, timeouts, dropped;
  int stopped, stdin_open;
  uint64_t next_ping;
  char first_error[160];
  struct histogram latency, connack_latency;
};

static void note_error(struct run *r, const char *what, long i) {
  if (!r->first_error[0])
    snprintf(r->first_error, sizeof r->first_error, "connection %ld: %s", i, what);
}

/** Closes connection i: while connecting it counts as failed, once open as dropped. */
static void finish(struct run *r, long i, const char *why) {
  struct conn *c = &r->conns[i];
  if (c->state == DONE) return;
  note_error(r, why, i);
  if (c->state == OPEN) {
    r->dropped++;
  } else {
    r->failed++;
    r->in_flight--;
    r->settled++;
  }
  if (c->fd >= 0) close(c->fd);
  c->state = DONE;
}

static void start(struct run *r, long i) {
  struct conn *c = &r->conns[i];
  c->started = now_ns();
  c->state = CONNECTING;
  r->in_flight++;
  c->fd = start_connect(r->o->host, r->o->port);
  if (c->fd < 0) {
    finish(r, i, strerror(errno));
    return;
  }
  struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
                           .data.u64 = (uint64_t)i};
  if (epoll_ctl(r->ep, EPOLL_CTL_ADD, c->fd, &ev) != 0) finish(r, i, strerror(errno));
}

/** The TCP connect finished (or failed, `events` has EPOLLERR or EPOLLHUP): send the CONNECT. */
static void on_connected(struct run *r, long i, uint32_t events) {
  struct conn *c = &r->conns[i];
  int err = 0;
  socklen_t len = sizeof err;
  /* Only a failure needs its reason asked for; writable alone means connected. */
  if (events & (EPOLLERR | EPOLLHUP)) {
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    finish(r, i, strerror(err ? err : ECONNRESET));
    return;
  }
  put_digits(r->connect_pkt + r->digits_at, ID_DIGITS, (unsigned long)i);
  ssize_t n = send(c->fd, r->connect_pkt, r->connect_len, MSG_NOSIGNAL);
  if (n != (ssize_t)r->connect_len) {
    finish(r, i, n < 0 ? strerror(errno) : "short write of CONNECT");
    return;
  }
  c->sent = now_ns();
  c->state = AWAIT_CONNACK;
}

/** Takes CONNACK bytes; decides once the whole packet is in. */
static void take_connack(struct run *r, long i, const uint8_t *p, size_t n) {
  struct conn *c = &r->conns[i];
  for (size_t k = 0; k < n && c->have < sizeof c->head; k++) c->head[c->have++] = p[k];
  c->got += (uint32_t)n;
  if (c->need == 0) {
    size_t total;
    int ok = packet_length(c->head, c->have, &total);
    if (ok < 0 || (ok > 0 && c->head[0] != 0x20)) {
      finish(r, i, "malformed or unexpected packet instead of CONNACK");
      return;
    }
    if (ok == 0) return;
    c->need = (uint32_t)total;
  }
  if (c->got < c->need) return;
  /* Variable header after the fixed header: acknowledge flags, then the return code. */
  size_t fixed = 1;
  while (c->head[fixed] & 0x80) fixed++;
  fixed++;
  if (c->need < fixed + 2) {
    finish(r, i, "CONNACK too short");
    return;
  }
  uint8_t code = c->head[fixed + 1];
  if (code != 0) {
    char why[64];
    snprintf(why, sizeof why, "CONNACK refused with code 0x%02x", code);
    r->refused++;
    finish(r, i, why);
    return;
  }
  uint64_t t = now_ns();
  hist_record(&r->latency, t - c->started);
  hist_record(&r->connack_latency, t - c->sent);
  c->state = OPEN;
  r->in_flight--;
  r->settled++;
  r->established++;
}

/** Readable: the CONNACK while connecting; once open, anything (PINGRESP) is read and dropped. */
static void on_readable(struct run *r, long i) {
  struct conn *c = &r->conns[i];
  uint8_t buf[4096];
  for (;;) {
    ssize_t n = recv(c->fd, buf, sizeof buf, 0);
    if (n > 0) {
      if (c->state != AWAIT_CONNACK) continue;
      take_connack(r, i, buf, (size_t)n);
      /* Settled: no second read just to hear EAGAIN. Anything left unread is announced
         again by the next edge (more data, or EPOLLRDHUP when the broker closes). */
      if (c->state != AWAIT_CONNACK) return;
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n < 0 && errno == EINTR) continue;
    finish(r, i, n == 0 ? "closed by the broker" : strerror(errno));
    return;
  }
}

/** Fails the connections still without a CONNACK after the timeout (oldest first). */
static void check_timeouts(struct run *r, uint64_t now) {
  uint64_t limit = (uint64_t)r->o->timeout_ms * 1000000u;
  while (r->scan < r->next && (r->conns[r->scan].state == OPEN || r->conns[r->scan].state == DONE))
    r->scan++;
  for (long i = r->scan; i < r->next; i++) {
    struct conn *c = &r->conns[i];
    if ((c->state == CONNECTING || c->state == AWAIT_CONNACK) && now - c->started > limit) {
      r->timeouts++;
      finish(r, i, "no CONNACK before the timeout");
    }
  }
}

/** Every keep-alive period, a PINGREQ on each open connection so the broker keeps it. */
static void maybe_ping(struct run *r, uint64_t now) {
  if (r->o->keepalive <= 0 || now < r->next_ping) return;
  static const uint8_t pingreq[2] = {0xc0, 0};
  for (long i = 0; i < r->next; i++) {
    if (r->conns[i].state == OPEN &&
        send(r->conns[i].fd, pingreq, sizeof pingreq, MSG_NOSIGNAL) != sizeof pingreq)
      finish(r, i, "PINGREQ failed");
  }
  r->next_ping = now + (uint64_t)r->o->keepalive * 1000000000u;
}

/** One epoll round: sockets, stdin, signals. */
static void poll_once(struct run *r, int timeout_ms) {
  struct epoll_event evs[512];
  int n = epoll_wait(r->ep, evs, 512, timeout_ms);
  for (int k = 0; k < n; k++) {
    uint64_t key = evs[k].data.u64;
    if (key == SIGNAL_KEY) {
      r->stopped = 1;
      continue;
    }
    if (key == STDIN_KEY) {
      char buf[256];
      ssize_t got = read(0, buf, sizeof buf);
      if (got <= 0) {
        r->stdin_open = 0;
        epoll_ctl(r->ep, EPOLL_CTL_DEL, 0, NULL);
      }
      continue;
    }
    long i = (long)key;
    struct conn *c = &r->conns[i];
    if (c->state == CONNECTING && (evs[k].events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
      on_connected(r, i, evs[k].events);
    if (c->state == DONE) continue;
    if (evs[k].events & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP)) {
      if (c->state != CONNECTING) on_readable(r, i);
    }
  }
  uint64_t now = now_ns();
  check_timeouts(r, now);
  maybe_ping(r, now);
}

/** Waits for a line (or the end) on stdin, or a signal: the harness measures meanwhile. */
static void wait_for_line(struct run *r, int sigfd) {
  struct pollfd fds[2] = {{.fd = 0, .events = POLLIN}, {.fd = sigfd, .events = POLLIN}};
  char ch;
  while (r->stdin_open && !r->stopped) {
    if (poll(fds, 2, -1) < 0 && errno != EINTR) return;
    if (fds[1].revents) {
      r->stopped = 1;
      return;
    }
    if (!fds[0].revents) continue;
    ssize_t n = read(0, &ch, 1);
    if (n == 1 && ch == '\n') return;
    if (n == 0 || (n < 0 && errno != EINTR)) {
      r->stdin_open = 0;
      epoll_ctl(r->ep, EPOLL_CTL_DEL, 0, NULL);
    }
  }
}

/** Opens connections until `target` of them have settled (or a signal stops it). */
static void open_until(struct run *r, long target) {
  while (r->settled < target && !r->stopped) {
    while (r->in_flight < r->o->in_flight && r->next < target) start(r, r->next++);
    if (r->settled >= target) break;
    poll_once(r, 50);
  }
}

static void emit_result(struct run *r, uint64_t elapsed, uint64_t user, uint64_t sys) {
  char lat[256], ack[256];
  hist_json(&r->latency, lat, sizeof lat);
  hist_json(&r->connack_latency, ack, sizeof ack);
  double secs = (double)elapsed / 1e9;
  emit("{\"event\":\"connected\",\"requested\":%ld,\"established\":%ld,\"failed\":%ld,"
       "\"refused\":%ld,\"timeouts\":%ld,\"dropped\":%ld,\"inFlight\":%d,\"elapsedS\":%.6f,"
       "\"connectsPerSec\":%.1f,\"latency\":%s,\"connackLatency\":%s,"
       "\"cpu\":{\"userMs\":%.3f,\"systemMs\":%.3f,\"percent\":%.1f},"
       "\"interrupted\":%s,\"firstError\":\"%s\"}",
       r->o->count, r->established, r->failed, r->refused, r->timeouts, r->dropped,
       r->o->in_flight, secs, secs > 0 ? (double)r->established / secs : 0, lat, ack,
       (double)user / 1e6, (double)sys / 1e6,
       elapsed ? 100.0 * (double)(user + sys) / (double)elapsed : 0,
       r->stopped ? "true" : "false", r->first_error);
}

/** The epoll set with stdin (when it can be polled: not /dev/null) and the signals. */
static int setup(struct run *r, int *sigfd) {
  r->ep = epoll_create1(EPOLL_CLOEXEC);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  sigprocmask(SIG_BLOCK, &set, NULL);
  *sigfd = signalfd(-1, &set, SFD_CLOEXEC);
  if (r->ep < 0 || *sigfd < 0) return -1;
  struct epoll_event sev = {.events = EPOLLIN, .data.u64 = SIGNAL_KEY};
  epoll_ctl(r->ep, EPOLL_CTL_ADD, *sigfd, &sev);
  struct epoll_event iev = {.events = EPOLLIN, .data.u64 = STDIN_KEY};
  r->stdin_open = epoll_ctl(r->ep, EPOLL_CTL_ADD, 0, &iev) == 0;
  char id[32];
  snprintf(id, sizeof id, "mlc-%06x-%0*d", (unsigned)((uint64_t)getpid() ^ now_ns()) & 0xffffff,
           ID_DIGITS, 0);
  size_t id_at;
  r->connect_len = encode_connect(r->connect_pkt, r->o->version, r->o->keepalive, id, &id_at);
  r->digits_at = id_at + strlen(id) - ID_DIGITS;
  r->conns = calloc((size_t)r->o->count, sizeof *r->conns);
  if (!r->conns || hist_init(&r->latency) || hist_init(&r->connack_latency)) return -1;
  return 0;
}

int run_connect(const struct options *o) {
  static struct run run;
  struct run *r = &run;
  r->o = o;
  int sigfd;
  long limit = raise_nofile();
  if (limit > 0 && o->count + 16 > limit)
    fprintf(stderr, "mqtt-load: %ld connections need more than the open-files limit %ld\n",
            o->count, limit);
  if (setup(r, &sigfd) != 0) {
    perror("mqtt-load: setup");
    return 1;
  }
  uint64_t u0, s0, u1, s1, pu0 = 0, ps0 = 0, pu1 = 0, ps1 = 0, paused = 0;
  uint64_t t0 = now_ns();
  cpu_ns(&u0, &s0);
  r->next_ping = t0 + (uint64_t)o->keepalive * 1000000000u;
  if (o->half_pause) {
    open_until(r, o->count / 2);
    uint64_t p0 = now_ns();
    cpu_ns(&pu0, &ps0);
    emit("{\"event\":\"half\",\"established\":%ld}", r->established);
    wait_for_line(r, sigfd);
    cpu_ns(&pu1, &ps1);
    paused = now_ns() - p0;
  }
  open_until(r, o->count);
  uint64_t elapsed = now_ns() - t0 - paused;
  cpu_ns(&u1, &s1);
  emit_result(r, elapsed, (u1 - u0) - (pu1 - pu0), (s1 - s0) - (ps1 - ps0));
  while (r->stdin_open && !r->stopped) poll_once(r, 1000);
  long open = 0;
  for (long i = 0; i < r->next; i++) {
    if (r->conns[i].state == OPEN) open++;
    if (r->conns[i].state != DONE && r->conns[i].fd >= 0) close(r->conns[i].fd);
  }
  emit("{\"event\":\"end\",\"open\":%ld,\"dropped\":%ld}", open, r->dropped);
  return 0;
}
