// Client sessions in known states against a TestPostgres, over TCP 127.0.0.1 with a password,
// exactly as an application would connect.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "support/test_postgres.h"

typedef struct pg_conn PGconn;

namespace pgconn::testing {

struct ClientSpec {
  std::string user = kAppRoleA;
  std::string password = kAppPassword;
  std::string database = "postgres";
  std::string application_name = "pgconn-test-client";
};

enum class SessionState {
  kIdle,                      // connected, nothing else
  kActive,                    // SELECT pg_sleep(600) sent and never read
  kIdleInTransaction,         // BEGIN; SELECT 1
  kIdleInTransactionAborted,  // BEGIN; SELECT 1/0
};

// pg_stat_activity.state for each SessionState.
const char* StateName(SessionState state);

class ClientPool {
 public:
  explicit ClientPool(int port, std::string host = "127.0.0.1");
  ~ClientPool();  // CloseAll()
  ClientPool(const ClientPool&) = delete;
  ClientPool& operator=(const ClientPool&) = delete;

  // Opens one session and puts it into `state`; throws std::runtime_error on any failure.
  void Open(const ClientSpec& spec, SessionState state);
  void OpenMany(const ClientSpec& spec, SessionState state, int count);

  // One session BEGINs and takes LOCK TABLE `table` (it is then idle in transaction); a second
  // session sends "BEGIN; LOCK TABLE `table`" and blocks on it (active, wait_event_type Lock).
  void OpenLockWait(const ClientSpec& holder, const ClientSpec& waiter,
                    const std::string& table = kLockTable);

  // Opens idle sessions until the server refuses one because it is out of slots
  // (SQLSTATE 53300: "remaining connection slots are reserved" / "too many clients");
  // returns how many were opened. Throws on any other failure or after `max` sessions.
  int FillToLimit(const ClientSpec& spec, int max = 1000);

  // Tries one idle session; returns "" when it was opened (and keeps it), else the error.
  std::string TryOpen(const ClientSpec& spec);

  std::size_t size() const { return sessions_.size(); }
  void CloseLast(std::size_t count = 1);  // most recently opened first
  void CloseAll();

  // true when a refusal message means "the server is out of connection slots".
  static bool IsOutOfSlots(const std::string& message);

 private:
  struct Session {
    PGconn* conn = nullptr;
    bool busy = false;  // a query was sent and its result is not read
  };
  PGconn* Connect(const ClientSpec& spec, std::string* error);
  void Close(Session& session);

  int port_;
  std::string host_;
  std::vector<Session> sessions_;
};

}  // namespace pgconn::testing
