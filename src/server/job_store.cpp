#include "server/job_store.h"

#include <sqlite3.h>
#include <sys/random.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <utility>

namespace leancut::server {
namespace fs = std::filesystem;

namespace {

struct SqliteCloser {
  // close_v2 defers the close until every statement is finalized, so order never matters.
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using SqlitePtr = std::unique_ptr<sqlite3, SqliteCloser>;

struct StmtFinalizer {
  void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
};
using StmtPtr = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;

Error sqlite_error(sqlite3* db, int rc, std::string_view what) {
  // errmsg is often more precise than errstr ("no such table: jobs" against "SQL logic error");
  // both when they differ.
  const std::string generic = sqlite3_errstr(rc);
  const std::string msg = db != nullptr ? sqlite3_errmsg(db) : generic;
  std::string text = std::string(what) + ": " + msg + " (";
  if (msg != generic) text += generic + ", ";
  return make_error(ErrorCode::Io, text + "code " + std::to_string(rc) + ")");
}

// One prepared statement, finalized when it goes out of scope. Statements are prepared per call:
// a few microseconds, against calls that come a few times a second, and no reset bookkeeping.
class Statement {
 public:
  static Result<Statement> prepare(sqlite3* db, std::string_view sql) {
    sqlite3_stmt* raw = nullptr;
    int rc = sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &raw, nullptr);
    StmtPtr stmt(raw);
    if (rc != SQLITE_OK) return sqlite_error(db, rc, "prepare \"" + std::string(sql) + "\"");
    return Statement(db, std::move(stmt), sql);
  }

  // Binds are 1-based, as in SQL. A failed bind is reported by the next step().
  Statement& bind(int index, int64_t value) {
    return check(sqlite3_bind_int64(stmt_.get(), index, value));
  }
  Statement& bind(int index, std::string_view value) {
    return check(sqlite3_bind_text(stmt_.get(), index, value.data(), static_cast<int>(value.size()),
                                   SQLITE_TRANSIENT));
  }
  Statement& bind(int index, std::optional<int64_t> value) {
    return value ? bind(index, *value) : check(sqlite3_bind_null(stmt_.get(), index));
  }

  // true: a row is ready; false: done.
  Result<bool> step() {
    if (bind_rc_ != SQLITE_OK) return sqlite_error(db_, bind_rc_, "bind for \"" + sql_ + "\"");
    int rc = sqlite3_step(stmt_.get());
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return sqlite_error(db_, rc, sql_);
  }
  // Runs a statement that returns no rows (or whose rows do not matter).
  Status run() {
    for (;;) {
      LEANCUT_ASSIGN_OR_RETURN(bool row, step());
      if (!row) return ok_status();
    }
  }

  int64_t int64(int col) const { return sqlite3_column_int64(stmt_.get(), col); }
  std::optional<int64_t> optional_int64(int col) const {
    if (sqlite3_column_type(stmt_.get(), col) == SQLITE_NULL) return std::nullopt;
    return int64(col);
  }
  std::string text(int col) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_.get(), col));
    return p != nullptr
               ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_.get(), col)))
               : std::string();
  }

 private:
  Statement(sqlite3* db, StmtPtr stmt, std::string_view sql)
      : db_(db), stmt_(std::move(stmt)), sql_(sql) {}
  Statement& check(int rc) {
    if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) bind_rc_ = rc;
    return *this;
  }

  sqlite3* db_;  // borrowed
  StmtPtr stmt_;
  std::string sql_;  // for error messages
  int bind_rc_ = SQLITE_OK;
};

// Runs SQL without results (several statements are fine).
Status exec(sqlite3* db, const char* sql) {
  int rc = sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
  if (rc == SQLITE_OK) return ok_status();
  return sqlite_error(db, rc, sql);
}

// A write transaction. BEGIN IMMEDIATE takes the database's write lock at once (waiting up to
// the busy timeout for another handle), so a read-then-write inside it cannot race another
// handle and never fails half-way with SQLITE_BUSY_SNAPSHOT. Rolled back unless committed.
class Transaction {
 public:
  static Result<Transaction> begin(sqlite3* db) {
    LEANCUT_TRY(exec(db, "BEGIN IMMEDIATE"));
    return Transaction(db);
  }
  Transaction(Transaction&& other) noexcept : db_(std::exchange(other.db_, nullptr)) {}
  Transaction& operator=(Transaction&&) = delete;
  ~Transaction() {
    if (db_ != nullptr) static_cast<void>(exec(db_, "ROLLBACK"));
  }
  Status commit() {
    sqlite3* db = std::exchange(db_, nullptr);
    Status s = exec(db, "COMMIT");
    if (!s) static_cast<void>(exec(db, "ROLLBACK"));
    return s;
  }

 private:
  explicit Transaction(sqlite3* db) : db_(db) {}
  sqlite3* db_;  // borrowed; null once committed
};

// Each entry takes the schema from version i to i + 1; user_version records how far a file got.
// Never edit an entry once released: add the next one.
constexpr std::array<const char*, JobStore::kSchemaVersion> kMigrations = {
    // 1: the jobs table. `seq` orders the queue (ids are random); a re-queued job keeps its seq,
    // so it runs again before jobs submitted after it.
    R"sql(
      CREATE TABLE jobs (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL,
        request_json TEXT NOT NULL,
        state TEXT NOT NULL
          CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'canceled')),
        estimate_bytes INTEGER NOT NULL,
        peak_bytes INTEGER,
        frames_done INTEGER NOT NULL DEFAULT 0,
        frames_total INTEGER NOT NULL DEFAULT 0,
        attempts INTEGER NOT NULL DEFAULT 0,
        cancel_requested INTEGER NOT NULL DEFAULT 0,
        error TEXT NOT NULL DEFAULT '',
        output_path TEXT NOT NULL DEFAULT '',
        created_ms INTEGER NOT NULL,
        updated_ms INTEGER NOT NULL,
        started_ms INTEGER,
        finished_ms INTEGER
      );
      CREATE INDEX jobs_by_state ON jobs (state, seq);
      CREATE INDEX jobs_by_finish ON jobs (finished_ms) WHERE finished_ms IS NOT NULL;
    )sql",
};

constexpr const char* kColumns =
    "id, kind, request_json, state, estimate_bytes, peak_bytes, frames_done, frames_total, "
    "attempts, cancel_requested, error, output_path, created_ms, updated_ms, started_ms, "
    "finished_ms";

Result<JobRecord> read_record(const Statement& s) {
  JobRecord r;
  r.id = s.text(0);
  r.kind = s.text(1);
  r.request_json = s.text(2);
  const std::string state = s.text(3);
  std::optional<JobState> parsed = parse_job_state(state);
  if (!parsed) {
    return make_error(ErrorCode::Io, "job " + r.id + " has an unknown state '" + state + "'");
  }
  r.state = *parsed;
  r.estimate_bytes = s.int64(4);
  r.peak_bytes = s.optional_int64(5);
  r.frames_done = s.int64(6);
  r.frames_total = s.int64(7);
  r.attempts = s.int64(8);
  r.cancel_requested = s.int64(9) != 0;
  r.error = s.text(10);
  r.output_path = s.text(11);
  r.created_ms = s.int64(12);
  r.updated_ms = s.int64(13);
  r.started_ms = s.optional_int64(14);
  r.finished_ms = s.optional_int64(15);
  return r;
}

Result<std::vector<JobRecord>> read_records(Statement& s) {
  std::vector<JobRecord> out;
  for (;;) {
    LEANCUT_ASSIGN_OR_RETURN(bool row, s.step());
    if (!row) return out;
    LEANCUT_ASSIGN_OR_RETURN(JobRecord r, read_record(s));
    out.push_back(std::move(r));
  }
}

bool transition_allowed(JobState from, JobState to) {
  switch (from) {
    case JobState::Queued:
      return to == JobState::Running || to == JobState::Canceled || to == JobState::Failed;
    case JobState::Running:
      return to == JobState::Succeeded || to == JobState::Failed || to == JobState::Canceled ||
             to == JobState::Queued;
    case JobState::Succeeded:
    case JobState::Failed:
    case JobState::Canceled:
      return false;
  }
  return false;
}

Error invalid_transition(std::string_view id, JobState from, JobState to) {
  return make_error(ErrorCode::InvalidInput, "job " + std::string(id) + ": cannot go from " +
                                                 to_string(from) + " to " + to_string(to));
}

Result<std::string> random_id() {
  std::array<unsigned char, 16> bytes{};
  std::size_t got = 0;
  while (got < bytes.size()) {
    ssize_t n = ::getrandom(bytes.data() + got, bytes.size() - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return make_error(ErrorCode::Internal, std::string("getrandom: ") + std::strerror(errno));
    }
    got += static_cast<std::size_t>(n);
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id;
  id.reserve(32);
  for (unsigned char b : bytes) {
    id.push_back(kHex[b >> 4]);
    id.push_back(kHex[b & 15]);
  }
  return id;
}

int64_t system_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Brings the schema to kSchemaVersion in one transaction: a crash mid-migration leaves the old
// version intact.
Status migrate(sqlite3* db) {
  LEANCUT_ASSIGN_OR_RETURN(Transaction tx, Transaction::begin(db));
  LEANCUT_ASSIGN_OR_RETURN(Statement get_version, Statement::prepare(db, "PRAGMA user_version"));
  LEANCUT_ASSIGN_OR_RETURN(bool row, get_version.step());
  const int64_t version = row ? get_version.int64(0) : 0;
  if (version > JobStore::kSchemaVersion) {
    return make_error(ErrorCode::Io, "schema version " + std::to_string(version) +
                                         " is newer than this build's " +
                                         std::to_string(JobStore::kSchemaVersion) +
                                         " (written by a newer leancut)");
  }
  if (version < 0) {
    return make_error(ErrorCode::Io, "bad schema version " + std::to_string(version));
  }
  for (int64_t v = version; v < JobStore::kSchemaVersion; ++v) {
    LEANCUT_TRY(exec(db, kMigrations[static_cast<std::size_t>(v)]));
  }
  if (version != JobStore::kSchemaVersion) {
    // PRAGMA takes no bound parameters; the value is our own constant.
    const std::string set = "PRAGMA user_version = " + std::to_string(JobStore::kSchemaVersion);
    LEANCUT_TRY(exec(db, set.c_str()));
  }
  return tx.commit();
}

}  // namespace

const char* to_string(JobState state) {
  switch (state) {
    case JobState::Queued:
      return "queued";
    case JobState::Running:
      return "running";
    case JobState::Succeeded:
      return "succeeded";
    case JobState::Failed:
      return "failed";
    case JobState::Canceled:
      return "canceled";
  }
  return "unknown";
}

std::optional<JobState> parse_job_state(std::string_view text) {
  for (JobState s : {JobState::Queued, JobState::Running, JobState::Succeeded, JobState::Failed,
                     JobState::Canceled}) {
    if (text == to_string(s)) return s;
  }
  return std::nullopt;
}

bool is_final(JobState state) {
  return state == JobState::Succeeded || state == JobState::Failed || state == JobState::Canceled;
}

struct JobStore::Db {
  SqlitePtr conn;
};

JobStore::JobStore(fs::path path, JobStoreOptions options, std::unique_ptr<Db> db)
    : path_(std::move(path)), options_(std::move(options)), db_(std::move(db)) {}

JobStore::~JobStore() = default;

Error JobStore::error_here(const Error& e) const {
  return e.with_context("job store " + path_.string());
}

Result<std::unique_ptr<JobStore>> JobStore::open(const fs::path& path, JobStoreOptions options) {
  const std::string where = "job store " + path.string();
  if (!options.now_ms) options.now_ms = system_now_ms;

  sqlite3* raw = nullptr;
  // NOMUTEX: JobStore's own mutex serializes every use of the connection.
  int rc =
      sqlite3_open_v2(path.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  SqlitePtr conn(raw);  // open_v2 may hand back a handle even when it fails
  if (rc != SQLITE_OK) return sqlite_error(conn.get(), rc, "open").with_context(where);
  sqlite3_extended_result_codes(conn.get(), 1);
  sqlite3_busy_timeout(conn.get(), options.busy_timeout_ms);

  // The first statement reads the header: a file that is not a database fails here.
  {
    auto journal = Statement::prepare(conn.get(), "PRAGMA journal_mode = WAL");
    if (!journal) return journal.error().with_context(where);
    Result<bool> row = journal->step();
    if (!row) return row.error().with_context(where);
    // Filesystems without shared memory for the WAL index keep the old mode; refuse rather than
    // run with readers blocking writers.
    const std::string mode = *row ? journal->text(0) : "";
    if (mode != "wal") {
      return make_error(ErrorCode::Io,
                        where + ": could not switch to WAL (journal mode is '" + mode + "')");
    }
  }
  // synchronous=FULL: every commit fsyncs the WAL, so a job answered with 202 survives a power
  // loss, not only a crash of the process (NORMAL may lose the last commits then). The cost is
  // one fsync per call; job writes come a few times a second, and callers throttle progress.
  if (Status s = exec(conn.get(), "PRAGMA synchronous = FULL"); !s) {
    return s.error().with_context(where);
  }
  // Catches a damaged file at startup, with its path, rather than mid-job. The table stays small
  // (finished jobs expire), so the full scan is cheap.
  {
    auto check = Statement::prepare(conn.get(), "PRAGMA quick_check");
    if (!check) return check.error().with_context(where);
    Result<bool> row = check->step();
    if (!row) return row.error().with_context(where);
    if (*row && check->text(0) != "ok") {
      return make_error(ErrorCode::Io, where + ": the database is corrupt: " + check->text(0));
    }
  }
  if (Status s = migrate(conn.get()); !s) return s.error().with_context(where);

  auto db = std::make_unique<Db>();
  db->conn = std::move(conn);
  return std::unique_ptr<JobStore>(new JobStore(path, std::move(options), std::move(db)));
}

Result<JobRecord> JobStore::get_locked(std::string_view id) {
  auto s = Statement::prepare(db_->conn.get(),
                              std::string("SELECT ") + kColumns + " FROM jobs WHERE id = ?");
  if (!s) return error_here(s.error());
  s->bind(1, id);
  auto row = s->step();
  if (!row) return error_here(row.error());
  if (!*row) return make_error(ErrorCode::NotFound, "job " + std::string(id) + " not found");
  auto record = read_record(*s);
  if (!record) return error_here(record.error());
  return record;
}

Result<JobRecord> JobStore::enqueue(std::string_view kind, std::string_view request_json,
                                    int64_t estimate_bytes) {
  std::lock_guard lock(mu_);
  sqlite3* db = db_->conn.get();
  auto id = random_id();
  if (!id) return id.error();
  const int64_t now = options_.now_ms();
  auto insert = Statement::prepare(
      db,
      "INSERT INTO jobs (id, kind, request_json, state, estimate_bytes, created_ms, updated_ms) "
      "VALUES (?, ?, ?, 'queued', ?, ?, ?)");
  if (!insert) return error_here(insert.error());
  insert->bind(1, std::string_view(*id))
      .bind(2, kind)
      .bind(3, request_json)
      .bind(4, estimate_bytes)
      .bind(5, now)
      .bind(6, now);
  if (Status s = insert->run(); !s) return error_here(s.error());
  // A single INSERT commits on its own; reading back gives the caller exactly what is stored.
  return get_locked(*id);
}

Result<JobRecord> JobStore::get(std::string_view id) {
  std::lock_guard lock(mu_);
  return get_locked(id);
}

Result<std::vector<JobRecord>> JobStore::list(std::optional<JobState> state, int64_t limit) {
  if (limit <= 0) {
    return make_error(ErrorCode::InvalidInput,
                      "list: limit must be positive, got " + std::to_string(limit));
  }
  std::lock_guard lock(mu_);
  std::string sql = std::string("SELECT ") + kColumns + " FROM jobs";
  if (state) sql += " WHERE state = ?";
  sql += " ORDER BY seq DESC LIMIT ?";
  auto s = Statement::prepare(db_->conn.get(), sql);
  if (!s) return error_here(s.error());
  int i = 1;
  if (state) s->bind(i++, std::string_view(to_string(*state)));
  s->bind(i, limit);
  auto out = read_records(*s);
  if (!out) return error_here(out.error());
  return out;
}

Result<std::optional<JobRecord>> JobStore::claim_next() {
  return claim_next_if([](const JobRecord&) { return true; });
}

Result<std::optional<JobRecord>> JobStore::claim_next_if(
    const std::function<bool(const JobRecord&)>& admit) {
  std::lock_guard lock(mu_);
  sqlite3* db = db_->conn.get();
  auto tx = Transaction::begin(db);
  if (!tx) return error_here(tx.error());
  auto pick =
      Statement::prepare(db, "SELECT id FROM jobs WHERE state = 'queued' ORDER BY seq LIMIT 1");
  if (!pick) return error_here(pick.error());
  auto row = pick->step();
  if (!row) return error_here(row.error());
  if (!*row) return std::optional<JobRecord>();
  const std::string id = pick->text(0);
  {
    auto candidate = get_locked(id);
    if (!candidate) return candidate.error();
    if (!admit(*candidate)) return std::optional<JobRecord>();
  }
  const int64_t now = options_.now_ms();
  auto update = Statement::prepare(
      db, "UPDATE jobs SET state = 'running', started_ms = ?, updated_ms = ? WHERE id = ?");
  if (!update) return error_here(update.error());
  update->bind(1, now).bind(2, now).bind(3, std::string_view(id));
  if (Status s = update->run(); !s) return error_here(s.error());
  auto record = get_locked(id);
  if (!record) return record.error();
  if (Status s = tx->commit(); !s) return error_here(s.error());
  return std::optional<JobRecord>(std::move(record).value());
}

Status JobStore::update_progress(std::string_view id, int64_t frames_done, int64_t frames_total) {
  std::lock_guard lock(mu_);
  sqlite3* db = db_->conn.get();
  auto update =
      Statement::prepare(db,
                         "UPDATE jobs SET frames_done = ?, frames_total = ?, updated_ms = ? "
                         "WHERE id = ? AND state = 'running'");
  if (!update) return error_here(update.error());
  update->bind(1, frames_done).bind(2, frames_total).bind(3, options_.now_ms()).bind(4, id);
  if (Status s = update->run(); !s) return error_here(s.error());
  if (sqlite3_changes(db) == 1) return ok_status();
  // Nothing changed: say why (no such job, or not running).
  LEANCUT_ASSIGN_OR_RETURN(JobRecord r, get_locked(id));
  return make_error(ErrorCode::InvalidInput, "job " + r.id + ": progress for a job that is " +
                                                 to_string(r.state) + ", not running");
}

Result<JobRecord> JobStore::finish(std::string_view id, JobState state, std::string_view error,
                                   std::optional<int64_t> peak_bytes,
                                   std::string_view output_path) {
  if (!is_final(state)) {
    return make_error(ErrorCode::InvalidInput, "job " + std::string(id) + ": finish with state " +
                                                   to_string(state) +
                                                   " (needs succeeded, failed or canceled)");
  }
  std::lock_guard lock(mu_);
  sqlite3* db = db_->conn.get();
  auto tx = Transaction::begin(db);
  if (!tx) return error_here(tx.error());
  LEANCUT_ASSIGN_OR_RETURN(JobRecord current, get_locked(id));
  if (!transition_allowed(current.state, state))
    return invalid_transition(id, current.state, state);
  const int64_t now = options_.now_ms();
  auto update = Statement::prepare(
      db,
      "UPDATE jobs SET state = ?, error = ?, peak_bytes = ?, output_path = ?, finished_ms = ?, "
      "updated_ms = ? WHERE id = ?");
  if (!update) return error_here(update.error());
  update->bind(1, std::string_view(to_string(state)))
      .bind(2, error)
      .bind(3, peak_bytes)
      .bind(4, output_path)
      .bind(5, now)
      .bind(6, now)
      .bind(7, id);
  if (Status s = update->run(); !s) return error_here(s.error());
  auto record = get_locked(id);
  if (!record) return record.error();
  if (Status s = tx->commit(); !s) return error_here(s.error());
  return record;
}

Result<JobRecord> JobStore::request_cancel(std::string_view id) {
  std::lock_guard lock(mu_);
  sqlite3* db = db_->conn.get();
  auto tx = Transaction::begin(db);
  if (!tx) return error_here(tx.error());
  LEANCUT_ASSIGN_OR_RETURN(JobRecord current, get_locked(id));
  const int64_t now = options_.now_ms();
  const char* sql = nullptr;
  switch (current.state) {
    case JobState::Queued:
      sql =
          "UPDATE jobs SET state = 'canceled', cancel_requested = 1, finished_ms = ?, "
          "updated_ms = ? WHERE id = ?";
      break;
    case JobState::Running:
      sql = "UPDATE jobs SET cancel_requested = 1, updated_ms = ? WHERE id = ?";
      break;
    case JobState::Canceled:
      return current;  // asking twice is not an error
    case JobState::Succeeded:
    case JobState::Failed:
      return invalid_transition(id, current.state, JobState::Canceled);
  }
  auto update = Statement::prepare(db, sql);
  if (!update) return error_here(update.error());
  int i = 1;
  if (current.state == JobState::Queued) update->bind(i++, now);
  update->bind(i++, now);
  update->bind(i, id);
  if (Status s = update->run(); !s) return error_here(s.error());
  auto record = get_locked(id);
  if (!record) return record.error();
  if (Status s = tx->commit(); !s) return error_here(s.error());
  return record;
}

Result<int64_t> JobStore::recover_after_restart() {
  std::lock_guard lock(mu_);
  sqlite3* db = db_->conn.get();
  auto tx = Transaction::begin(db);
  if (!tx) return error_here(tx.error());
  const int64_t now = options_.now_ms();
  // A job whose cancel was asked for before the crash is not run again.
  auto cancel =
      Statement::prepare(db,
                         "UPDATE jobs SET state = 'canceled', finished_ms = ?, updated_ms = ?, "
                         "error = 'canceled; the server restarted before the job stopped' "
                         "WHERE state = 'running' AND cancel_requested = 1");
  if (!cancel) return error_here(cancel.error());
  cancel->bind(1, now).bind(2, now);
  if (Status s = cancel->run(); !s) return error_here(s.error());
  // Progress restarts with the run; started_ms is for the next claim to set.
  auto requeue = Statement::prepare(
      db,
      "UPDATE jobs SET state = 'queued', attempts = attempts + 1, frames_done = 0, "
      "started_ms = NULL, updated_ms = ? WHERE state = 'running'");
  if (!requeue) return error_here(requeue.error());
  requeue->bind(1, now);
  if (Status s = requeue->run(); !s) return error_here(s.error());
  const int64_t n = sqlite3_changes(db);
  if (Status s = tx->commit(); !s) return error_here(s.error());
  return n;
}

Result<std::vector<JobRecord>> JobStore::expired(int64_t now_ms, int64_t ttl_ms) {
  std::lock_guard lock(mu_);
  auto s = Statement::prepare(
      db_->conn.get(),
      std::string("SELECT ") + kColumns +
          " FROM jobs WHERE finished_ms IS NOT NULL AND finished_ms <= ? "
          "AND state IN ('succeeded', 'failed', 'canceled') ORDER BY finished_ms, seq");
  if (!s) return error_here(s.error());
  s->bind(1, now_ms - ttl_ms);
  auto out = read_records(*s);
  if (!out) return error_here(out.error());
  return out;
}

Status JobStore::remove(std::string_view id) {
  std::lock_guard lock(mu_);
  sqlite3* db = db_->conn.get();
  auto tx = Transaction::begin(db);
  if (!tx) return error_here(tx.error());
  LEANCUT_ASSIGN_OR_RETURN(JobRecord current, get_locked(id));
  if (!is_final(current.state)) {
    return make_error(
        ErrorCode::InvalidInput,
        "job " + current.id + ": cannot remove a job that is " + to_string(current.state));
  }
  auto del = Statement::prepare(db, "DELETE FROM jobs WHERE id = ?");
  if (!del) return error_here(del.error());
  del->bind(1, id);
  if (Status s = del->run(); !s) return error_here(s.error());
  if (Status s = tx->commit(); !s) return error_here(s.error());
  return ok_status();
}

Result<std::map<JobState, int64_t>> JobStore::count_by_state() {
  std::lock_guard lock(mu_);
  std::map<JobState, int64_t> counts;
  for (JobState s : {JobState::Queued, JobState::Running, JobState::Succeeded, JobState::Failed,
                     JobState::Canceled}) {
    counts[s] = 0;
  }
  auto s = Statement::prepare(db_->conn.get(), "SELECT state, COUNT(*) FROM jobs GROUP BY state");
  if (!s) return error_here(s.error());
  for (;;) {
    auto row = s->step();
    if (!row) return error_here(row.error());
    if (!*row) return counts;
    const std::string name = s->text(0);
    std::optional<JobState> state = parse_job_state(name);
    if (!state) return error_here(make_error(ErrorCode::Io, "unknown job state '" + name + "'"));
    counts[*state] = s->int64(1);
  }
}

}  // namespace leancut::server
