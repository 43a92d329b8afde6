// Ledger: the budget tree. Every byte leancut holds on purpose is charged to an Account through a
// Lease; a lease charges its account and every ancestor, and each level enforces its own hard
// limit (process -> job -> component, like ClickHouse's MemoryTracker chain).
//
//   auto process = memory::Account::make_root("process", 256 * kMiB);
//   auto job = process->make_child("job", 200 * kMiB);
//   auto frames = job->make_child("decoded_frames", memory::kNoLimit);
//   Result<memory::Lease> lease = frames->try_reserve(3'110'400);   // fails fast at a limit
//   Result<memory::Lease> waited = frames->reserve(bytes, 2s, stop); // waits for a release
//   // ~Lease credits every level again.
//
// Ownership: make_child returns the only owner of the child; a parent must outlive its children
// and an account its leases (both CHECKed). Thread-safe: reserve/release from any thread; a
// charge is a compare-and-swap per level, no lock unless a reserve() has to wait.
// Memory held: ~200 bytes per account.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <vector>

#include "base/result.h"

namespace leancut::memory {

inline constexpr int64_t kKiB = 1024;
inline constexpr int64_t kMiB = 1024 * kKiB;
inline constexpr int64_t kNoLimit = INT64_MAX;

class Lease;

// One account's figures, read without stopping anyone (each field is read atomically; the set is
// not a snapshot across fields).
struct AccountStats {
  std::string path;  // "process/job/decoded_frames"
  int64_t limit_bytes = kNoLimit;
  int64_t current_bytes = 0;
  int64_t peak_bytes = 0;
  int64_t live_leases = 0;
  int64_t reservations = 0;  // leases ever granted
  int64_t refusals = 0;      // try_reserve failures and reserve timeouts
  int64_t waits = 0;         // reserve() calls that had to wait for a release
  int64_t overdrafts = 0;    // charge_existing() calls that took this account past its limit
};

class Account {
 public:
  // A root: the process budget. limit_bytes may be kNoLimit.
  static std::unique_ptr<Account> make_root(std::string name, int64_t limit_bytes);
  // REQUIRES: the returned child is destroyed before this account.
  std::unique_ptr<Account> make_child(std::string name, int64_t limit_bytes);

  Account(const Account&) = delete;
  Account& operator=(const Account&) = delete;
  ~Account();  // CHECKs: no live leases, no live children.

  // Charges `bytes` here and on every ancestor, or nothing. Fails (OverBudget) at once when any
  // level would pass its limit; the message names that level.
  Result<Lease> try_reserve(int64_t bytes);
  // Like try_reserve, but waits for releases (backpressure) until `timeout` passes or `stop` is
  // requested (Cancelled). A request larger than a limit on its own fails at once.
  Result<Lease> reserve(int64_t bytes, std::chrono::milliseconds timeout,
                        std::stop_token stop = {});
  // Charges memory that already exists: libav allocated it (a filtered picture, a packet, an I/O
  // buffer) before leancut could ask. Refusing would not give the bytes back, so this never
  // refuses and never waits; a level it takes past its limit counts an overdraft, and reserve()
  // there waits until releases bring it back under. Admission happens where leancut allocates
  // (decoded pictures); everything downstream of it is charged here, as it appears.
  Lease charge_existing(int64_t bytes);

  // Changes the hard limit (the planner or pressure handling may tighten it). Existing charges
  // stay; new ones must fit.
  void set_limit(int64_t limit_bytes);

  const std::string& name() const { return name_; }
  std::string path() const;
  int64_t limit_bytes() const { return limit_.load(std::memory_order_relaxed); }
  int64_t current_bytes() const { return current_.load(std::memory_order_relaxed); }
  int64_t peak_bytes() const { return peak_.load(std::memory_order_relaxed); }
  AccountStats stats() const;
  // This account and all descendants, depth first.
  std::vector<AccountStats> subtree_stats() const;
  // Accounts in this subtree whose balance is not zero (a leak when the job has ended).
  std::vector<AccountStats> nonzero_balances() const;
  // Forgets peaks in this subtree (e.g. between stages of a report).
  void reset_peaks();

  // Test-only: refuse roughly one in `one_in` try_reserve/reserve calls (0 = never), to test the
  // callers' failure paths, like MemoryTracker's fault_probability.
  void set_failure_one_in_for_test(int one_in) { failure_one_in_ = one_in; }

 private:
  friend class Lease;
  struct PrivateKey {};

 public:
  Account(PrivateKey, std::string name, int64_t limit_bytes, Account* parent);

 private:
  // Charges every level from here to the root, or none; on failure returns the refusing level.
  Account* charge(int64_t bytes);
  void credit(int64_t bytes);
  void notify_waiters();
  bool should_inject_failure();

  const std::string name_;
  Account* const parent_;
  std::atomic<int64_t> limit_;
  std::atomic<int64_t> current_{0};
  std::atomic<int64_t> peak_{0};
  std::atomic<int64_t> live_leases_{0};
  std::atomic<int64_t> reservations_{0};
  std::atomic<int64_t> refusals_{0};
  std::atomic<int64_t> waits_{0};
  std::atomic<int64_t> overdrafts_{0};
  std::atomic<int> waiters_{0};
  std::atomic<int> failure_one_in_{0};
  std::atomic<uint32_t> failure_counter_{0};

  mutable std::mutex mu_;  // guards children_ and release_generation_, pairs with released_
  std::condition_variable_any released_;
  uint64_t release_generation_ = 0;
  std::vector<Account*> children_;
};

// RAII charge of `bytes` against an account and its ancestors. Move-only; credits on destruction
// or release(). An empty Lease (default or moved-from) holds nothing.
class Lease {
 public:
  Lease() = default;
  Lease(Lease&& other) noexcept;
  Lease& operator=(Lease&& other) noexcept;
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;
  ~Lease() { release(); }

  int64_t bytes() const { return bytes_; }
  bool empty() const { return account_ == nullptr; }
  Account* account() const { return account_; }
  void release();
  // Gives back part of the charge (e.g. a buffer trimmed). REQUIRES: 0 <= bytes <= bytes().
  void shrink_to(int64_t bytes);

 private:
  friend class Account;
  Lease(Account* account, int64_t bytes) : account_(account), bytes_(bytes) {}

  Account* account_ = nullptr;
  int64_t bytes_ = 0;
};

}  // namespace leancut::memory
