#pragma once

// Every message exchanged between paysync's actors: atoms, message structs
// (each with an inspect overload so CAF can serialise it for remote nodes),
// and the type-ID block. Interfaces that use them are in interfaces.hpp.

#include <caf/atom.hpp>
#include <caf/fwd.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/type_id.hpp>
#include <cstdint>
#include <map>
#include <string>

#include "protocols/wire_error.hpp"

namespace paysync::actors {

// What a payer is shown about a merchant (claims 5, 11), copied into the
// registry when a transaction opens so a join needs no directory lookup.
struct merchant_card {
  std::string id, name, till, city, category, currency, account_id;
  friend bool operator==(const merchant_card&, const merchant_card&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, merchant_card& x) {
  return f(caf::meta::type_name("merchant_card"), x.id, x.name, x.till, x.city, x.category,
           x.currency, x.account_id);
}

// The payer, as identified by the calling number a trusted gateway presented
// (claim 12). `attributes` holds every attribute; the billing session passes on
// only those its merchant's disclosure policy names (claims 13, 26).
struct payer_card {
  std::string user_id, display_name, account_id, currency, msisdn;
  std::map<std::string, std::string> attributes;
  friend bool operator==(const payer_card&, const payer_card&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, payer_card& x) {
  return f(caf::meta::type_name("payer_card"), x.user_id, x.display_name, x.account_id, x.currency,
           x.msisdn, x.attributes);
}

// How a transaction ended.
enum class ending : std::uint8_t { settled = 1, cancelled, expired, failed };

struct txn_end {
  std::string txn;
  ending how = ending::cancelled;
  std::string by;      // cancelled: "merchant", "payer" or "switch"
  std::string reason;  // for people
  protocols::wire_error code = protocols::wire_error::internal;  // failed only
  friend bool operator==(const txn_end&, const txn_end&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, txn_end& x) {
  return f(caf::meta::type_name("txn_end"), x.txn, x.how, x.by, x.reason, x.code);
}

// An amount for the payer to confirm (claim 9).
struct amount_offer {
  std::string txn;
  std::int64_t amount_minor = 0;
  std::string currency;
  friend bool operator==(const amount_offer&, const amount_offer&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, amount_offer& x) {
  return f(caf::meta::type_name("amount_offer"), x.txn, x.amount_minor, x.currency);
}

// A settlement for the ledger: debit the payer, credit the merchant, once.
struct settlement_order {
  std::string txn;  // also the ledger's idempotency key
  std::string payer_account, merchant_account;
  std::int64_t amount_minor = 0;
  std::string currency;
  std::int64_t time_unix_ms = 0;
  std::string memo;
  friend bool operator==(const settlement_order&, const settlement_order&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, settlement_order& x) {
  return f(caf::meta::type_name("settlement_order"), x.txn, x.payer_account, x.merchant_account,
           x.amount_minor, x.currency, x.time_unix_ms, x.memo);
}

// The ledger's answer, given only after the commit is durable.
struct settlement_outcome {
  bool ok = false;
  protocols::wire_error error = protocols::wire_error::internal;  // when !ok
  std::string message;                                            // when !ok
  std::uint64_t sequence = 0;
  std::int64_t settled_unix_ms = 0;
  bool duplicate = false;  // the txn had settled before; this is that settlement
  friend bool operator==(const settlement_outcome&, const settlement_outcome&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, settlement_outcome& x) {
  return f(caf::meta::type_name("settlement_outcome"), x.ok, x.error, x.message, x.sequence,
           x.settled_unix_ms, x.duplicate);
}

// A yes/no answer between actors that carries the reason on "no".
struct verdict {
  bool ok = false;
  protocols::wire_error error = protocols::wire_error::internal;
  std::string message;
  friend bool operator==(const verdict&, const verdict&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, verdict& x) {
  return f(caf::meta::type_name("verdict"), x.ok, x.error, x.message);
}

inline verdict accepted() { return verdict{true, protocols::wire_error::internal, {}}; }
inline verdict refused(protocols::wire_error e, std::string message) {
  return verdict{false, e, std::move(message)};
}

}  // namespace paysync::actors

// Atoms: at most 10 characters of [0-9A-Za-z_ ].
using frame_atom = caf::atom_constant<caf::atom("frame")>;          // ws -> session: text frame
using binary_atom = caf::atom_constant<caf::atom("binary")>;        // ws -> session: binary frame
using oversized_atom = caf::atom_constant<caf::atom("oversized")>;  // ws -> session
using closed_atom = caf::atom_constant<caf::atom("closed")>;        // ws -> session
using open_atom = caf::atom_constant<caf::atom("open")>;            // billing -> shard
using join_atom = caf::atom_constant<caf::atom("join")>;            // handset -> shard
using joined_atom = caf::atom_constant<caf::atom("joined")>;        // shard -> billing
using release_atom = caf::atom_constant<caf::atom("release")>;      // billing -> shard
using close_atom = caf::atom_constant<caf::atom("close")>;          // billing -> shard
using tick_atom = caf::atom_constant<caf::atom("tick")>;            // shard -> itself
using expire_atom = caf::atom_constant<caf::atom("expire")>;        // shard -> billing
using sync_atom = caf::atom_constant<caf::atom("sync")>;            // handset -> billing
using confirm_atom = caf::atom_constant<caf::atom("confirm")>;      // handset -> billing
using cancel_atom = caf::atom_constant<caf::atom("cancel")>;        // handset -> billing
using left_atom = caf::atom_constant<caf::atom("left")>;            // handset -> billing
using offer_atom = caf::atom_constant<caf::atom("offer")>;          // billing -> handset
using ended_atom = caf::atom_constant<caf::atom("ended")>;          // billing -> handset
using settle_atom = caf::atom_constant<caf::atom("settle")>;        // billing -> ledger
using flush_atom = caf::atom_constant<caf::atom("flush")>;          // ledger -> itself
using stats_atom = caf::atom_constant<caf::atom("stats")>;          // anyone -> shard, ledger
