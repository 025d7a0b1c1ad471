#pragma once

// Every typed actor interface of paysync, the messages that carry actor
// handles, and the CAF type-ID block (which needs all of them).
//
// Who talks to whom:
//   ws listener --frame--> billing_session / paying_session (one actor per connection)
//   billing_session --open--> registry_shard <--join-- paying_session
//   registry_shard --joined/expire--> billing_session
//   paying_session --sync/confirm/cancel/left--> billing_session (directly, once paired)
//   billing_session --offer/ended/catalogue--> paying_session
//   paying_session --order--> billing_session; --incoming--> billing_session (flow B)
//   sessions --attach/detach--> presence_shard (merchant ids, numbers)
//   paying_session --reach--> presence_shard (flow B); order_centre_session --forward--> it (C)
//   billing_session --resolve/push--> presence_shard --push--> paying_session (flow C)
//   billing_session --sms--> sms_sender (flow C, payer offline)
//   billing_session --settle--> ledger

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/messages.hpp"
#include "protocols/message_codec.hpp"
#include "protocols/ws_listener.hpp"

namespace paysync::actors {

// One per handset connection (the paying side, "mobile").
using paying_session_actor = caf::typed_actor<
    caf::reacts_to<frame_atom, std::string>, caf::reacts_to<binary_atom, std::string>,
    caf::reacts_to<oversized_atom, std::uint64_t>,
    caf::reacts_to<closed_atom, protocols::close_reason>, caf::reacts_to<offer_atom, amount_offer>,
    caf::reacts_to<ended_atom, txn_end>, caf::reacts_to<catalogue_atom, catalogue_offer>,
    caf::reacts_to<push_atom, push_notice>>;

// The billing session's answer to a handset's confirm_merchant: on success,
// the amount when the merchant gave it already.
struct sync_grant {
  verdict result;
  bool has_amount = false;
  amount_offer offer;
  friend bool operator==(const sync_grant&, const sync_grant&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, sync_grant& x) {
  return f(caf::meta::type_name("sync_grant"), x.result, x.has_amount, x.offer);
}

// The billing session's answer when a payer opens a transaction with its
// merchant (flow B, claim 28): the handset has joined it already.
struct incoming_grant {
  verdict result;
  std::string txn;
  merchant_card merchant;
  std::int64_t expires_unix_ms = 0;
  friend bool operator==(const incoming_grant&, const incoming_grant&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, incoming_grant& x) {
  return f(caf::meta::type_name("incoming_grant"), x.result, x.txn, x.merchant, x.expires_unix_ms);
}

// One per billing terminal connection (the billing side, "private line"). It
// owns the state machine of every transaction its terminal opened.
using billing_session_actor = caf::typed_actor<
    caf::reacts_to<frame_atom, std::string>, caf::reacts_to<binary_atom, std::string>,
    caf::reacts_to<oversized_atom, std::uint64_t>,
    caf::reacts_to<closed_atom, protocols::close_reason>,
    // registry: a handset joined (claim 1: it presented the id)
    caf::reacts_to<joined_atom, std::string, paying_session_actor, payer_card>,
    caf::reacts_to<expire_atom, std::string>,
    // handset: confirmed the merchant -> synchronize (claim 5)
    caf::replies_to<sync_atom, std::string, paying_session_actor>::with<sync_grant>,
    // handset: final purchase confirmation (claim 9) -> settle
    caf::replies_to<confirm_atom, amount_offer, paying_session_actor>::with<settlement_outcome>,
    caf::reacts_to<cancel_atom, std::string, paying_session_actor, std::string>,
    caf::reacts_to<left_atom, std::string, paying_session_actor>,
    // handset: a payer names this merchant first (flow B)
    caf::replies_to<incoming_atom, payer_card, paying_session_actor>::with<incoming_grant>,
    // handset: the payer's order, relayed to the terminal (claims 15, 24, 28)
    caf::replies_to<order_atom, order_request, paying_session_actor>::with<verdict>,
    // presence: an order from an order-receiving centre (flow C)
    caf::reacts_to<centre_atom, centre_order>,
    // handset: the payer failed authentication; the payment ends as failed
    caf::reacts_to<auth_fail_atom, std::string, paying_session_actor>>;

// What a billing session registers when it opens a transaction.
struct txn_ticket {
  std::string txn, token;
  merchant_card merchant;
  std::int64_t amount_minor = 0;  // 0: the amount comes later
  std::string currency;
  std::int64_t expires_unix_ms = 0;
  billing_session_actor billing;
  std::string bound_msisdn;      // flow C: only this payer may join
  paying_session_actor handset;  // flow B: the payer who opened it has joined already
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, txn_ticket& x) {
  return f(caf::meta::type_name("txn_ticket"), x.txn, x.token, x.merchant, x.amount_minor,
           x.currency, x.expires_unix_ms, x.billing, x.bound_msisdn, x.handset);
}

struct open_grant {
  verdict result;
  std::string code;  // the six-digit code, bound to the merchant's till
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, open_grant& x) {
  return f(caf::meta::type_name("open_grant"), x.result, x.code);
}

struct join_request {
  protocols::join_by by = protocols::join_by::txn;
  std::string key, till;
  paying_session_actor handset;
  payer_card payer;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, join_request& x) {
  return f(caf::meta::type_name("join_request"), x.by, x.key, x.till, x.handset, x.payer);
}

struct join_grant {
  verdict result;
  std::string txn;
  merchant_card merchant;
  std::int64_t amount_minor = 0;  // 0: not known yet
  std::string currency;
  std::int64_t expires_unix_ms = 0;
  billing_session_actor billing;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, join_grant& x) {
  return f(caf::meta::type_name("join_grant"), x.result, x.txn, x.merchant, x.amount_minor,
           x.currency, x.expires_unix_ms, x.billing);
}

struct shard_stats {
  std::uint64_t open = 0, joined = 0, opened_total = 0, expired_total = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, shard_stats& x) {
  return f(caf::meta::type_name("shard_stats"), x.open, x.joined, x.opened_total, x.expired_total);
}

// Owns the transactions whose ids name its shard: pairs sessions by id, link
// token or (till, code), and triggers expiry.
using registry_shard_actor =
    caf::typed_actor<caf::replies_to<open_atom, txn_ticket>::with<open_grant>,
                     caf::replies_to<join_atom, join_request>::with<join_grant>,
                     caf::reacts_to<release_atom, std::string, paying_session_actor>,
                     caf::reacts_to<close_atom, std::string, ending>, caf::reacts_to<tick_atom>,
                     caf::replies_to<stats_atom>::with<shard_stats>>;

struct reach_grant {
  verdict result;
  billing_session_actor billing;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, reach_grant& x) {
  return f(caf::meta::type_name("reach_grant"), x.result, x.billing);
}

struct forward_grant {
  verdict result;
  std::string order_id;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, forward_grant& x) {
  return f(caf::meta::type_name("forward_grant"), x.result, x.order_id);
}

struct resolve_grant {
  verdict result;
  std::string msisdn;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, resolve_grant& x) {
  return f(caf::meta::type_name("resolve_grant"), x.result, x.msisdn);
}

// Who is connected: a merchant's billing sessions and a number's handsets,
// sharded by a hash of the merchant id or the number. Also keeps the
// customer references of order-centre orders (flow C) for their merchant.
using presence_shard_actor = caf::typed_actor<
    caf::reacts_to<attach_atom, std::string, billing_session_actor>,
    caf::reacts_to<detach_atom, std::string, billing_session_actor>,
    caf::reacts_to<attach_atom, std::string, paying_session_actor>,
    caf::reacts_to<detach_atom, std::string, paying_session_actor>,
    // a live billing session of this merchant (flow B)
    caf::replies_to<reach_atom, std::string>::with<reach_grant>,
    // merchant id, caller's number, the order -> delivered to a billing session (flow C)
    caf::replies_to<forward_atom, std::string, std::string, centre_order>::with<forward_grant>,
    // merchant id, customer reference -> the caller's number
    caf::replies_to<resolve_atom, std::string, std::string>::with<resolve_grant>,
    // number, notice -> how many handsets it reached
    caf::replies_to<push_atom, std::string, push_notice>::with<std::uint32_t>>;

// One per order-receiving centre connection (flow C, claims 25, 29).
using order_centre_session_actor =
    caf::typed_actor<caf::reacts_to<frame_atom, std::string>,
                     caf::reacts_to<binary_atom, std::string>,
                     caf::reacts_to<oversized_atom, std::uint64_t>,
                     caf::reacts_to<closed_atom, protocols::close_reason>>;

// Checks answers and biometric samples off the I/O threads: a bounded
// dispatcher in front of detached workers (the pool) or one worker.
using auth_pool_actor =
    caf::typed_actor<caf::replies_to<verify_atom, auth_job>::with<auth_verdict>>;

// Hands text messages to the SMS gateway (flow C, payer not connected).
using sms_sender_actor = caf::typed_actor<caf::replies_to<sms_atom, sms_message>::with<verdict>>;

struct ledger_stats {
  std::uint64_t commits = 0, postings = 0, refusals = 0, largest_batch = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ledger_stats& x) {
  return f(caf::meta::type_name("ledger_stats"), x.commits, x.postings, x.refusals,
           x.largest_batch);
}

// Settles in LMDB with group commit; answers only after the commit is durable.
// find: the durable payment with this transaction id, if this partition has it.
// history: account, before (0 = newest), limit -> its payments and refunds.
using ledger_actor = caf::typed_actor<
    caf::replies_to<settle_atom, settlement_order>::with<settlement_outcome>,
    caf::replies_to<find_atom, std::string>::with<ledger_record>,
    caf::replies_to<history_atom, std::string, std::uint64_t, std::uint32_t>::with<history_page>,
    caf::reacts_to<flush_atom>, caf::reacts_to<durable_atom>,
    caf::replies_to<stats_atom>::with<ledger_stats>>;

// Closes this node's settlement window (nets its clearing accounts) and
// books the netted receivables of merchants homed here (docs/cluster.md).
using settlement_window_actor =
    caf::typed_actor<caf::replies_to<window_atom>::with<window_report>,
                     caf::replies_to<credit_atom, netting_transfer>::with<verdict>,
                     caf::reacts_to<tick_atom>>;

// What one node offers its peers: the handles of its registry and presence
// shards, its ledger and its settlement window (remote proxies on the
// receiving node).
struct node_card {
  std::uint8_t node = 0;
  std::vector<registry_shard_actor> shards;
  std::vector<presence_shard_actor> presence;
  ledger_actor ledger;
  settlement_window_actor windows;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, node_card& x) {
  return f(caf::meta::type_name("node_card"), x.node, x.shards, x.presence, x.ledger, x.windows);
}

// One per node, published on the cluster port: a peer with a lower id greets
// it with its card to learn this node's (only the lower id of a pair dials);
// the local peer links report peers with a higher id going up and down.
using node_directory_actor =
    caf::typed_actor<caf::replies_to<greet_atom, node_card>::with<node_card>,
                     caf::reacts_to<member_atom, node_card>,
                     caf::reacts_to<lost_atom, std::uint8_t>,
                     caf::replies_to<members_atom>::with<std::vector<member_status>>,
                     // close the window on every node that is up: the audit report, JSON
                     caf::replies_to<window_atom>::with<std::string>>;

// One per configured peer with a higher id: connects, greets, watches, reconnects.
using peer_link_actor = caf::typed_actor<caf::reacts_to<retry_atom>>;

}  // namespace paysync::actors

CAF_BEGIN_TYPE_ID_BLOCK(paysync, caf::first_custom_type_id)
CAF_ADD_TYPE_ID(paysync, (paysync::actors::merchant_card))
CAF_ADD_TYPE_ID(paysync, (paysync::actors::payer_card))
CAF_ADD_TYPE_ID(paysync, (paysync::actors::ending))
CAF_ADD_TYPE_ID(paysync, (paysync::actors::txn_end))
CAF_ADD_TYPE_ID(paysync, (paysync::actors::amount_offer))
CAF_ADD_TYPE_ID(paysync, (paysync::actors::settlement_order))
CAF_ADD_TYPE_ID(paysync, (paysync::actors::settlement_outcome))
CAF_ADD_TYPE_ID(paysync, (paysync::actors::verdict))
CAF_ADD_TYPE_ID(paysync, (paysync::actors::sync_grant))
CAF_ADD_TYPE_ID(paysync, (paysync::actors::txn_ticket))
CAF_ADD_TYPE_ID(paysync, (paysync::actors::open_grant))
CAF_ADD_TYPE_ID(paysync, (paysync::actors::join_request))
CAF_ADD_TYPE_ID(paysync, (paysync::actors::join_grant))
CAF_ADD_TYPE_ID(paysync, (paysync::actors::shard_stats))
CAF_ADD_TYPE_ID(paysync, (paysync::actors::ledger_stats))
CAF_ADD_TYPE_ID(paysync, (paysync::actors::paying_session_actor))
CAF_ADD_TYPE_ID(paysync, (paysync::actors::billing_session_actor))
CAF_ADD_TYPE_ID(paysync, (paysync::actors::registry_shard_actor))
CAF_ADD_TYPE_ID(paysync, (paysync::actors::ledger_actor))
CAF_ADD_TYPE_ID(paysync, (paysync::protocols::close_reason))
CAF_ADD_TYPE_ID(paysync, (paysync::protocols::join_by))
CAF_ADD_TYPE_ID(paysync, (paysync::protocols::wire_error))
// Everything below crosses nodes too (docs/cluster.md): CAF must serialise it.
CAF_ADD_TYPE_ID(paysync, (paysync::actors::incoming_grant))
CAF_ADD_TYPE_ID(paysync, (paysync::actors::catalogue_offer))
CAF_ADD_TYPE_ID(paysync, (paysync::actors::order_request))
CAF_ADD_TYPE_ID(paysync, (paysync::actors::centre_order))
CAF_ADD_TYPE_ID(paysync, (paysync::actors::push_notice))
CAF_ADD_TYPE_ID(paysync, (paysync::actors::reach_grant))
CAF_ADD_TYPE_ID(paysync, (paysync::actors::forward_grant))
CAF_ADD_TYPE_ID(paysync, (paysync::actors::resolve_grant))
CAF_ADD_TYPE_ID(paysync, (paysync::actors::presence_shard_actor))
CAF_ADD_TYPE_ID(paysync, (paysync::actors::node_card))
CAF_ADD_TYPE_ID(paysync, (paysync::actors::member_status))
CAF_ADD_TYPE_ID(paysync, (std::vector<paysync::actors::member_status>))
CAF_ADD_TYPE_ID(paysync, (paysync::actors::node_directory_actor))
CAF_ADD_TYPE_ID(paysync, (paysync::actors::netting_transfer))
CAF_ADD_TYPE_ID(paysync, (paysync::actors::window_line))
CAF_ADD_TYPE_ID(paysync, (paysync::actors::window_report))
CAF_ADD_TYPE_ID(paysync, (paysync::actors::settlement_window_actor))
CAF_ADD_TYPE_ID(paysync, (paysync::actors::ledger_record))
CAF_ADD_TYPE_ID(paysync, (paysync::actors::history_page))
CAF_END_TYPE_ID_BLOCK(paysync)
