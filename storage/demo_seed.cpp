#include "storage/demo_seed.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

namespace paysync::storage {

namespace {

constexpr std::string_view currency = "KES";
constexpr std::string_view float_account = "system:float:KES";
constexpr std::size_t max_load_parties = 100000;  // five-digit suffixes
constexpr std::size_t load_chunk = 5000;          // records per transaction (<= 10000)

account make_account(std::string id, account_kind kind) {
  account a;
  a.id = std::move(id);
  a.currency = currency;
  a.kind = kind;
  return a;
}

merchant_record make_merchant(std::string id, std::string name, std::string till, std::string city,
                              std::string category, std::vector<std::string> disclosed,
                              party_status status = party_status::active) {
  merchant_record m;
  m.account_id = "merchant:" + id;
  m.id = std::move(id);
  m.name = std::move(name);
  m.till = std::move(till);
  m.city = std::move(city);
  m.category = std::move(category);
  m.currency = currency;
  m.status = status;
  m.disclosed_attributes = std::move(disclosed);
  return m;
}

user_record make_user(std::string id, std::string msisdn, std::string name,
                      std::map<std::string, std::string> attributes,
                      party_status status = party_status::active) {
  user_record u;
  u.account_id = "user:" + id;
  u.id = std::move(id);
  u.msisdn = std::move(msisdn);
  u.display_name = std::move(name);
  u.currency = currency;
  u.status = status;
  u.attributes = std::move(attributes);
  return u;
}

posting_request make_funding(const user_record& u, std::int64_t amount_minor,
                             std::int64_t now_unix_ms) {
  posting_request p;
  p.settlement_id = "seed:funding:" + u.id;
  p.debit_account = float_account;
  p.credit_account = u.account_id;
  p.amount_minor = amount_minor;
  p.currency = currency;
  p.kind = entry_kind::funding;
  p.time_unix_ms = now_unix_ms;
  p.memo = "seed funding";
  return p;
}

// Appends `a` to `missing` unless the ledger already has it (a run that
// stopped half way leaves accounts behind).
result<void> collect_missing(const ledger_store& ledger, account a, std::vector<account>& missing) {
  auto found = ledger.find_account(a.id);
  if (found) return {};
  if (found.error() != store_error::not_found) return found.error();
  missing.push_back(std::move(a));
  return {};
}

// Posts the fundings; returns how many were new (duplicates are retries of a
// run that stopped before its directory write).
result<std::size_t> post_fundings(ledger_store& ledger,
                                  const std::vector<posting_request>& fundings) {
  if (fundings.empty()) return 0;
  auto outcomes = ledger.post_batch(fundings);
  if (!outcomes) return outcomes.error();
  std::size_t posted = 0;
  for (const auto& o : *outcomes) {
    if (o.error) return *o.error;
    if (!o.duplicate) ++posted;
  }
  return posted;
}

std::string five_digits(std::size_t n) {
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "%05zu", n);
  return buffer;
}

}  // namespace

result<seed_summary> seed_demo_data(directory_store& directory, ledger_store& ledger,
                                    std::int64_t now_unix_ms) {
  auto existing = directory.count();
  if (!existing) return existing.error();
  if (existing->merchants > 0) return seed_summary{};

  const std::vector<merchant_record> merchants = {
      make_merchant("m-kahawa", "Kahawa Coffee House", "500100", "Nairobi", "cafe",
                    {"display_name"}),
      make_merchant("m-mboga", "Mama Mboga Groceries", "500200", "Nairobi", "grocery",
                    {"display_name", "delivery_address"}),
      make_merchant("m-dawa", "Duka la Dawa Pharmacy", "500300", "Mombasa", "pharmacy",
                    {"display_name", "age_over_18"}),
      make_merchant("m-closed", "Closed Corner Shop", "500900", "Kisumu", "retail",
                    {"display_name"}, party_status::suspended),
  };
  auto terminal = [](std::string id, std::string merchant_id,
                     party_status status = party_status::active) {
    return terminal_record{std::move(id), std::move(merchant_id), status};
  };
  const std::vector<terminal_record> terminals = {
      terminal("t-kahawa-01", "m-kahawa"),
      terminal("t-kahawa-02", "m-kahawa"),
      terminal("t-mboga-01", "m-mboga"),
      terminal("t-dawa-01", "m-dawa"),
      terminal("t-closed-01", "m-closed"),
      terminal("t-kahawa-99", "m-kahawa", party_status::blocked),  // a revoked terminal
      // An order-receiving centre (claims 25, 29): takes orders by phone.
      terminal_record{"oc-nairobi", "", party_status::active, terminal_role::order_centre,
                      "Nairobi Order Centre"},
  };
  const std::vector<user_record> users = {
      make_user("u-1001", "254700000001", "Amina Wanjiru",
                {{"age_over_18", "true"}, {"delivery_address", "Kenyatta Ave 12, Nairobi"}}),
      make_user("u-1002", "254700000002", "Brian Otieno",
                {{"age_over_18", "true"}, {"delivery_address", "Moi Ave 3, Mombasa"}}),
      make_user("u-1003", "254700000003", "Chebet Kiprop", {{"age_over_18", "false"}}),
      make_user("u-1004", "254700000004", "Daniel Mwangi", {}, party_status::blocked),
      make_user("u-1005", "254700000005", "Esther Achieng", {}, party_status::suspended),
  };
  const std::int64_t funding_minor[] = {500000, 100000, 5000, 100000, 250000};
  static_assert(std::size(funding_minor) == 5);

  // Ledger first, directory last: the directory write (one transaction) is
  // what marks the seed as done, and every ledger step before it is safe to
  // repeat after a crash (existing accounts are kept, fundings are idempotent).
  std::vector<account> missing;
  if (auto r = collect_missing(
          ledger, make_account(std::string(float_account), account_kind::system), missing);
      !r) {
    return r.error();
  }
  for (const auto& m : merchants) {
    if (auto r =
            collect_missing(ledger, make_account(m.account_id, account_kind::merchant), missing);
        !r) {
      return r.error();
    }
  }
  std::vector<posting_request> fundings;
  for (std::size_t i = 0; i < users.size(); ++i) {
    if (auto r =
            collect_missing(ledger, make_account(users[i].account_id, account_kind::user), missing);
        !r) {
      return r.error();
    }
    fundings.push_back(make_funding(users[i], funding_minor[i], now_unix_ms));
  }
  if (auto r = ledger.create_accounts(missing); !r) return r.error();
  auto posted = post_fundings(ledger, fundings);
  if (!posted) return posted.error();
  if (auto r = directory.put_many(merchants, terminals, users); !r) return r.error();

  seed_summary summary;
  summary.seeded = true;
  summary.merchants = merchants.size();
  summary.terminals = terminals.size();
  summary.users = users.size();
  summary.fundings = *posted;
  return summary;
}

result<seed_summary> seed_load_data(directory_store& directory, ledger_store& ledger,
                                    std::size_t merchants, std::size_t users,
                                    std::int64_t funding_minor, std::int64_t now_unix_ms) {
  if (merchants > max_load_parties || users > max_load_parties || funding_minor < 0) {
    return store_error::invalid_argument;
  }
  seed_summary summary;
  std::vector<account> missing;
  if (funding_minor > 0) {
    if (auto r = collect_missing(
            ledger, make_account(std::string(float_account), account_kind::system), missing);
        !r) {
      return r.error();
    }
    if (auto r = ledger.create_accounts(missing); !r) return r.error();
  }

  // Merchants: a merchant and its terminal are two records; 5000 merchants
  // make one 10000-record transaction.
  for (std::size_t begin = 0; begin < merchants; begin += load_chunk) {
    const std::size_t end = std::min(merchants, begin + load_chunk);
    std::vector<merchant_record> new_merchants;
    std::vector<terminal_record> new_terminals;
    missing.clear();
    for (std::size_t n = begin; n < end; ++n) {
      const std::string digits = five_digits(n);
      std::string id = "m-load-" + digits;
      auto found = directory.find_merchant(id);
      if (found) continue;
      if (found.error() != store_error::not_found) return found.error();
      merchant_record m = make_merchant(id, "Load Merchant " + digits, "6" + digits, "Nairobi",
                                        "load", {"display_name"});
      if (auto r =
              collect_missing(ledger, make_account(m.account_id, account_kind::merchant), missing);
          !r) {
        return r.error();
      }
      new_terminals.push_back(terminal_record{"t-load-" + digits, id, party_status::active});
      new_merchants.push_back(std::move(m));
    }
    if (auto r = ledger.create_accounts(missing); !r) return r.error();
    if (auto r = directory.put_many(new_merchants, new_terminals, {}); !r) return r.error();
    summary.merchants += new_merchants.size();
    summary.terminals += new_terminals.size();
  }

  for (std::size_t begin = 0; begin < users; begin += load_chunk) {
    const std::size_t end = std::min(users, begin + load_chunk);
    std::vector<user_record> new_users;
    std::vector<posting_request> fundings;
    missing.clear();
    for (std::size_t n = begin; n < end; ++n) {
      const std::string digits = five_digits(n);
      std::string id = "u-load-" + digits;
      auto found = directory.find_user(id);
      if (found) continue;
      if (found.error() != store_error::not_found) return found.error();
      user_record u =
          make_user(id, "2547100" + digits, "Load User " + digits, {{"age_over_18", "true"}});
      if (auto r = collect_missing(ledger, make_account(u.account_id, account_kind::user), missing);
          !r) {
        return r.error();
      }
      if (funding_minor > 0) fundings.push_back(make_funding(u, funding_minor, now_unix_ms));
      new_users.push_back(std::move(u));
    }
    if (auto r = ledger.create_accounts(missing); !r) return r.error();
    auto posted = post_fundings(ledger, fundings);
    if (!posted) return posted.error();
    if (auto r = directory.put_many({}, {}, new_users); !r) return r.error();
    summary.users += new_users.size();
    summary.fundings += *posted;
  }
  summary.seeded = summary.merchants + summary.users > 0;
  return summary;
}

}  // namespace paysync::storage
