/*
 * mqtt-load's command line: `mqtt-load <mode> [--option value ...]`. Bad input gets a
 * message naming the option and exit code 2.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mqtt-load.h"

static const char USAGE[] =
    "usage: mqtt-load connect [--host 127.0.0.1] [--port 1883] [--count 1000] [--in-flight 50]\n"
    "                         [--version 4|5] [--keepalive 0] [--timeout-ms 15000] [--half-pause]\n"
    "       mqtt-load fanin   [--host 127.0.0.1] [--port 1883] [--publishers 8] [--rate 10000]\n"
    "                         [--qos 0|1] [--payload 64] [--warmup 2] [--duration 10] [--drain 5]\n"
    "                         [--window 1000] [--version 4|5] [--sub-host H] [--sub-port N]\n"
    "                         [--spin-us 2000]\n";

static int fail(const char *fmt, const char *a) {
  fprintf(stderr, "mqtt-load: ");
  fprintf(stderr, fmt, a);
  fprintf(stderr, "\n%s", USAGE);
  return 2;
}

/** Parses `text` as a number within [min, max] into `*out`; 0 on success. */
static int number(const char *name, const char *text, double min, double max, double *out) {
  char *end;
  double v = text ? strtod(text, &end) : 0;
  if (!text || *end != '\0' || v < min || v > max) {
    fprintf(stderr, "mqtt-load: %s needs a number from %g to %g, got \"%s\"\n", name, min, max,
            text ? text : "");
    return -1;
  }
  *out = v;
  return 0;
}

/** Stores the value of option number `k` of `option`'s table. */
static void set_number(struct options *o, size_t k, double v) {
  switch (k) {
    case 0: o->port = (int)v; break;
    case 1: o->count = (long)v; break;
    case 2: o->in_flight = (int)v; break;
    case 3: o->version = (int)v; break;
    case 4: o->keepalive = (int)v; break;
    case 5: o->timeout_ms = (int)v; break;
    case 6: o->publishers = (int)v; break;
    case 7: o->rate = v; break;
    case 8: o->qos = (int)v; break;
    case 9: o->payload = (int)v; break;
    case 10: o->warmup_s = v; break;
    case 11: o->duration_s = v; break;
    case 12: o->drain_s = v; break;
    case 13: o->window = (int)v; break;
    case 14: o->sub_port = (int)v; break;
    case 15: o->spin_us = (int)v; break;
  }
}

/** One option at argv[i] (and its value at argv[i + 1]); returns how many it took, or -1. */
static int option(struct options *o, int argc, char **argv, int i) {
  const char *name = argv[i];
  const char *value = i + 1 < argc ? argv[i + 1] : NULL;
  double v;
  if (strcmp(name, "--half-pause") == 0) return o->half_pause = 1;
  if (strcmp(name, "--host") == 0 || strcmp(name, "--sub-host") == 0) {
    /* An IPv4 address: the tool connects to nothing else (start_connect). */
    struct in_addr a;
    if (!value || inet_pton(AF_INET, value, &a) != 1) {
      fprintf(stderr, "mqtt-load: %s needs an IPv4 address, got \"%s\"\n", name,
              value ? value : "");
      return -1;
    }
    if (strcmp(name, "--host") == 0) o->host = value;
    else o->sub_host = value;
    return 2;
  }
  static const struct {
    const char *name;
    double min, max;
  } nums[] = {{"--port", 1, 65535},       {"--count", 1, 1e7},        {"--in-flight", 1, 1e6},
              {"--version", 4, 5},        {"--keepalive", 0, 65535},  {"--timeout-ms", 1, 1e8},
              {"--publishers", 1, 1000},  {"--rate", 1, 1e7},         {"--qos", 0, 1},
              {"--payload", PAYLOAD_HEADER, 60000}, {"--warmup", 0, 3600}, {"--duration", 0.1, 3600},
              {"--drain", 0, 600},        {"--window", 1, 60000},
              {"--sub-port", 1, 65535},   {"--spin-us", 0, 1e6}};
  for (size_t k = 0; k < sizeof nums / sizeof nums[0]; k++) {
    if (strcmp(name, nums[k].name) != 0) continue;
    if (number(name, value, nums[k].min, nums[k].max, &v) != 0) return -1;
    set_number(o, k, v);
    return 2;
  }
  fprintf(stderr, "mqtt-load: unknown option %s\n", name);
  return -1;
}

int main(int argc, char **argv) {
  struct options o = {.host = "127.0.0.1", .port = 1883, .version = 4, .count = 1000,
                      .in_flight = 50, .timeout_ms = 15000, .publishers = 8, .rate = 10000,
                      .payload = 64, .warmup_s = 2, .duration_s = 10, .drain_s = 5,
                      .window = 1000, .spin_us = 2000};
  if (argc < 2) return fail("%s", "a mode is needed");
  for (int i = 2; i < argc;) {
    int took = option(&o, argc, argv, i);
    if (took < 0) return fail("bad option %s", argv[i]);
    i += took;
  }
  if (o.version != 4 && o.version != 5) return fail("%s", "--version is 4 (3.1.1) or 5 (5.0)");
  /* The subscriber's broker: the publishers' unless named (a cluster's other node). */
  if (!o.sub_host) o.sub_host = o.host;
  if (!o.sub_port) o.sub_port = o.port;
  if (strcmp(argv[1], "connect") == 0) return run_connect(&o);
  if (strcmp(argv[1], "fanin") == 0) {
    if ((o.qos != 0 && o.qos != 1)) return fail("%s", "--qos is 0 or 1");
    return run_fanin(&o);
  }
  return fail("unknown mode %s", argv[1]);
}
