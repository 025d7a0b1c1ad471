#pragma once

#include <boost/json/value.hpp>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "actors/idempotency_cache.hpp"
#include "actors/metrics.hpp"
#include "protocols/wire_error.hpp"
#include "protocols/ws_listener.hpp"

namespace paysync::actors {

// What a session needs to answer one request: its ref, and its idempotency
// key when it had one.
struct request_meta {
  boost::json::value ref;
  std::string idempotency_key;
};

// The outbound side of a session actor: events, replies (remembered under
// their request's idempotency key) and errors. Owned by one actor; not
// thread-safe.
class session_io {
 public:
  session_io(std::shared_ptr<protocols::ws_connection> connection, std::size_t max_keys,
             switch_metrics* metrics)
      : connection_(std::move(connection)), keys_(max_keys), metrics_(metrics) {}

  // True when the request is to be handled now. False when it was answered
  // from the idempotency cache, refused as a conflicting reuse of its key, or
  // queued behind its first copy still in progress.
  bool admit(const request_meta& request, const std::string& fingerprint);

  void reply(const request_meta& request, std::string frame);
  void error(const request_meta& request, protocols::wire_error code, std::string_view message,
             std::string_view txn = {});
  void event(std::string frame);

  // Closes the connection after the frames already queued.
  void close() {
    if (!closed_) connection_->close();
  }
  void mark_closed() noexcept { closed_ = true; }
  bool closed() const noexcept { return closed_; }
  std::uint64_t connection_id() const noexcept { return connection_->id(); }

 private:
  std::shared_ptr<protocols::ws_connection> connection_;
  idempotency_cache keys_;
  switch_metrics* metrics_;
  bool closed_ = false;
};

}  // namespace paysync::actors
