/*
 * pg_hold: opens N client connections to PostgreSQL and holds them until stdin closes
 * (or SIGTERM/SIGINT), so both exporters see the same population of sessions.
 *
 *   pg_hold "host=127.0.0.1 port=P user=bench_app" N [DB1,DB2,...]
 *
 * Connection i gets application_name "bench-app-<i % 7>" and database DBs[i % count].
 * The mix of states looks like an application fleet: of every 10 sessions, one sits
 * "idle in transaction", one is "active" (pg_sleep, cancelled on exit), the rest are idle.
 * Prints "ready N" on stdout once every connection is established; exits 1 with a
 * message on stderr when any connection fails. Bounded: gives up after 120 s.
 */
#include <libpq-fe.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop_requested = 0;
static void on_signal(int sig) {
  (void)sig;
  stop_requested = 1;
}

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void cancel_and_close(PGconn** conns, const int* active, int n) {
  for (int i = 0; i < n; ++i) {
    if (conns[i] == NULL) continue;
    if (active[i]) {
      PGcancel* cancel = PQgetCancel(conns[i]);
      if (cancel != NULL) {
        char err[256];
        PQcancel(cancel, err, sizeof err);
        PQfreeCancel(cancel);
      }
    }
    PQfinish(conns[i]);
  }
}

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s CONNINFO N [DB1,DB2,...]\n", argv[0]);
    return 2;
  }
  const char* base = argv[1];
  const int n = atoi(argv[2]);
  if (n < 0 || n > 5000) {
    fprintf(stderr, "pg_hold: N must be in [0, 5000]\n");
    return 2;
  }
  char* dbs[16];
  int ndb = 0;
  char* dblist = strdup(argc > 3 ? argv[3] : "postgres");
  for (char* tok = strtok(dblist, ","); tok != NULL && ndb < 16; tok = strtok(NULL, ",")) {
    dbs[ndb++] = tok;
  }
  signal(SIGTERM, on_signal);
  signal(SIGINT, on_signal);
  signal(SIGPIPE, SIG_IGN);

  PGconn** conns = calloc((size_t)(n > 0 ? n : 1), sizeof *conns);
  int* active = calloc((size_t)(n > 0 ? n : 1), sizeof *active);
  const double deadline = now_seconds() + 120.0;
  /* Connect in non-blocking batches: the server forks one backend per connection, and
   * overlapping the handshakes makes 900 connections take seconds instead of ~20 s. */
  const int batch = 32;
  for (int first = 0; first < n; first += batch) {
    const int last = first + batch < n ? first + batch : n;
    for (int i = first; i < last; ++i) {
      char conninfo[1024];
      snprintf(conninfo, sizeof conninfo,
               "%s dbname=%s application_name=bench-app-%d connect_timeout=10", base,
               dbs[i % ndb], i % 7);
      conns[i] = PQconnectStart(conninfo);
      if (conns[i] == NULL || PQstatus(conns[i]) == CONNECTION_BAD) {
        fprintf(stderr, "pg_hold: connection %d failed to start: %s", i,
                conns[i] ? PQerrorMessage(conns[i]) : "out of memory\n");
        cancel_and_close(conns, active, i + 1);
        return 1;
      }
    }
    PostgresPollingStatusType state[64];
    for (int i = first; i < last; ++i) state[i - first] = PGRES_POLLING_WRITING;
    for (;;) {
      if (stop_requested || now_seconds() > deadline) {
        fprintf(stderr, "pg_hold: gave up after %d of %d connections\n", first, n);
        cancel_and_close(conns, active, last);
        return 1;
      }
      struct pollfd pfds[64];
      int waiting = 0;
      for (int i = first; i < last; ++i) {
        PostgresPollingStatusType st = state[i - first];
        if (st == PGRES_POLLING_OK) continue;
        if (st == PGRES_POLLING_FAILED) {
          fprintf(stderr, "pg_hold: connection %d failed: %s", i, PQerrorMessage(conns[i]));
          cancel_and_close(conns, active, last);
          return 1;
        }
        pfds[waiting].fd = PQsocket(conns[i]);
        pfds[waiting].events = st == PGRES_POLLING_READING ? POLLIN : POLLOUT;
        pfds[waiting].revents = 0;
        ++waiting;
      }
      if (waiting == 0) break;
      if (poll(pfds, (nfds_t)waiting, 1000) < 0) continue;
      int k = 0;
      for (int i = first; i < last; ++i) {
        PostgresPollingStatusType st = state[i - first];
        if (st == PGRES_POLLING_OK || st == PGRES_POLLING_FAILED) continue;
        if (pfds[k].revents != 0) state[i - first] = PQconnectPoll(conns[i]);
        ++k;
      }
    }
    for (int i = first; i < last; ++i) {
      PGresult* res = NULL;
      switch (i % 10) {
        case 1:  /* idle in transaction */
          res = PQexec(conns[i], "BEGIN; SELECT 1");
          PQclear(res);
          break;
        case 2:  /* active: a long query, cancelled when we exit */
          if (PQsendQuery(conns[i], "SELECT pg_sleep(3600)") == 1) active[i] = 1;
          break;
        default:  /* idle, after one query */
          res = PQexec(conns[i], "SELECT 1");
          PQclear(res);
          break;
      }
    }
  }
  printf("ready %d\n", n);
  fflush(stdout);

  /* Hold until stdin reaches EOF or a signal arrives; bounded at 2 hours. */
  const double hold_deadline = now_seconds() + 7200.0;
  while (!stop_requested && now_seconds() < hold_deadline) {
    struct pollfd pfd = {.fd = 0, .events = POLLIN};
    int r = poll(&pfd, 1, 1000);
    if (r > 0) {
      char buf[256];
      ssize_t got = read(0, buf, sizeof buf);
      if (got <= 0) break;
    }
  }
  cancel_and_close(conns, active, n);
  free(conns);
  free(active);
  free(dblist);
  return 0;
}
