#pragma once

#include <caf/send.hpp>
#include <string>
#include <utility>

#include "actors/interfaces.hpp"
#include "protocols/ws_listener.hpp"

namespace paysync::actors {

// Hands a connection's inbound events to its session actor as messages. Runs
// on the connection's strand and never blocks it: anon_send only enqueues.
template <class SessionActor>
class session_bridge final : public protocols::ws_handler {
 public:
  explicit session_bridge(SessionActor session) : session_(std::move(session)) {}

  void on_text(std::string frame) override {
    caf::anon_send(session_, frame_atom::value, std::move(frame));
  }
  void on_binary(std::string frame) override {
    caf::anon_send(session_, binary_atom::value, std::move(frame));
  }
  void on_oversized(std::size_t frame_bytes) override {
    caf::anon_send(session_, oversized_atom::value, static_cast<std::uint64_t>(frame_bytes));
  }
  void on_closed(protocols::close_reason why) override {
    caf::anon_send(session_, closed_atom::value, why);
  }

 private:
  SessionActor session_;
};

}  // namespace paysync::actors
