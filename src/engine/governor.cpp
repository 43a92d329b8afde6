#include "engine/governor.h"

#include <pthread.h>

#include <algorithm>
#include <utility>

namespace leancut::engine {

namespace {

memory::PressureOptions pressure_options(const GovernorOptions& o) {
  memory::PressureOptions p;
  if (o.planned_peak_bytes > 0 && o.budget_bytes > 0) {
    p.working_set = memory::working_set_thresholds_for_plan(
        static_cast<double>(o.planned_peak_bytes) / static_cast<double>(o.budget_bytes));
  }
  if (o.planned_ledger_bytes > 0 && o.ledger != nullptr &&
      o.ledger->limit_bytes() != memory::kNoLimit && o.ledger->limit_bytes() > 0) {
    p.ledger = memory::thresholds_for_plan(
        memory::kDefaultLedgerThresholds,
        static_cast<double>(o.planned_ledger_bytes) / static_cast<double>(o.ledger->limit_bytes()));
  }
  return p;
}

}  // namespace

Governor::Governor(GovernorOptions options, std::function<void(Error)> on_give_up)
    : options_(options),
      on_give_up_(std::move(on_give_up)),
      clock_(SteadyClock::instance()),
      monitor_(memory::SysRoot{}, clock_),
      tracker_(clock_, pressure_options(options)),
      ladder_(clock_) {}

Governor::~Governor() {
  stop();
}

void Governor::start() {
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "lc-governor");
    loop();
  });
}

void Governor::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

memory::PressureInputs Governor::read_inputs() {
  if (options_.source != nullptr) return options_.source->read();
  memory::PressureInputs in;
  if (options_.ledger != nullptr) {
    in.ledger_ratio =
        memory::ledger_ratio(options_.ledger->current_bytes(), options_.ledger->limit_bytes());
    in.ledger_limit_bytes =
        options_.ledger->limit_bytes() == memory::kNoLimit ? 0 : options_.ledger->limit_bytes();
  }
  const memory::Sample s = monitor_.sample();
  max_rss_bytes_ = std::max(max_rss_bytes_, s.rss_bytes);
  // The worse of our RSS against our budget and the cgroup's working set against its limit.
  std::optional<double> ws;
  if (options_.budget_bytes > 0 && s.rss_bytes > 0) {
    ws = static_cast<double>(s.rss_bytes) / static_cast<double>(options_.budget_bytes);
  }
  if (s.cgroup.working_set_bytes && s.cgroup.limit_bytes && *s.cgroup.limit_bytes > 0) {
    const double cg = static_cast<double>(*s.cgroup.working_set_bytes) /
                      static_cast<double>(*s.cgroup.limit_bytes);
    ws = std::max(ws.value_or(0.0), cg);
  }
  in.working_set_ratio = ws;
  in.psi_some_avg10 = s.psi_some_avg10;
  return in;
}

void Governor::loop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    lock.unlock();
    const memory::PressureInputs in = read_inputs();
    const memory::PressureLevel level = tracker_.update(in);
    ladder_.on_update(level, in);
    ++samples_;
    if (!gave_up_ && ladder_.gave_up()) {
      gave_up_ = true;
      on_give_up_(ladder_.status().error());
    }
    lock.lock();
    wake_.wait_for(lock, options_.tick, [this] { return stopping_; });
  }
}

GovernorReport Governor::report() const {
  GovernorReport r;
  r.levels = tracker_.history();
  const auto steps = ladder_.stats();
  r.steps.assign(steps.begin(), steps.end());
  r.samples = samples_;
  r.max_rss_bytes = max_rss_bytes_;
  return r;
}

}  // namespace leancut::engine
