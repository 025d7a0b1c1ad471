#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>

namespace paysync::actors {

// Wall-clock time for expiry and timestamps. Injected everywhere so tests can
// move time forward instead of sleeping.
class clock {
 public:
  virtual ~clock() = default;
  virtual std::int64_t now_unix_ms() const noexcept = 0;
};

class system_clock final : public clock {
 public:
  std::int64_t now_unix_ms() const noexcept override {
    using namespace std::chrono;
    return duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  }
};

// A clock that moves only when told to; thread-safe.
class manual_clock final : public clock {
 public:
  explicit manual_clock(std::int64_t start_unix_ms) : now_(start_unix_ms) {}
  std::int64_t now_unix_ms() const noexcept override { return now_.load(); }
  void advance_ms(std::int64_t delta) noexcept { now_.fetch_add(delta); }

 private:
  std::atomic<std::int64_t> now_;
};

}  // namespace paysync::actors
