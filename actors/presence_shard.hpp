#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "actors/clock.hpp"
#include "actors/interfaces.hpp"

namespace paysync::actors {

struct presence_shard_config {
  std::uint16_t shard_index = 0;
  std::int64_t customer_ttl_ms = 3'600'000;  // an order-centre customer reference lives this long
  std::size_t max_customers = 100'000;       // references kept per shard
  std::shared_ptr<const clock> time;
};

struct presence_shard_state {
  presence_shard_config config;
  // merchant id -> its live billing sessions; reach() takes them in turn
  struct merchant_sessions {
    std::vector<billing_session_actor> sessions;
    std::size_t next = 0;
  };
  std::unordered_map<std::string, merchant_sessions> merchants;
  // number -> its live handset sessions
  std::unordered_map<std::string, std::vector<paying_session_actor>> handsets;
  // customer reference -> (merchant id, number), with expiry in insertion order
  struct customer {
    std::string merchant_id, msisdn;
    std::int64_t expires_unix_ms = 0;
  };
  std::unordered_map<std::string, customer> customers;
  std::deque<std::string> customer_order;
  std::uint64_t next_order = 1;
  static inline const char* name = "presence_shard";
};

presence_shard_actor::behavior_type presence_shard(
    presence_shard_actor::stateful_pointer<presence_shard_state> self,
    presence_shard_config config);

}  // namespace paysync::actors
