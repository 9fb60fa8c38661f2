/* fanin mode's pieces (fanin-setup.c, fanin-mode.c, fanin-receive.c). */
#ifndef MQTT_LOAD_FANIN_H
#define MQTT_LOAD_FANIN_H

#include <sys/types.h>

#include "mqtt-load.h"

/** One publisher: its socket, its PUBLISH encoded once, what it sent and has acknowledged. */
struct publisher {
  int fd;
  uint8_t pkt[70000];
  size_t len, pid_at, payload_at;
  uint32_t seq;       /* next sequence number */
  uint32_t unacked;   /* QoS 1: sent, PUBACK not yet read */
  size_t have;        /* bytes of a partly read packet in `in` */
  uint8_t in[256];
  struct outbuf out;
  int armed;          /* EPOLLOUT wanted */
};

/** The subscriber's sequence check per publisher: a bit per sequence number. */
struct track {
  uint8_t *seen;
  uint32_t cap;       /* bits */
  int64_t high;       /* highest sequence number received, -1 before the first */
};

/** The whole run. */
struct fanin {
  const struct options *o;
  int ep, sigfd, sub;
  uint32_t tag;
  struct publisher *pubs;
  struct track *tracks;
  uint8_t *sub_in;
  size_t sub_have;
  struct outbuf sub_out;
  int sub_armed;
  uint64_t t0, measure_from, measure_to;
  uint64_t total_sent, total_received, duplicated, out_of_order, skipped, writes;
  uint64_t sent_measured, delivered_measured, acks, errors;
  int stopped;
  char first_error[200];
  struct histogram latency, lag;
};

/**
 * Connects to `host`:`port` and completes the MQTT handshake (blocking); the socket, or -1
 * and `err`.
 */
int fanin_open(const struct options *o, const char *host, int port, const char *client_id,
               char *err, size_t errlen);
/** Subscribes `fd` to `filter` at the run's QoS and makes it non-blocking; 0 or -1 and `err`. */
int fanin_subscribe(int fd, const struct options *o, const char *filter, char *err,
                    size_t errlen);
/** Encodes a PUBLISH to `topic` with a zeroed payload; where its packet id and payload are. */
size_t fanin_encode_publish(uint8_t *out, const struct options *o, const char *topic,
                            size_t *pid_at, size_t *payload_at);
/** Notes the first error (the one the output names) and counts it. */
void fanin_error(struct fanin *f, const char *what);
/** Reads what the subscriber's socket holds: checks, times and acknowledges each PUBLISH. */
void fanin_read_subscriber(struct fanin *f);
/** Reads a publisher's socket: its PUBACKs. */
void fanin_read_publisher(struct fanin *f, int i);

#endif
