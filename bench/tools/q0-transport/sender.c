/*
 * Paced Redis writer for the QoS 0 transport measurement (bench/tools/q0-transport/README.md):
 * one command per due time (XADD to a stream, or PUBLISH to a channel), each in its own
 * write, replies drained without waiting. Its own CPU is not measured.
 * usage: sender <port> xadd|publish <commands/s> <payload bytes> <seconds>
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc != 6) { fprintf(stderr, "usage\n"); return 2; }
  int port = atoi(argv[1]);
  int publish = strcmp(argv[2], "publish") == 0;
  double rate = atof(argv[3]);
  int size = atoi(argv[4]);
  double seconds = atof(argv[5]);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) { perror("connect"); return 1; }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  char *payload = malloc(size);
  memset(payload, 'x', size);
  char head[256];
  int hl;
  if (publish)
    hl = snprintf(head, sizeof head, "*3\r\n$7\r\nPUBLISH\r\n$4\r\nch:2\r\n$%d\r\n", size);
  else
    hl = snprintf(head, sizeof head,
                  "*9\r\n$4\r\nXADD\r\n$7\r\ninbox:2\r\n$10\r\nNOMKSTREAM\r\n$6\r\nMAXLEN\r\n$1\r\n~\r\n"
                  "$6\r\n100000\r\n$1\r\n*\r\n$1\r\nm\r\n$%d\r\n", size);
  int fl = hl + size + 2;
  char *frame = malloc(fl);
  memcpy(frame, head, hl);
  memcpy(frame + hl, payload, size);
  memcpy(frame + hl + size, "\r\n", 2);
  long long n = (long long)(rate * seconds);
  long long step = (long long)(1e9 / rate);
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  long long start = t.tv_sec * 1000000000LL + t.tv_nsec + 1000000;
  char buf[65536];
  for (long long i = 0; i < n; i++) {
    long long due = start + i * step;
    struct timespec d = {.tv_sec = due / 1000000000LL, .tv_nsec = due % 1000000000LL};
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &d, NULL);
    if (write(fd, frame, fl) != fl) { perror("write"); return 1; }
    while (recv(fd, buf, sizeof buf, MSG_DONTWAIT) > 0) {}
  }
  usleep(200000);
  while (recv(fd, buf, sizeof buf, MSG_DONTWAIT) > 0) {}
  printf("%lld\n", n);
  return 0;
}
