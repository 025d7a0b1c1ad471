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
#include <vector>

#include "protocols/message_codec.hpp"
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

// A posting for the ledger, applied once: a payment debits the payer and
// credits the merchant; a refund does the reverse and names the payment.
enum class posting_kind : std::uint8_t { payment = 1, refund = 2 };

struct settlement_order {
  std::string settlement_id;  // the ledger's idempotency key: the txn id, or the refund's id
  std::string debit_account, credit_account;
  std::int64_t amount_minor = 0;
  std::string currency;
  posting_kind kind = posting_kind::payment;
  std::string original_id;  // refunds: the payment's txn id
  std::string memo;
  friend bool operator==(const settlement_order&, const settlement_order&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, settlement_order& x) {
  return f(caf::meta::type_name("settlement_order"), x.settlement_id, x.debit_account,
           x.credit_account, x.amount_minor, x.currency, x.kind, x.original_id, x.memo);
}

// The ledger's answer, given only after the commit is durable.
struct settlement_outcome {
  bool ok = false;
  protocols::wire_error error = protocols::wire_error::internal;  // when !ok
  std::string message;                                            // when !ok
  std::uint64_t sequence = 0;
  std::int64_t settled_unix_ms = 0;
  bool duplicate = false;   // the txn had settled before; this is that settlement
  std::string payer_ref{};  // set by the billing session with the receipt's signature
  std::string signature{};  // of the receipt's canonical text (protocols/receipt_signature.hpp)
  std::string key_id{};     // the signer's: in a cluster, the billing session's node
  friend bool operator==(const settlement_outcome&, const settlement_outcome&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, settlement_outcome& x) {
  return f(caf::meta::type_name("settlement_outcome"), x.ok, x.error, x.message, x.sequence,
           x.settled_unix_ms, x.duplicate, x.payer_ref, x.signature, x.key_id);
}

// A payment or refund read from one ledger partition (status, history): only
// entries already durable are reported.
struct ledger_record {
  bool found = false;
  std::string settlement_id;  // the payment's txn id, or the refund's id
  posting_kind kind = posting_kind::payment;
  std::string original_id;  // refunds: the payment refunded
  std::string debit_account;
  std::string credit_account;
  std::int64_t amount_minor = 0;
  std::string currency;
  std::uint64_t sequence = 0;
  std::int64_t settled_unix_ms = 0;
  std::string memo;
  // Non-empty: the ledger cannot tell (its disk failed); found is false.
  std::string unavailable;
  friend bool operator==(const ledger_record&, const ledger_record&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ledger_record& x) {
  return f(caf::meta::type_name("ledger_record"), x.found, x.settlement_id, x.kind, x.original_id,
           x.debit_account, x.credit_account, x.amount_minor, x.currency, x.sequence,
           x.settled_unix_ms, x.memo, x.unavailable);
}

// One page of an account's payments and refunds, newest first; next_before
// is set when more may follow.
struct history_page {
  std::vector<ledger_record> entries;
  std::uint64_t next_before = 0;
  bool ok = true;  // false: the partition could not read its ledger
  friend bool operator==(const history_page&, const history_page&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, history_page& x) {
  return f(caf::meta::type_name("history_page"), x.entries, x.next_before, x.ok);
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

// Item-ordering information on its way to a handset (claims 15, 24).
struct catalogue_offer {
  std::string txn;
  std::vector<protocols::catalogue_item> items;
  std::string currency;
  friend bool operator==(const catalogue_offer&, const catalogue_offer&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, catalogue_offer& x) {
  return f(caf::meta::type_name("catalogue_offer"), x.txn, x.items, x.currency);
}

// A payer's order on its way to the merchant (claims 15, 24, 28).
struct order_request {
  std::string txn;
  std::vector<protocols::order_line> lines;
  std::string note;
  friend bool operator==(const order_request&, const order_request&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, order_request& x) {
  return f(caf::meta::type_name("order_request"), x.txn, x.lines, x.note);
}

// An order an order-receiving centre took by phone (claims 25, 29).
struct centre_order {
  std::string order_id;
  std::string centre_id, centre_name;
  std::string customer;  // opaque reference to the caller's number
  std::vector<protocols::order_line> lines;
  std::string note, reference;
  friend bool operator==(const centre_order&, const centre_order&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, centre_order& x) {
  return f(caf::meta::type_name("centre_order"), x.order_id, x.centre_id, x.centre_name, x.customer,
           x.lines, x.note, x.reference);
}

// A transaction pushed to a payer's handset (flow C).
struct push_notice {
  std::string txn;
  merchant_card merchant;
  std::int64_t amount_minor = 0;  // 0: not known yet
  std::string currency;
  std::int64_t expires_unix_ms = 0;
  friend bool operator==(const push_notice&, const push_notice&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, push_notice& x) {
  return f(caf::meta::type_name("push_notice"), x.txn, x.merchant, x.amount_minor, x.currency,
           x.expires_unix_ms);
}

// A text message for a payer without an open connection (flow C).
struct sms_message {
  std::string to;  // MSISDN
  std::string text;
  std::string link;
  std::int64_t expires_unix_ms = 0;
  friend bool operator==(const sms_message&, const sms_message&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, sms_message& x) {
  return f(caf::meta::type_name("sms_message"), x.to, x.text, x.link, x.expires_unix_ms);
}

// One proof to check: the payer's answer (text) or sample (image or audio
// bytes) against one registered factor. The answer is wiped by the worker.
struct auth_job {
  std::string user_id, factor_id;
  std::uint8_t kind = 0;             // storage::factor_kind
  std::vector<std::string> secrets;  // the factor's hash, or its sealed templates
  std::string answer;
  double threshold = -1;  // biometric: accept scores >= this; negative = the matcher's default
  friend bool operator==(const auth_job&, const auth_job&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, auth_job& x) {
  return f(caf::meta::type_name("auth_job"), x.user_id, x.factor_id, x.kind, x.secrets, x.answer,
           x.threshold);
}

struct auth_verdict {
  bool matched = false;
  bool busy = false;    // the pool's queue was full: nothing was checked; retry
  std::string refusal;  // a biometric sample was unusable (biometrics::refusal name)
  double score = 0;     // biometrics: the best similarity
  friend bool operator==(const auth_verdict&, const auth_verdict&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, auth_verdict& x) {
  return f(caf::meta::type_name("auth_verdict"), x.matched, x.busy, x.refusal, x.score);
}

// One node of the cluster as its node_directory sees it (docs/cluster.md).
struct member_status {
  std::uint8_t node = 0;
  bool up = false;
  std::string address;             // host:port of its CAF remoting port
  std::uint64_t downs = 0;         // times it was seen going down
  std::int64_t since_unix_ms = 0;  // last change
  friend bool operator==(const member_status&, const member_status&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, member_status& x) {
  return f(caf::meta::type_name("member_status"), x.node, x.up, x.address, x.downs,
           x.since_unix_ms);
}

// A settlement window (docs/cluster.md): one partition's netted receivables
// of one merchant, on their way to the node that holds the merchant's account.
struct netting_transfer {
  std::string window;  // "w<unix ms>n<node>": unique per partition and close
  std::uint8_t from_node = 0;
  std::string merchant_id;
  std::int64_t amount_minor = 0;
  std::string currency;
  friend bool operator==(const netting_transfer&, const netting_transfer&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, netting_transfer& x) {
  return f(caf::meta::type_name("netting_transfer"), x.window, x.from_node, x.merchant_id,
           x.amount_minor, x.currency);
}

// One line of a window's audit report: what one merchant was owed on this
// partition, and whether its home node has booked it.
struct window_line {
  std::string merchant_id;
  std::uint8_t home_node = 0;
  std::int64_t amount_minor = 0;
  std::string currency;
  bool booked_here = false;  // debited from the clearing account in this window's commit
  bool delivered = false;    // credited to the merchant's account on its home node
  std::string note;          // why not (yet)
  friend bool operator==(const window_line&, const window_line&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, window_line& x) {
  return f(caf::meta::type_name("window_line"), x.merchant_id, x.home_node, x.amount_minor,
           x.currency, x.booked_here, x.delivered, x.note);
}

// One partition's part of a closed window.
struct window_report {
  std::string window;
  std::uint8_t node = 0;
  std::int64_t closed_unix_ms = 0;
  std::vector<window_line> lines;
  std::uint32_t redelivered = 0;  // earlier windows' transfers delivered now
  std::uint32_t pending = 0;      // transfers still waiting for their home node
  bool ledger_balanced = false;   // this node's balances sum to zero per currency
  friend bool operator==(const window_report&, const window_report&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, window_report& x) {
  return f(caf::meta::type_name("window_report"), x.window, x.node, x.closed_unix_ms, x.lines,
           x.redelivered, x.pending, x.ledger_balanced);
}

}  // namespace paysync::actors

namespace paysync::protocols {
// CAF finds these by argument-dependent lookup; protocols/ itself knows nothing of CAF.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, catalogue_item& x) {
  return f(caf::meta::type_name("catalogue_item"), x.sku, x.name, x.price_minor, x.max_qty);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, order_line& x) {
  return f(caf::meta::type_name("order_line"), x.sku, x.qty);
}
}  // namespace paysync::protocols

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
using find_atom = caf::atom_constant<caf::atom("find")>;            // billing -> ledger: status
using history_atom = caf::atom_constant<caf::atom("history")>;      // handset -> ledger
using flush_atom = caf::atom_constant<caf::atom("flush")>;          // ledger -> itself
using durable_atom = caf::atom_constant<caf::atom("durable")>;      // ledger -> itself
using stats_atom = caf::atom_constant<caf::atom("stats")>;          // anyone -> shard, ledger
using catalogue_atom = caf::atom_constant<caf::atom("catalogue")>;  // billing -> handset
using order_atom = caf::atom_constant<caf::atom("order")>;          // handset -> billing
using incoming_atom = caf::atom_constant<caf::atom("incoming")>;    // handset -> billing (flow B)
using centre_atom = caf::atom_constant<caf::atom("centre")>;        // presence -> billing (flow C)
using push_atom = caf::atom_constant<caf::atom("push")>;            // -> presence -> handset
using attach_atom = caf::atom_constant<caf::atom("attach")>;        // session -> presence
using detach_atom = caf::atom_constant<caf::atom("detach")>;        // session -> presence
using reach_atom = caf::atom_constant<caf::atom("reach")>;          // handset -> presence
using forward_atom = caf::atom_constant<caf::atom("forward")>;      // centre -> presence
using resolve_atom = caf::atom_constant<caf::atom("resolve")>;      // billing -> presence
using sms_atom = caf::atom_constant<caf::atom("sms")>;              // billing -> sms sender
using verify_atom = caf::atom_constant<caf::atom("verify")>;        // session -> auth pool
using auth_fail_atom = caf::atom_constant<caf::atom("auth_fail")>;  // handset -> billing
// The cluster (docs/cluster.md).
using greet_atom = caf::atom_constant<caf::atom("greet")>;      // peer_link -> remote directory
using member_atom = caf::atom_constant<caf::atom("member")>;    // peer_link -> directory: up
using lost_atom = caf::atom_constant<caf::atom("lost")>;        // peer_link -> directory: down
using retry_atom = caf::atom_constant<caf::atom("retry")>;      // peer_link -> itself
using members_atom = caf::atom_constant<caf::atom("members")>;  // anyone -> directory
using window_atom = caf::atom_constant<caf::atom("window")>;    // -> settlement window: close
using credit_atom = caf::atom_constant<caf::atom("credit")>;    // window -> merchant's home window
