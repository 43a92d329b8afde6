#include "memory/stages.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "memory/rss.h"

namespace leancut::memory {

StageRecorder::StageRecorder(Account* account, const Clock& clock, std::filesystem::path proc_self)
    : account_(account), clock_(clock), proc_self_(std::move(proc_self)) {}

void StageRecorder::begin(std::string name) {
  std::lock_guard lock(mu_);
  end_locked();
  hwm_at_start_ = read_peak_rss_bytes(proc_self_).value_or(0);
  sampled_peak_ = read_rss_bytes(proc_self_).value_or(0);
  ledger_peak_at_start_ = account_ != nullptr ? account_->peak_bytes() : 0;
  sampled_ledger_peak_ = account_ != nullptr ? account_->current_bytes() : 0;
  stages_.push_back(StageStats{.name = std::move(name)});
  started_ = clock_.now();
}

void StageRecorder::end() {
  std::lock_guard lock(mu_);
  end_locked();
}

void StageRecorder::note_rss(int64_t rss_bytes) {
  std::lock_guard lock(mu_);
  sampled_peak_ = std::max(sampled_peak_, rss_bytes);
  if (account_ != nullptr) {
    sampled_ledger_peak_ = std::max(sampled_ledger_peak_, account_->current_bytes());
  }
}

void StageRecorder::end_locked() {
  if (!started_) return;
  StageStats& s = stages_.back();
  s.seconds = std::chrono::duration<double>(clock_.now() - *started_).count();
  const int64_t hwm = read_peak_rss_bytes(proc_self_).value_or(0);
  const int64_t now = read_rss_bytes(proc_self_).value_or(0);
  s.rss_peak_bytes = hwm > hwm_at_start_ ? hwm : std::max(sampled_peak_, now);
  if (account_ != nullptr) {
    const int64_t peak = account_->peak_bytes();
    s.peak_bytes = peak > ledger_peak_at_start_
                       ? peak
                       : std::max(sampled_ledger_peak_, account_->current_bytes());
  }
  started_.reset();
}

std::vector<StageStats> StageRecorder::stages() const {
  std::lock_guard lock(mu_);
  return stages_;
}

}  // namespace leancut::memory
