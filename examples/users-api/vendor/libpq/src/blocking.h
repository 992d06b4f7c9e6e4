// Bounded, abortable versions of libpq's blocking calls (this copy's addition, not upstream).
//
// PQexec and PQconnectdb wait on the socket without limit. A server that stops answering
// without closing the connection (frozen, SIGSTOPped, a half-dead network path whose kernel
// still acknowledges) then holds the calling thread forever: no server-side timeout can fire,
// and Node cannot end a worker thread that is inside native code, so even process.exit() waits
// for it. These do the same work through libpq's asynchronous API and poll(), so each wait
// ends at a deadline, or at once when the process is exiting.
#ifndef NODE_LIBPQ_BLOCKING
#define NODE_LIBPQ_BLOCKING

#include <libpq-fe.h>
#include <functional>
#include <string>

namespace blocking {

enum class Outcome { kDone, kTimedOut, kAborted };

// From now on, in every thread, each blocking wait fails at once. For process exit: the main
// thread calls it before Node joins the worker threads.
void AbortAll();

// Like PQexec: `send` starts the query (PQsendQuery, PQsendQueryParams...), then the results are
// collected and the last one returned (the first error wins over later results). timeout_ms > 0
// bounds the whole call. On kTimedOut or kAborted, *result is NULL, *message says why, and the
// socket is shut down, so libpq marks the connection bad (PQtransactionStatus: PQTRANS_UNKNOWN):
// whether the statement ran is unknown, so the connection must not be used again.
Outcome Exec(PGconn* conn, const std::function<int(PGconn*)>& send, int timeout_ms, PGresult** result,
             std::string* message);

// Like PQconnectdb. connect_timeout in the conninfo bounds the whole attempt (libpq's own rule:
// seconds, at least 2). *conn is set whatever the outcome (it may be NULL on out-of-memory).
Outcome Connect(const char* conninfo, PGconn** conn, std::string* message);

}  // namespace blocking

#endif
