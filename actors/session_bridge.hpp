#pragma once

#include <caf/send.hpp>
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "actors/clock.hpp"
#include "actors/interfaces.hpp"
#include "actors/metrics.hpp"
#include "actors/rate_limiter.hpp"
#include "protocols/message_codec.hpp"
#include "protocols/ws_listener.hpp"

namespace paysync::actors {

// The abuse limits a bridge applies on the connection's strand, before a
// frame reaches the session actor's mailbox: a flood is refused where it
// arrives and never queues up inside the switch.
struct bridge_guard {
  // Weak: the connection owns this bridge, and a strong pointer back would
  // keep both alive forever.
  std::weak_ptr<protocols::ws_connection> connection;
  rate_limit message_rate;  // frames per minute on this connection; 0 = unlimited
  std::shared_ptr<const clock> time;
  switch_metrics* metrics = nullptr;
  std::function<void()> on_release;  // frees the connection's per-address slot
};

// Hands a connection's inbound events to its session actor as messages. Runs
// on the connection's strand and never blocks it: anon_send only enqueues.
template <class SessionActor>
class session_bridge final : public protocols::ws_handler {
 public:
  explicit session_bridge(SessionActor session, bridge_guard guard = {})
      : session_(std::move(session)), guard_(std::move(guard)), bucket_(guard_.message_rate) {}
  ~session_bridge() override {
    if (guard_.on_release) guard_.on_release();
  }
  session_bridge(const session_bridge&) = delete;
  session_bridge& operator=(const session_bridge&) = delete;

  void on_text(std::string frame) override {
    if (!admit()) return;
    caf::anon_send(session_, frame_atom::value, std::move(frame));
  }
  void on_binary(std::string frame) override {
    if (!admit()) return;
    caf::anon_send(session_, binary_atom::value, std::move(frame));
  }
  void on_oversized(std::size_t frame_bytes) override {
    caf::anon_send(session_, oversized_atom::value, static_cast<std::uint64_t>(frame_bytes));
  }
  void on_closed(protocols::close_reason why) override {
    caf::anon_send(session_, closed_atom::value, why);
  }

 private:
  bool admit() {
    if (guard_.message_rate.per_minute == 0) return true;
    const auto wait_ms = bucket_.take(guard_.time->now_unix_ms());
    if (wait_ms == 0) return true;
    if (guard_.metrics) guard_.metrics->refused(protocols::wire_error::rate_limited);
    auto connection = guard_.connection.lock();
    if (!connection) return false;
    connection->send_text(protocols::encode_error(
        {}, protocols::wire_error::rate_limited,
        "more than " + std::to_string(guard_.message_rate.per_minute) +
            " messages a minute on this connection; this one was dropped, retry in " +
            std::to_string((wait_ms + 999) / 1000) + " s"));
    return false;
  }

  SessionActor session_;
  bridge_guard guard_;
  token_bucket bucket_;
};

}  // namespace paysync::actors
