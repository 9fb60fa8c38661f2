/*
 * fanin mode: P publishers and 1 subscriber (`mlf/<run>/+`) at a total rate R, QoS 0 or 1.
 * The subscriber may connect to another broker (--sub-host/--sub-port: a cluster's other
 * node), so that every message crosses between the two; the clocks still agree (one process).
 * Message k leaves at t0 + k/R from publisher k mod P, so each publisher sends every P/R
 * seconds, publisher i offset by i/P of that period: every message alone at its own time.
 * Paced by polling: the loop sleeps in epoll only while the next due time is more than
 * --spin-us away (2 ms by default; then until that margin), and otherwise polls epoll with
 * timeout 0 and reads the clock every turn, so a message leaves within one loop turn of its
 * due time and a delivery is read within one turn of its arrival. The tool owns its core: at
 * 10k msg/s (100 µs apart) it never sleeps. A timer's wake-ups on this VM came 3-70 ms late
 * at the p99. With --spin-us 0 it sleeps until each due time instead (ns timeout, 1 ns timer
 * slack) and wakes for each arrival: on a machine with fewer cores than busy processes (a
 * cluster's two nodes and Redis on 2 cores) the polling core is taken from the brokers.
 * Each payload carries the run tag, publisher, sequence number and CLOCK_MONOTONIC send
 * time (one process, so the clocks agree); the subscriber checks every sequence (lost,
 * duplicated, out of order) and times the messages sent while measuring.
 *
 * Lines out: {"event":"measure-start"}, {"event":"measure-end"}, then the result.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "fanin.h"

#define SIGNAL_KEY (~0ull - 1)
#define SUB_KEY (~0ull - 2)

/** Watches `fd` for input, and for room to write when `out` is set. */
static void watch(struct fanin *f, int fd, uint64_t key, int out, int op) {
  struct epoll_event ev = {.events = EPOLLIN | (out ? EPOLLOUT : 0), .data.u64 = key};
  epoll_ctl(f->ep, op, fd, &ev);
}

/** Connects the subscriber and the publishers, encodes their PUBLISHes; 0 or -1 and `err`. */
static int connect_all(struct fanin *f, char *err, size_t errlen) {
  const struct options *o = f->o;
  char id[64], topic[64];
  snprintf(id, sizeof id, "mlf-%08x-s", f->tag);
  f->sub = fanin_open(o, o->sub_host, o->sub_port, id, err, errlen);
  snprintf(topic, sizeof topic, "mlf/%08x/+", f->tag);
  if (f->sub < 0 || fanin_subscribe(f->sub, o, topic, err, errlen) != 0) return -1;
  /* Room for every sequence number the run can send, a bit each. */
  uint32_t cap = (uint32_t)(o->rate * (o->warmup_s + o->duration_s) / o->publishers * 1.1) + 1024;
  for (int i = 0; i < o->publishers; i++) {
    struct publisher *p = &f->pubs[i];
    snprintf(id, sizeof id, "mlf-%08x-p%d", f->tag, i);
    p->fd = fanin_open(o, o->host, o->port, id, err, errlen);
    if (p->fd < 0) return -1;
    snprintf(topic, sizeof topic, "mlf/%08x/%d", f->tag, i);
    p->len = fanin_encode_publish(p->pkt, o, topic, &p->pid_at, &p->payload_at);
    uint32_t index = (uint32_t)i;
    memcpy(p->pkt + p->payload_at, &f->tag, 4);
    memcpy(p->pkt + p->payload_at + 4, &index, 4);
    f->tracks[i] = (struct track){.seen = calloc(cap / 8 + 1, 1), .cap = cap, .high = -1};
    if (!f->tracks[i].seen) return -1;
    set_nonblocking(p->fd);
    watch(f, p->fd, (uint64_t)i, 0, EPOLL_CTL_ADD);
  }
  watch(f, f->sub, SUB_KEY, 0, EPOLL_CTL_ADD);
  return 0;
}

/** Sends message `k` (due at `due`) from publisher k mod P, unless its window is full. */
static void send_one(struct fanin *f, uint64_t k, uint64_t due) {
  int i = (int)(k % (uint64_t)f->o->publishers);
  struct publisher *p = &f->pubs[i];
  if ((f->o->qos > 0 && p->unacked >= (uint32_t)f->o->window) || p->seq >= f->tracks[i].cap) {
    f->skipped++;
    return;
  }
  uint64_t t = now_ns();
  memcpy(p->pkt + p->payload_at + 8, &p->seq, 4);
  memcpy(p->pkt + p->payload_at + 12, &t, 8);
  if (f->o->qos > 0) {
    uint16_t pid = (uint16_t)(p->seq % 65535 + 1);
    p->pkt[p->pid_at] = (uint8_t)(pid >> 8);
    p->pkt[p->pid_at + 1] = (uint8_t)pid;
  }
  int r = out_send(p->fd, &p->out, p->pkt, p->len);
  if (r == 2) {
    f->skipped++; /* the socket and its buffer are full: the broker is not reading */
    return;
  }
  if (r < 0) {
    fanin_error(f, "publisher: write failed");
    f->stopped = 1;
    return;
  }
  if (r == 1 && !p->armed) {
    p->armed = 1;
    watch(f, p->fd, (uint64_t)i, 1, EPOLL_CTL_MOD);
  }
  hist_record(&f->lag, t - due);
  p->seq++;
  p->unacked += f->o->qos > 0;
  f->total_sent++;
  f->writes++;
  /* By send time, as the subscriber picks the messages it times: the counts agree. */
  if (t >= f->measure_from && t < f->measure_to) f->sent_measured++;
}

/** Handles one epoll round, waiting at most `timeout_ns` (0: a poll). */
static void poll_once(struct fanin *f, uint64_t timeout_ns) {
  struct epoll_event evs[64];
  /* epoll_pwait2: a timeout in ns, so that --spin-us 0 sleeps until the due time itself. */
  struct timespec ts = {.tv_sec = (time_t)(timeout_ns / 1000000000u),
                        .tv_nsec = (long)(timeout_ns % 1000000000u)};
  int n = epoll_pwait2(f->ep, evs, 64, &ts, NULL);
  for (int k = 0; k < n; k++) {
    uint64_t key = evs[k].data.u64;
    if (key == SIGNAL_KEY) {
      f->stopped = 1;
    } else if (key == SUB_KEY) {
      if (evs[k].events & EPOLLOUT && out_flush(f->sub, &f->sub_out) == 0) {
        f->sub_armed = 0;
        watch(f, f->sub, SUB_KEY, 0, EPOLL_CTL_MOD);
      }
      if (evs[k].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) fanin_read_subscriber(f);
      if (f->sub_armed == 1) {
        f->sub_armed = 2; /* armed */
        watch(f, f->sub, SUB_KEY, 1, EPOLL_CTL_MOD);
      }
    } else {
      struct publisher *p = &f->pubs[key];
      if (evs[k].events & EPOLLOUT && out_flush(p->fd, &p->out) == 0) {
        p->armed = 0;
        watch(f, p->fd, key, 0, EPOLL_CTL_MOD);
      }
      if (evs[k].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) fanin_read_publisher(f, (int)key);
    }
  }
}

/**
 * How long the loop may sleep (ns) with `due` next: 0 (poll) within --spin-us of it (2 ms by
 * default). With --spin-us 0 it sleeps until each due time and wakes for each arrival: its
 * CPU then follows the load, and its timing the scheduler's wake-ups (the lag says how late).
 */
static uint64_t wait_ns(const struct fanin *f, uint64_t due) {
  uint64_t now = now_ns(), margin = (uint64_t)f->o->spin_us * 1000u;
  if (due <= now + margin) return 0;
  return due - now - margin;
}

/**
 * Sends on schedule (message k due at t0 + k * period) to the end of measuring, with CPU
 * snapshots and their times at both ends of the measured span.
 */
static void send_phase(struct fanin *f, uint64_t cpu[4], uint64_t span[2]) {
  uint64_t period = (uint64_t)(1e9 / f->o->rate);
  uint64_t total = (uint64_t)((f->o->warmup_s + f->o->duration_s) * f->o->rate);
  uint64_t k = 0;
  int started = 0;
  while (!f->stopped) {
    uint64_t now = now_ns();
    if (!started && now >= f->measure_from) {
      started = 1;
      cpu_ns(&cpu[0], &cpu[1]);
      span[0] = now_ns();
      emit("{\"event\":\"measure-start\"}");
    }
    while (k < total && f->t0 + k * period <= now && !f->stopped) {
      send_one(f, k, f->t0 + k * period);
      k++;
    }
    if (k >= total && now >= f->measure_to) break;
    uint64_t next = k < total ? f->t0 + k * period : f->measure_to;
    if (!started && next > f->measure_from) next = f->measure_from;
    poll_once(f, wait_ns(f, next));
  }
  cpu_ns(&cpu[2], &cpu[3]);
  span[1] = now_ns();
  if (!started) { /* stopped before measuring: no figures */
    memcpy(cpu, cpu + 2, 2 * sizeof *cpu);
    span[0] = span[1];
  }
  emit("{\"event\":\"measure-end\"}");
}

/** Waits for the last deliveries (and PUBACKs) until all are in or the drain time is up. */
static void drain(struct fanin *f) {
  uint64_t deadline = now_ns() + (uint64_t)(f->o->drain_s * 1e9);
  while (!f->stopped && now_ns() < deadline) {
    int acked = f->o->qos == 0 || f->acks >= f->total_sent;
    if (f->total_received >= f->total_sent && acked) return;
    poll_once(f, 10000000u);
  }
}

static void emit_result(struct fanin *f, const uint64_t cpu[4], uint64_t measured_ns) {
  char lat[256], lag[256];
  hist_json(&f->latency, lat, sizeof lat);
  hist_json(&f->lag, lag, sizeof lag);
  double secs = f->o->duration_s;
  uint64_t user = cpu[2] - cpu[0], sys = cpu[3] - cpu[1];
  emit("{\"event\":\"result\",\"publishers\":%d,\"qos\":%d,\"payload\":%d,\"rate\":%.1f,"
       "\"version\":%d,\"port\":%d,\"subPort\":%d,\"spinUs\":%d,\"seconds\":%.3f,\"sent\":%llu,"
       "\"delivered\":%llu,\"sentPerSec\":%.1f,"
       "\"deliveredPerSec\":%.1f,\"latency\":%s,\"lag\":%s,\"totalSent\":%llu,"
       "\"totalDelivered\":%llu,\"lost\":%llu,\"duplicated\":%llu,\"outOfOrder\":%llu,"
       "\"skipped\":%llu,\"writes\":%llu,\"errors\":%llu,"
       "\"cpu\":{\"userMs\":%.3f,\"systemMs\":%.3f,\"percent\":%.1f},"
       "\"interrupted\":%s,\"firstError\":\"%s\"}",
       f->o->publishers, f->o->qos, f->o->payload, f->o->rate, f->o->version, f->o->port,
       f->o->sub_port, f->o->spin_us, secs,
       (unsigned long long)f->sent_measured, (unsigned long long)f->delivered_measured,
       (double)f->sent_measured / secs, (double)f->delivered_measured / secs, lat, lag,
       (unsigned long long)f->total_sent, (unsigned long long)f->total_received,
       (unsigned long long)(f->total_sent - f->total_received),
       (unsigned long long)f->duplicated, (unsigned long long)f->out_of_order,
       (unsigned long long)f->skipped, (unsigned long long)f->writes,
       (unsigned long long)f->errors, (double)user / 1e6, (double)sys / 1e6,
       measured_ns ? 100.0 * (double)(user + sys) / (double)measured_ns : 0,
       f->stopped ? "true" : "false", f->first_error);
}

/** The epoll set with the signals (SIGINT, SIGTERM, SIGHUP end the run). */
static int setup(struct fanin *f) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  sigprocmask(SIG_BLOCK, &set, NULL);
  f->ep = epoll_create1(EPOLL_CLOEXEC);
  f->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  f->pubs = calloc((size_t)f->o->publishers, sizeof *f->pubs);
  f->tracks = calloc((size_t)f->o->publishers, sizeof *f->tracks);
  if (f->ep < 0 || f->sigfd < 0 || !f->pubs || !f->tracks) return -1;
  if (hist_init(&f->latency) || hist_init(&f->lag)) return -1;
  watch(f, f->sigfd, SIGNAL_KEY, 0, EPOLL_CTL_ADD);
  /* A sleep ends when asked, not up to 50 µs later (the default slack). */
  prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
  f->tag = (uint32_t)(((uint64_t)getpid() << 16) ^ now_ns());
  return 0;
}

int run_fanin(const struct options *o) {
  static struct fanin run;
  struct fanin *f = &run;
  f->o = o;
  char err[200] = "";
  if (setup(f) != 0 || connect_all(f, err, sizeof err) != 0) {
    if (!err[0]) snprintf(err, sizeof err, "set-up: %s", strerror(errno));
    fprintf(stderr, "mqtt-load: %s\n", err);
    emit("{\"event\":\"error\",\"message\":\"%s\"}", err);
    return 1;
  }
  f->t0 = now_ns() + 10000000u; /* 10 ms from now: the first messages are not late */
  f->measure_from = f->t0 + (uint64_t)(o->warmup_s * 1e9);
  f->measure_to = f->measure_from + (uint64_t)(o->duration_s * 1e9);
  uint64_t cpu[4] = {0, 0, 0, 0}, span[2] = {0, 0};
  send_phase(f, cpu, span);
  drain(f);
  emit_result(f, cpu, span[1] - span[0]);
  static const uint8_t disconnect[2] = {0xe0, 0};
  for (int i = 0; i < o->publishers; i++) {
    if (send(f->pubs[i].fd, disconnect, 2, MSG_NOSIGNAL) < 0) { /* closing anyway */ }
    close(f->pubs[i].fd);
  }
  if (send(f->sub, disconnect, 2, MSG_NOSIGNAL) < 0) { /* closing anyway */ }
  close(f->sub);
  return 0;
}
