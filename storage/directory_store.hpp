#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "storage/environment.hpp"

namespace paysync::storage {

enum class party_status : std::uint8_t {
  active = 1,
  suspended = 2,  // temporarily refused (e.g. an unpaid fee); may come back
  blocked = 3,    // refused for good (fraud, closed)
};

struct merchant_record {
  std::string id;    // "m-kahawa"; [a-z0-9-], <= 64 bytes
  std::string name;  // shown to the payer to confirm (claim 5)
  std::string till;  // the merchant's static numeric code (sticker at the till), unique
  std::string city;
  std::string category;  // e.g. "cafe", "grocery"
  std::string account_id;
  std::string currency;
  party_status status = party_status::active;
  // Which user attributes this merchant receives on synchronization
  // (claims 13, 26); names of keys in user_record::attributes, plus
  // "display_name". Nothing else leaves.
  std::vector<std::string> disclosed_attributes;
  friend bool operator==(const merchant_record&, const merchant_record&) = default;
};

enum class terminal_role : std::uint8_t {
  billing = 1,       // a merchant's billing terminal; merchant_id names its merchant
  order_centre = 2,  // an order-receiving centre (claims 25, 29); merchant_id is empty
};

struct terminal_record {
  std::string id;  // "t-kahawa-01", "oc-nairobi"
  std::string merchant_id;
  party_status status = party_status::active;
  terminal_role role = terminal_role::billing;
  std::string name{};  // shown to merchants for order centres; optional for billing terminals
  // The terminal's Ed25519 public key (32 raw bytes): `hello` must be signed
  // with its secret key (docs/protocol.md). Empty: no key registered.
  std::string public_key{};
  friend bool operator==(const terminal_record&, const terminal_record&) = default;
};

struct user_record {
  std::string id;      // "u-1001"
  std::string msisdn;  // E.164 without '+', digits only: "254700000001"; unique
  std::string display_name;
  std::string account_id;
  std::string currency;
  party_status status = party_status::active;
  // "age_over_18" -> "true", "delivery_address" -> ...
  std::map<std::string, std::string> attributes;
  friend bool operator==(const user_record&, const user_record&) = default;
};

// Merchants (with their tills), billing terminals and users (keyed by MSISDN
// too) in the shared LMDB environment. Records are stored in a compact
// versioned binary encoding.
//
// Threading: every method may be called from any thread; writes are serialised
// by LMDB and are rare (seeding, enrolment).
class directory_store {
 public:
  explicit directory_store(environment& env);

  // Inserts or replaces. put_merchant fails with already_exists when the till
  // belongs to another merchant; put_user when the msisdn belongs to another user.
  // Fails with invalid_argument on an empty id / till / msisdn.
  // Replacing a record that moves its till (msisdn) frees the old one.
  // Bounds (invalid_argument beyond): merchant id [a-z0-9-] <= 64 bytes; other
  // ids and account ids <= 128 bytes; till digits only, <= 16; msisdn digits
  // only, <= 15; names, city, category <= 256 bytes; currency empty or three
  // upper-case letters; <= 32 disclosed attributes / user attributes, names
  // 1..64 bytes, attribute values <= 1024 bytes; status is a party_status.
  result<void> put_merchant(const merchant_record& m);
  result<void> put_terminal(const terminal_record& t);
  result<void> put_user(const user_record& u);

  // The puts above for up to 10000 records in all, in ONE write transaction
  // (merchants, then terminals, then users, each in order), all or nothing:
  // the first refused record's error is returned and nothing is written.
  // For seeding and bulk enrolment.
  result<void> put_many(const std::vector<merchant_record>& merchants,
                        const std::vector<terminal_record>& terminals,
                        const std::vector<user_record>& users);

  result<merchant_record> find_merchant(std::string_view id) const;
  result<merchant_record> find_merchant_by_till(std::string_view till) const;
  result<terminal_record> find_terminal(std::string_view id) const;
  result<user_record> find_user(std::string_view id) const;
  result<user_record> find_user_by_msisdn(std::string_view msisdn) const;

  struct counts {
    std::size_t merchants = 0, terminals = 0, users = 0;
  };
  result<counts> count() const;

 private:
  environment& env_;
};

}  // namespace paysync::storage
