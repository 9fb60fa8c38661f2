/*
 * fanin mode's set-up, done before any timing: blocking MQTT handshakes (CONNECT/CONNACK,
 * SUBSCRIBE/SUBACK, each with a 10 s socket timeout) and the PUBLISH encoded once per
 * publisher, to be patched per message.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "fanin.h"

/** Reads one whole packet (at most `cap` bytes) from blocking `fd`; its length, or -1. */
static ssize_t read_packet(int fd, uint8_t *buf, size_t cap) {
  size_t have = 0, total = 0;
  for (;;) {
    int ok = have > 0 ? packet_length(buf, have, &total) : 0;
    if (ok < 0 || (ok > 0 && total > cap)) return -1;
    if (ok > 0 && have >= total) return (ssize_t)total;
    size_t want = ok > 0 ? total - have : 1;
    ssize_t n = recv(fd, buf + have, want, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    have += (size_t)n;
  }
}

/** The fixed header's length: the type byte and the remaining length's 1-4 bytes. */
static size_t header_length(const uint8_t *p) {
  size_t n = 1;
  while (n < 4 && (p[n] & 0x80)) n++;
  return n + 1;
}

/** The byte `skip` + 1 after the fixed header: a CONNACK's code (0) or a SUBACK's. */
static uint8_t code_at(const uint8_t *p, size_t skip) {
  return p[header_length(p) + 1 + skip];
}

int fanin_open(const struct options *o, const char *host, int port, const char *client_id,
               char *err, size_t errlen) {
  int fd = start_connect(host, port);
  if (fd < 0) {
    snprintf(err, errlen, "%s: connect to %s:%d: %s", client_id, host, port,
             strerror(errno));
    return -1;
  }
  struct pollfd pfd = {.fd = fd, .events = POLLOUT};
  int e = 0;
  socklen_t len = sizeof e;
  if (poll(&pfd, 1, 10000) != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) || e) {
    snprintf(err, errlen, "%s: connect to %s:%d: %s", client_id, host, port,
             e ? strerror(e) : "timed out");
    close(fd);
    return -1;
  }
  /* Blocking with a timeout for the handshake; non-blocking again once it is done. */
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  struct timeval tv = {.tv_sec = 10};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  uint8_t pkt[600];
  size_t id_at;
  size_t n = encode_connect(pkt, o->version, 0, client_id, &id_at);
  ssize_t got = send(fd, pkt, n, MSG_NOSIGNAL) == (ssize_t)n ? read_packet(fd, pkt, sizeof pkt) : -1;
  if (got < 4 || pkt[0] != 0x20 || code_at(pkt, 0) != 0) {
    if (got < 4 || pkt[0] != 0x20)
      snprintf(err, errlen, "%s: no CONNACK (%s)", client_id, got < 0 ? strerror(errno) : "other packet");
    else
      snprintf(err, errlen, "%s: CONNACK refused with code 0x%02x", client_id, code_at(pkt, 0));
    close(fd);
    return -1;
  }
  return fd;
}

int fanin_subscribe(int fd, const struct options *o, const char *filter, char *err,
                    size_t errlen) {
  uint8_t body[300], pkt[310];
  size_t n = 0, flen = strlen(filter);
  body[n++] = 0;
  body[n++] = 1; /* packet id 1 */
  if (o->version == 5) body[n++] = 0; /* no SUBSCRIBE properties */
  body[n++] = (uint8_t)(flen >> 8);
  body[n++] = (uint8_t)flen;
  memcpy(body + n, filter, flen);
  n += flen;
  body[n++] = (uint8_t)o->qos; /* options: the QoS (v5: no local, retain flags 0) */
  pkt[0] = 0x82;
  size_t h = 1 + (size_t)put_varint(pkt + 1, (uint32_t)n);
  memcpy(pkt + h, body, n);
  ssize_t got = send(fd, pkt, h + n, MSG_NOSIGNAL) == (ssize_t)(h + n)
                    ? read_packet(fd, pkt, sizeof pkt)
                    : -1;
  if (got < 5 || pkt[0] != 0x90) {
    snprintf(err, errlen, "subscriber: no SUBACK (%s)", got < 0 ? strerror(errno) : "other packet");
    return -1;
  }
  /* After the packet id (2 bytes) and, in 5.0, the properties (their length, then them). */
  size_t skip = 2;
  if (o->version == 5) skip += 1 + pkt[header_length(pkt) + 2]; /* properties < 128 bytes */
  if (header_length(pkt) + skip >= (size_t)got) {
    snprintf(err, errlen, "subscriber: a SUBACK too short");
    return -1;
  }
  uint8_t code = code_at(pkt, skip - 1);
  if (code >= 0x80) {
    snprintf(err, errlen, "subscriber: SUBSCRIBE refused with code 0x%02x", code);
    return -1;
  }
  set_nonblocking(fd);
  return 0;
}

size_t fanin_encode_publish(uint8_t *out, const struct options *o, const char *topic,
                            size_t *pid_at, size_t *payload_at) {
  size_t tlen = strlen(topic);
  size_t body = 2 + tlen + (o->qos ? 2 : 0) + (o->version == 5 ? 1 : 0) + (size_t)o->payload;
  out[0] = (uint8_t)(0x30 | (o->qos << 1));
  size_t n = 1 + (size_t)put_varint(out + 1, (uint32_t)body);
  out[n++] = (uint8_t)(tlen >> 8);
  out[n++] = (uint8_t)tlen;
  memcpy(out + n, topic, tlen);
  n += tlen;
  *pid_at = n;
  if (o->qos) n += 2;
  if (o->version == 5) out[n++] = 0; /* no PUBLISH properties */
  *payload_at = n;
  memset(out + n, 0, (size_t)o->payload);
  return n + (size_t)o->payload;
}
