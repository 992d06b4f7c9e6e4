#include "blocking.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <mutex>

namespace blocking {
namespace {

std::atomic<bool> aborted{false};
// Written once by AbortAll and never drained: it stays readable, so it wakes every current
// and future poll() in every thread.
int abort_pipe[2] = {-1, -1};
std::once_flag abort_pipe_once;

void EnsureAbortPipe() {
  std::call_once(abort_pipe_once, [] {
    if (pipe(abort_pipe) != 0) {
      abort_pipe[0] = abort_pipe[1] = -1;
      return;
    }
    for (int fd : abort_pipe) {
      fcntl(fd, F_SETFD, FD_CLOEXEC);
      fcntl(fd, F_SETFL, O_NONBLOCK);
    }
  });
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

enum class Wait { kReady, kTimedOut, kAborted };

// Waits until `sock` is ready as asked, the deadline (ms on NowMs' clock, < 0: none) passes, or
// AbortAll is called. Errors and hang-ups count as ready: libpq reports them on its next call.
Wait WaitFor(int sock, bool read, bool write, int64_t deadline) {
  EnsureAbortPipe();
  for (;;) {
    if (aborted.load()) return Wait::kAborted;
    int timeout = -1;
    if (deadline >= 0) {
      int64_t left = deadline - NowMs();
      if (left <= 0) return Wait::kTimedOut;
      timeout = left > INT_MAX ? INT_MAX : static_cast<int>(left);
    }
    struct pollfd fds[2];
    fds[0].fd = sock;
    fds[0].events = static_cast<short>((read ? POLLIN : 0) | (write ? POLLOUT : 0));
    fds[0].revents = 0;
    fds[1].fd = abort_pipe[0];
    fds[1].events = POLLIN;
    fds[1].revents = 0;
    int n = poll(fds, abort_pipe[0] >= 0 ? 2 : 1, timeout);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Wait::kReady;  // let libpq run into the error itself
    }
    if (n == 0) continue;  // the deadline is checked at the top
    if (abort_pipe[0] >= 0 && fds[1].revents != 0) return Wait::kAborted;
    return Wait::kReady;
  }
}

const char* const kExiting = "the process is exiting";

// After a wait that gave up: the server may still run the statement or answer later, so the
// connection cannot be trusted again. Shutting the socket down (not closing it: libpq and a
// uv_poll watcher still hold the descriptor) makes libpq see end-of-file and mark it bad.
void Break(PGconn* conn) {
  int sock = PQsocket(conn);
  if (sock >= 0) shutdown(sock, SHUT_RDWR);
  PQconsumeInput(conn);
  for (int i = 0; i < 100; i++) {
    PGresult* r = PQgetResult(conn);
    if (r == NULL) break;
    PQclear(r);
  }
}

}  // namespace

void AbortAll() {
  EnsureAbortPipe();
  aborted.store(true);
  if (abort_pipe[1] >= 0) {
    ssize_t written = write(abort_pipe[1], "x", 1);
    (void)written;
  }
}

Outcome Exec(PGconn* conn, const std::function<int(PGconn*)>& send, int timeout_ms, PGresult** result,
             std::string* message) {
  *result = NULL;
  if (aborted.load()) {
    *message = std::string("query not sent: ") + kExiting;
    Break(conn);
    return Outcome::kAborted;
  }
  const int64_t deadline = timeout_ms > 0 ? NowMs() + timeout_ms : -1;
  const bool was_nonblocking = PQisnonblocking(conn) == 1;
  // Non-blocking, so that sending a large query waits here, with the deadline, not in libpq.
  if (!was_nonblocking) PQsetnonblocking(conn, 1);
  if (!send(conn)) {
    if (!was_nonblocking) PQsetnonblocking(conn, 0);
    return Outcome::kDone;  // as PQexec: NULL result, the reason in PQerrorMessage
  }
  PGresult* last = NULL;
  Wait gave_up = Wait::kReady;
  for (;;) {
    int flushed;
    while ((flushed = PQflush(conn)) == 1) {
      // Read while waiting to write: the server may be blocked sending to us.
      Wait w = WaitFor(PQsocket(conn), true, true, deadline);
      if (w != Wait::kReady) {
        gave_up = w;
        break;
      }
      if (!PQconsumeInput(conn)) break;
    }
    if (gave_up != Wait::kReady) break;
    while (flushed == 0 && PQisBusy(conn)) {
      Wait w = WaitFor(PQsocket(conn), true, false, deadline);
      if (w != Wait::kReady) {
        gave_up = w;
        break;
      }
      if (!PQconsumeInput(conn)) break;  // PQgetResult reports the error
    }
    if (gave_up != Wait::kReady) break;
    PGresult* r = PQgetResult(conn);
    if (r == NULL) break;
    const ExecStatusType status = PQresultStatus(r);
    if (last != NULL && PQresultStatus(last) == PGRES_FATAL_ERROR) {
      PQclear(r);
    } else {
      if (last != NULL) PQclear(last);
      last = r;
    }
    if (status == PGRES_COPY_IN || status == PGRES_COPY_OUT || status == PGRES_COPY_BOTH ||
        PQstatus(conn) == CONNECTION_BAD) {
      break;
    }
  }
  if (gave_up == Wait::kReady) {
    if (!was_nonblocking) PQsetnonblocking(conn, 0);
    *result = last;
    return Outcome::kDone;
  }
  if (last != NULL) PQclear(last);
  Break(conn);
  if (gave_up == Wait::kTimedOut) {
    *message = "no answer from the server within " + std::to_string(timeout_ms) +
               " ms; the connection was closed, and the statement may or may not have run";
    return Outcome::kTimedOut;
  }
  *message = std::string("query abandoned: ") + kExiting +
             "; the connection was closed, and the statement may or may not have run";
  return Outcome::kAborted;
}

Outcome Connect(const char* conninfo, PGconn** out, std::string* message) {
  PGconn* conn = PQconnectStart(conninfo);
  *out = conn;
  if (conn == NULL || PQstatus(conn) == CONNECTION_BAD) return Outcome::kDone;

  int timeout_s = 0;
  PQconninfoOption* options = PQconninfo(conn);
  if (options != NULL) {
    for (PQconninfoOption* o = options; o->keyword != NULL; o++) {
      if (std::strcmp(o->keyword, "connect_timeout") == 0 && o->val != NULL) timeout_s = std::atoi(o->val);
    }
    PQconninfoFree(options);
  }
  if (timeout_s > 0 && timeout_s < 2) timeout_s = 2;  // libpq's own minimum
  const int64_t deadline = timeout_s > 0 ? NowMs() + timeout_s * 1000LL : -1;

  PostgresPollingStatusType status = PGRES_POLLING_WRITING;
  for (;;) {
    if (status == PGRES_POLLING_OK || status == PGRES_POLLING_FAILED) return Outcome::kDone;
    int sock = PQsocket(conn);
    if (sock >= 0) {
      Wait w = WaitFor(sock, status == PGRES_POLLING_READING, status == PGRES_POLLING_WRITING, deadline);
      if (w == Wait::kTimedOut) {
        *message = "timeout expired: no answer from the server within connect_timeout=" + std::to_string(timeout_s) + " s";
        return Outcome::kTimedOut;
      }
      if (w == Wait::kAborted) {
        *message = std::string("connection attempt abandoned: ") + kExiting;
        return Outcome::kAborted;
      }
    }
    status = PQconnectPoll(conn);
  }
}

}  // namespace blocking
