#include "support/client_pool.h"

#include <libpq-fe.h>

#include <stdexcept>

namespace pgconn::testing {
namespace {

void ExecExpect(PGconn* conn, const char* sql, ExecStatusType expected) {
  PGresult* res = PQexec(conn, sql);
  ExecStatusType status = PQresultStatus(res);
  std::string message = PQresultErrorMessage(res);
  PQclear(res);
  if (status != expected) {
    throw std::runtime_error(std::string("client query '") + sql + "' gave " + PQresStatus(status) +
                             ": " + message);
  }
}

void SendAndLeave(PGconn* conn, const char* sql) {
  if (PQsendQuery(conn, sql) != 1) {
    throw std::runtime_error(std::string("PQsendQuery '") + sql + "': " + PQerrorMessage(conn));
  }
  // Blocking mode: PQsendQuery has flushed the whole query already; make sure anyway.
  while (PQflush(conn) == 1) {
  }
}

}  // namespace

const char* StateName(SessionState state) {
  switch (state) {
    case SessionState::kIdle:
      return "idle";
    case SessionState::kActive:
      return "active";
    case SessionState::kIdleInTransaction:
      return "idle in transaction";
    case SessionState::kIdleInTransactionAborted:
      return "idle in transaction (aborted)";
  }
  return "unknown";
}

ClientPool::ClientPool(int port, std::string host) : port_(port), host_(std::move(host)) {}

ClientPool::~ClientPool() { CloseAll(); }

bool ClientPool::IsOutOfSlots(const std::string& message) {
  return message.find("remaining connection slots are reserved") != std::string::npos ||
         message.find("too many clients") != std::string::npos ||
         message.find("53300") != std::string::npos;
}

PGconn* ClientPool::Connect(const ClientSpec& spec, std::string* error) {
  const std::string port_text = std::to_string(port_);
  const char* keys[] = {"host",     "port",
                        "user",     "dbname",
                        "password", "application_name",
                        "sslmode",  "connect_timeout",
                        nullptr};
  const char* values[] = {host_.c_str(),
                          port_text.c_str(),
                          spec.user.c_str(),
                          spec.database.c_str(),
                          spec.password.c_str(),
                          spec.application_name.c_str(),
                          "disable",
                          "10",
                          nullptr};
  PGconn* conn = PQconnectdbParams(keys, values, 0);
  if (conn == nullptr) {
    *error = "out of memory";
    return nullptr;
  }
  if (PQstatus(conn) != CONNECTION_OK) {
    *error = PQerrorMessage(conn);
    PQfinish(conn);
    return nullptr;
  }
  return conn;
}

void ClientPool::Open(const ClientSpec& spec, SessionState state) {
  std::string error;
  PGconn* conn = Connect(spec, &error);
  if (conn == nullptr) {
    throw std::runtime_error("client connect as " + spec.user + " (" + spec.application_name +
                             ") failed: " + error);
  }
  sessions_.push_back(Session{conn, false});
  Session& s = sessions_.back();
  switch (state) {
    case SessionState::kIdle:
      break;
    case SessionState::kActive:
      SendAndLeave(conn, "SELECT pg_sleep(600)");
      s.busy = true;
      break;
    case SessionState::kIdleInTransaction:
      ExecExpect(conn, "BEGIN", PGRES_COMMAND_OK);
      ExecExpect(conn, "SELECT 1", PGRES_TUPLES_OK);
      break;
    case SessionState::kIdleInTransactionAborted:
      ExecExpect(conn, "BEGIN", PGRES_COMMAND_OK);
      ExecExpect(conn, "SELECT 1/0", PGRES_FATAL_ERROR);
      break;
  }
}

void ClientPool::OpenMany(const ClientSpec& spec, SessionState state, int count) {
  for (int i = 0; i < count; ++i) Open(spec, state);
}

void ClientPool::OpenLockWait(const ClientSpec& holder, const ClientSpec& waiter,
                              const std::string& table) {
  Open(holder, SessionState::kIdle);
  PGconn* h = sessions_.back().conn;
  ExecExpect(h, "BEGIN", PGRES_COMMAND_OK);
  ExecExpect(h, ("LOCK TABLE " + table).c_str(), PGRES_COMMAND_OK);
  Open(waiter, SessionState::kIdle);
  // LOCK TABLE is only allowed in a transaction block; one simple-query message keeps both.
  SendAndLeave(sessions_.back().conn, ("BEGIN; LOCK TABLE " + table).c_str());
  sessions_.back().busy = true;
}

std::string ClientPool::TryOpen(const ClientSpec& spec) {
  std::string error;
  PGconn* conn = Connect(spec, &error);
  if (conn == nullptr) return error.empty() ? "connection failed" : error;
  sessions_.push_back(Session{conn, false});
  return "";
}

int ClientPool::FillToLimit(const ClientSpec& spec, int max) {
  for (int opened = 0; opened < max; ++opened) {
    std::string error = TryOpen(spec);
    if (error.empty()) continue;
    if (IsOutOfSlots(error)) return opened;
    throw std::runtime_error("FillToLimit: unexpected failure after " + std::to_string(opened) +
                             " sessions: " + error);
  }
  throw std::runtime_error("FillToLimit: server still accepting after " + std::to_string(max));
}

void ClientPool::Close(Session& session) {
  if (session.conn == nullptr) return;
  if (session.busy) {
    // The backend is busy (pg_sleep / lock wait) and would not notice the Terminate message:
    // cancel the query first, then drain its (error) result.
    if (PGcancel* cancel = PQgetCancel(session.conn)) {
      char buf[256];
      PQcancel(cancel, buf, sizeof(buf));
      PQfreeCancel(cancel);
      while (PGresult* res = PQgetResult(session.conn)) PQclear(res);
    }
  }
  PQfinish(session.conn);
  session.conn = nullptr;
}

void ClientPool::CloseLast(std::size_t count) {
  while (count-- > 0 && !sessions_.empty()) {
    Close(sessions_.back());
    sessions_.pop_back();
  }
}

void ClientPool::CloseAll() {
  // Busy sessions first: a lock waiter must be cancelled before its holder goes away, or it
  // would briefly acquire the lock and run.
  for (auto& s : sessions_) {
    if (s.busy) Close(s);
  }
  for (auto& s : sessions_) Close(s);
  sessions_.clear();
}

}  // namespace pgconn::testing
