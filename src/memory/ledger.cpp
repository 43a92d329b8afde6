#include "memory/ledger.h"

#include <algorithm>
#include <utility>

#include "base/check.h"
#include "memory/rss.h"

namespace leancut::memory {

namespace {

// Raises `peak` to at least `value`; a CAS loop only when a new peak is set (rare).
void raise_peak(std::atomic<int64_t>& peak, int64_t value) {
  int64_t seen = peak.load(std::memory_order_relaxed);
  while (value > seen && !peak.compare_exchange_weak(seen, value, std::memory_order_relaxed)) {
  }
}

std::string refusal_message(const Account& level, int64_t bytes) {
  return "memory budget: " + level.path() + " cannot take " + format_bytes(bytes) + " more (" +
         format_bytes(level.current_bytes()) + " of " + format_bytes(level.limit_bytes()) +
         " in use)";
}

}  // namespace

Account::Account(PrivateKey /*key*/, std::string name, int64_t limit_bytes, Account* parent)
    : name_(std::move(name)), parent_(parent), limit_(limit_bytes) {
  LEANCUT_CHECK(limit_bytes >= 0);
}

std::unique_ptr<Account> Account::make_root(std::string name, int64_t limit_bytes) {
  return std::make_unique<Account>(PrivateKey{}, std::move(name), limit_bytes, nullptr);
}

std::unique_ptr<Account> Account::make_child(std::string name, int64_t limit_bytes) {
  auto child = std::make_unique<Account>(PrivateKey{}, std::move(name), limit_bytes, this);
  std::lock_guard lock(mu_);
  children_.push_back(child.get());
  return child;
}

Account::~Account() {
  LEANCUT_CHECK(live_leases_.load() == 0);
  {
    std::lock_guard lock(mu_);
    LEANCUT_CHECK(children_.empty());
  }
  if (parent_ != nullptr) {
    std::lock_guard lock(parent_->mu_);
    auto& siblings = parent_->children_;
    siblings.erase(std::remove(siblings.begin(), siblings.end(), this), siblings.end());
  }
}

std::string Account::path() const {
  return parent_ == nullptr ? name_ : parent_->path() + "/" + name_;
}

Account* Account::charge(int64_t bytes) {
  for (Account* level = this; level != nullptr; level = level->parent_) {
    const int64_t limit = level->limit_.load(std::memory_order_relaxed);
    int64_t seen = level->current_.load(std::memory_order_relaxed);
    bool charged = false;
    while (seen <= limit - bytes) {
      if (level->current_.compare_exchange_weak(seen, seen + bytes, std::memory_order_relaxed)) {
        charged = true;
        break;
      }
    }
    if (!charged) {
      // Undo the levels below the refusing one.
      for (Account* undo = this; undo != level; undo = undo->parent_) {
        undo->current_.fetch_sub(bytes, std::memory_order_relaxed);
      }
      return level;
    }
  }
  // Peaks only once every level has accepted: a refused charge never shows as a peak.
  for (Account* level = this; level != nullptr; level = level->parent_) {
    raise_peak(level->peak_, level->current_.load(std::memory_order_relaxed));
  }
  return nullptr;
}

void Account::credit(int64_t bytes) {
  for (Account* level = this; level != nullptr; level = level->parent_) {
    // Sequentially consistent, paired with reserve()'s waiter count and re-check: either the
    // waiter sees this credit or this sees the waiter (on x86 the RMW is a full barrier anyway).
    const int64_t before = level->current_.fetch_sub(bytes);
    LEANCUT_CHECK(before >= bytes);
    if (level->waiters_.load() > 0) level->notify_waiters();
  }
}

void Account::notify_waiters() {
  // Taking the lock orders this notify after a waiter's re-check, so no wake-up is lost.
  std::lock_guard lock(mu_);
  ++release_generation_;
  released_.notify_all();
}

bool Account::should_inject_failure() {
  const int one_in = failure_one_in_.load(std::memory_order_relaxed);
  if (one_in <= 0) return false;
  return failure_counter_.fetch_add(1, std::memory_order_relaxed) % static_cast<uint32_t>(one_in) ==
         0;
}

Result<Lease> Account::try_reserve(int64_t bytes) {
  LEANCUT_CHECK(bytes >= 0);
  if (should_inject_failure()) {
    refusals_.fetch_add(1, std::memory_order_relaxed);
    return make_error(ErrorCode::OverBudget, "memory budget: " + path() + ": injected failure");
  }
  if (Account* refused = charge(bytes); refused != nullptr) {
    refusals_.fetch_add(1, std::memory_order_relaxed);
    return make_error(ErrorCode::OverBudget, refusal_message(*refused, bytes));
  }
  live_leases_.fetch_add(1, std::memory_order_relaxed);
  reservations_.fetch_add(1, std::memory_order_relaxed);
  return Lease(this, bytes);
}

Result<Lease> Account::reserve(int64_t bytes, std::chrono::milliseconds timeout,
                               std::stop_token stop) {
  LEANCUT_CHECK(bytes >= 0);
  if (should_inject_failure()) {
    refusals_.fetch_add(1, std::memory_order_relaxed);
    return make_error(ErrorCode::OverBudget, "memory budget: " + path() + ": injected failure");
  }
  Account* refused = charge(bytes);
  if (refused == nullptr) {
    live_leases_.fetch_add(1, std::memory_order_relaxed);
    reservations_.fetch_add(1, std::memory_order_relaxed);
    return Lease(this, bytes);
  }
  waits_.fetch_add(1, std::memory_order_relaxed);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (refused != nullptr) {
    if (bytes > refused->limit_bytes()) break;  // can never fit: waiting would only delay it
    if (stop.stop_requested()) {
      return make_error(ErrorCode::Cancelled, "memory budget: " + path() + ": cancelled");
    }
    Account& level = *refused;
    {
      std::unique_lock lock(level.mu_);
      level.waiters_.fetch_add(1);
      const uint64_t generation = level.release_generation_;
      // Re-check after announcing the wait: a credit before this point is seen here, one after
      // it sees the waiter and bumps the generation under the lock.
      const bool fits = level.current_.load() <= level.limit_bytes() - bytes;
      if (!fits) {
        level.released_.wait_until(lock, stop, deadline,
                                   [&] { return level.release_generation_ != generation; });
      }
      level.waiters_.fetch_sub(1);
    }
    refused = charge(bytes);
    if (refused != nullptr && std::chrono::steady_clock::now() >= deadline) break;
  }
  if (refused != nullptr) {
    refusals_.fetch_add(1, std::memory_order_relaxed);
    // (A request larger than the refusing level's limit fails without waiting.)
    const bool waited = bytes <= refused->limit_bytes();
    return make_error(ErrorCode::OverBudget,
                      refusal_message(*refused, bytes) +
                          (waited ? " after waiting " + std::to_string(timeout.count()) + " ms"
                                  : " (more than its whole limit)"));
  }
  live_leases_.fetch_add(1, std::memory_order_relaxed);
  reservations_.fetch_add(1, std::memory_order_relaxed);
  return Lease(this, bytes);
}

Lease Account::charge_existing(int64_t bytes) {
  LEANCUT_CHECK(bytes >= 0);
  for (Account* level = this; level != nullptr; level = level->parent_) {
    const int64_t now = level->current_.fetch_add(bytes, std::memory_order_relaxed) + bytes;
    if (now > level->limit_.load(std::memory_order_relaxed)) {
      level->overdrafts_.fetch_add(1, std::memory_order_relaxed);
    }
    raise_peak(level->peak_, now);
  }
  live_leases_.fetch_add(1, std::memory_order_relaxed);
  reservations_.fetch_add(1, std::memory_order_relaxed);
  return Lease(this, bytes);
}

void Account::set_limit(int64_t limit_bytes) {
  LEANCUT_CHECK(limit_bytes >= 0);
  limit_.store(limit_bytes, std::memory_order_relaxed);
  notify_waiters();  // a raised limit may let a waiter in
}

AccountStats Account::stats() const {
  return AccountStats{
      .path = path(),
      .limit_bytes = limit_bytes(),
      .current_bytes = current_bytes(),
      .peak_bytes = peak_bytes(),
      .live_leases = live_leases_.load(std::memory_order_relaxed),
      .reservations = reservations_.load(std::memory_order_relaxed),
      .refusals = refusals_.load(std::memory_order_relaxed),
      .waits = waits_.load(std::memory_order_relaxed),
      .overdrafts = overdrafts_.load(std::memory_order_relaxed),
  };
}

std::vector<AccountStats> Account::subtree_stats() const {
  std::vector<AccountStats> out{stats()};
  std::vector<Account*> children;
  {
    std::lock_guard lock(mu_);
    children = children_;
  }
  for (const Account* child : children) {
    auto sub = child->subtree_stats();
    out.insert(out.end(), sub.begin(), sub.end());
  }
  return out;
}

std::vector<AccountStats> Account::nonzero_balances() const {
  std::vector<AccountStats> out;
  for (AccountStats& s : subtree_stats()) {
    if (s.current_bytes != 0 || s.live_leases != 0) out.push_back(std::move(s));
  }
  return out;
}

void Account::reset_peaks() {
  peak_.store(current_bytes(), std::memory_order_relaxed);
  std::lock_guard lock(mu_);
  for (Account* child : children_) child->reset_peaks();
}

Lease::Lease(Lease&& other) noexcept
    : account_(std::exchange(other.account_, nullptr)), bytes_(std::exchange(other.bytes_, 0)) {}

Lease& Lease::operator=(Lease&& other) noexcept {
  if (this != &other) {
    release();
    account_ = std::exchange(other.account_, nullptr);
    bytes_ = std::exchange(other.bytes_, 0);
  }
  return *this;
}

void Lease::release() {
  if (account_ == nullptr) return;
  if (bytes_ > 0) account_->credit(bytes_);
  account_->live_leases_.fetch_sub(1, std::memory_order_relaxed);
  account_ = nullptr;
  bytes_ = 0;
}

void Lease::shrink_to(int64_t bytes) {
  LEANCUT_CHECK(bytes >= 0 && bytes <= bytes_);
  if (account_ != nullptr && bytes < bytes_) account_->credit(bytes_ - bytes);
  bytes_ = bytes;
}

}  // namespace leancut::memory
