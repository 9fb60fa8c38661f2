/*
 * mqtt-load's command line: `mqtt-load <mode> [--option value ...]`. Bad input gets a
 * message naming the option and exit code 2.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mqtt-load.h"

static const char USAGE[] =
    "usage: mqtt-load connect [--host 127.0.0.1] [--port 1883] [--count 1000] [--in-flight 50]\n"
    "                         [--version 4|5] [--keepalive 0] [--timeout-ms 15000] [--half-pause]\n";

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

/** One option at argv[i] (and its value at argv[i + 1]); returns how many it took, or -1. */
static int option(struct options *o, int argc, char **argv, int i) {
  const char *name = argv[i];
  const char *value = i + 1 < argc ? argv[i + 1] : NULL;
  double v;
  if (strcmp(name, "--half-pause") == 0) return o->half_pause = 1;
  if (strcmp(name, "--host") == 0) {
    if (!value) return -1;
    o->host = value;
    return 2;
  }
  static const struct {
    const char *name;
    double min, max;
  } nums[] = {{"--port", 1, 65535},         {"--count", 1, 1e7},     {"--in-flight", 1, 1e6},
              {"--version", 4, 5},          {"--keepalive", 0, 65535}, {"--timeout-ms", 1, 1e8}};
  for (size_t k = 0; k < sizeof nums / sizeof nums[0]; k++) {
    if (strcmp(name, nums[k].name) != 0) continue;
    if (number(name, value, nums[k].min, nums[k].max, &v) != 0) return -1;
    if (k == 0) o->port = (int)v;
    if (k == 1) o->count = (long)v;
    if (k == 2) o->in_flight = (int)v;
    if (k == 3) o->version = (int)v;
    if (k == 4) o->keepalive = (int)v;
    if (k == 5) o->timeout_ms = (int)v;
    return 2;
  }
  fprintf(stderr, "mqtt-load: unknown option %s\n", name);
  return -1;
}

int main(int argc, char **argv) {
  struct options o = {.host = "127.0.0.1", .port = 1883, .version = 4, .count = 1000,
                      .in_flight = 50, .timeout_ms = 15000};
  if (argc < 2) return fail("%s", "a mode is needed");
  for (int i = 2; i < argc;) {
    int took = option(&o, argc, argv, i);
    if (took < 0) return fail("bad option %s", argv[i]);
    i += took;
  }
  if (o.version != 4 && o.version != 5) return fail("%s", "--version is 4 (3.1.1) or 5 (5.0)");
  if (strcmp(argv[1], "connect") == 0) return run_connect(&o);
  return fail("unknown mode %s", argv[1]);
}
