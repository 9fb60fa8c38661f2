/*
 * fanin mode's receiving side: the subscriber's PUBLISHes (sequence check, latency, PUBACK
 * at QoS 1, batched into one write per read) and the publishers' PUBACKs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "fanin.h"

/** Subscriber input buffer: room for any packet the run sends, and many of them. */
#define SUB_IN_CAP (1 << 20)
/** PUBACK bytes written at once at most: well within the output buffer. */
#define ACK_BATCH (1 << 14)

void fanin_error(struct fanin *f, const char *what) {
  f->errors++;
  if (!f->first_error[0]) snprintf(f->first_error, sizeof f->first_error, "%s", what);
}

/** Records message `seq` of publisher `pub`: new, duplicate or late. */
static void check_sequence(struct fanin *f, uint32_t pub, uint32_t seq) {
  struct track *t = &f->tracks[pub];
  if (seq >= f->pubs[pub].seq || seq >= t->cap) {
    fanin_error(f, "a sequence number that was never sent");
    return;
  }
  uint8_t bit = (uint8_t)(1u << (seq & 7));
  if (t->seen[seq >> 3] & bit) {
    f->duplicated++;
    return;
  }
  t->seen[seq >> 3] |= bit;
  f->total_received++;
  if ((int64_t)seq < t->high) f->out_of_order++;
  else t->high = seq;
}

/** One PUBLISH of `len` bytes at `p`, received at `now`; a PUBACK goes to `acks`. */
static void on_publish(struct fanin *f, const uint8_t *p, size_t len, uint64_t now,
                       uint8_t *acks, size_t *nacks) {
  size_t pos = 1;
  while (p[pos] & 0x80) pos++;
  pos++;
  int qos = (p[0] >> 1) & 3;
  pos += 2 + (size_t)((p[pos] << 8) | p[pos + 1]);
  if (qos > 0) {
    acks[(*nacks)++] = 0x40;
    acks[(*nacks)++] = 2;
    acks[(*nacks)++] = p[pos];
    acks[(*nacks)++] = p[pos + 1];
    pos += 2;
  }
  if (f->o->version == 5) {
    uint32_t plen = 0; /* the properties' length, then the properties: skipped */
    for (int shift = 0; pos < len && shift < 28; shift += 7) {
      uint8_t b = p[pos++];
      plen |= (uint32_t)(b & 0x7f) << shift;
      if (!(b & 0x80)) break;
    }
    pos += plen;
  }
  if (pos + PAYLOAD_HEADER > len) {
    fanin_error(f, "a PUBLISH whose payload is shorter than the header");
    return;
  }
  uint32_t tag, pub, seq;
  uint64_t sent;
  memcpy(&tag, p + pos, 4);
  memcpy(&pub, p + pos + 4, 4);
  memcpy(&seq, p + pos + 8, 4);
  memcpy(&sent, p + pos + 12, 8);
  if (tag != f->tag) return; /* another run's message */
  if (pub >= (uint32_t)f->o->publishers) {
    fanin_error(f, "a PUBLISH from an unknown publisher");
    return;
  }
  check_sequence(f, pub, seq);
  if (now >= f->measure_from && now < f->measure_to) f->delivered_measured++;
  if (sent >= f->measure_from && sent < f->measure_to) hist_record(&f->latency, now - sent);
}

/** Writes the PUBACKs gathered so far in one send. */
static void send_acks(struct fanin *f, const uint8_t *acks, size_t *nacks) {
  if (*nacks == 0) return;
  int r = out_send(f->sub, &f->sub_out, acks, *nacks);
  if (r < 0 || r == 2) fanin_error(f, "subscriber: could not write PUBACKs");
  if (r == 1) f->sub_armed = 1;
  *nacks = 0;
}

/** Takes every whole packet in the subscriber's buffer; keeps a partial one. */
static void consume(struct fanin *f, uint64_t now) {
  static uint8_t acks[ACK_BATCH + 4];
  size_t nacks = 0, at = 0;
  while (at < f->sub_have) {
    if (nacks >= ACK_BATCH) send_acks(f, acks, &nacks);
    size_t total;
    int ok = packet_length(f->sub_in + at, f->sub_have - at, &total);
    if (ok < 0) {
      fanin_error(f, "subscriber: a malformed packet");
      f->stopped = 1;
      return;
    }
    if (ok == 0 || f->sub_have - at < total) break;
    if ((f->sub_in[at] & 0xf0) == 0x30) on_publish(f, f->sub_in + at, total, now, acks, &nacks);
    at += total;
  }
  memmove(f->sub_in, f->sub_in + at, f->sub_have - at);
  f->sub_have -= at;
  send_acks(f, acks, &nacks);
}

void fanin_read_subscriber(struct fanin *f) {
  if (!f->sub_in) {
    static uint8_t buf[SUB_IN_CAP];
    f->sub_in = buf;
  }
  for (;;) {
    if (f->sub_have == SUB_IN_CAP) {
      fanin_error(f, "subscriber: a packet larger than its buffer");
      f->stopped = 1;
      return;
    }
    size_t room = SUB_IN_CAP - f->sub_have;
    ssize_t n = recv(f->sub, f->sub_in + f->sub_have, room, 0);
    if (n > 0) {
      f->sub_have += (size_t)n;
      consume(f, now_ns());
      /* Level-triggered: a short read took all there was; no second call to hear EAGAIN. */
      if ((size_t)n < room) return;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    fanin_error(f, n == 0 ? "subscriber: closed by the broker" : strerror(errno));
    f->stopped = 1;
    return;
  }
}

void fanin_read_publisher(struct fanin *f, int i) {
  struct publisher *p = &f->pubs[i];
  for (;;) {
    ssize_t n = recv(p->fd, p->in + p->have, sizeof p->in - p->have, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n <= 0) {
      fanin_error(f, n == 0 ? "publisher: closed by the broker" : strerror(errno));
      f->stopped = 1;
      return;
    }
    int more = (size_t)n == sizeof p->in - p->have;
    p->have += (size_t)n;
    size_t at = 0, total;
    int ok;
    while ((ok = packet_length(p->in + at, p->have - at, &total)) > 0 && p->have - at >= total &&
           total <= sizeof p->in) {
      if ((p->in[at] & 0xf0) == 0x40) {
        f->acks++;
        if (p->unacked > 0) p->unacked--;
        /* 5.0: a reason code after the packet id; 0x80 and above is a refusal. */
        if (total >= 5 && p->in[at + 4] >= 0x80) fanin_error(f, "publisher: PUBACK with an error code");
      }
      at += total;
    }
    if (ok < 0 || (ok > 0 && total > sizeof p->in)) {
      fanin_error(f, "publisher: a malformed or oversized packet");
      f->stopped = 1;
      return;
    }
    memmove(p->in, p->in + at, p->have - at);
    p->have -= at;
    if (!more) return;
  }
}
