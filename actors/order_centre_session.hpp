#pragma once

#include <memory>
#include <string>

#include "actors/interfaces.hpp"
#include "actors/session_io.hpp"
#include "actors/switch_context.hpp"
#include "actors/terminal_check.hpp"

namespace paysync::actors {

struct order_centre_session_state {
  std::shared_ptr<const switch_context> ctx;
  std::unique_ptr<session_io> io;
  bool identified = false;
  std::optional<pending_challenge> challenge;
  std::uint32_t bad_signatures = 0;
  std::string centre_id, centre_name;
  static inline const char* name = "order_centre_session";
};

// An order-receiving centre (a call centre) forwards orders it took by phone,
// with the caller's number, to a merchant's billing terminal (claims 25, 29).
// The terminal sees an opaque customer reference, never the number, and
// opens a transaction pushed to that customer's handset.
order_centre_session_actor::behavior_type order_centre_session(
    order_centre_session_actor::stateful_pointer<order_centre_session_state> self,
    std::shared_ptr<const switch_context> ctx,
    std::shared_ptr<protocols::ws_connection> connection);

}  // namespace paysync::actors
