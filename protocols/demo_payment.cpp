#include "protocols/demo_payment.hpp"

#include <boost/json.hpp>

#include "protocols/identify.hpp"
#include "protocols/terminal_client.hpp"

namespace paysync::protocols {
namespace {

namespace json = boost::json;
using outcome = boost::system::result<demo_outcome, std::string>;

// demo_outcome is an aggregate, so under C++20 a bare string would be ambiguous.
outcome fail(std::string message) {
  return outcome(boost::system::in_place_error, std::move(message));
}

std::string text_of(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  return it != o.end() && it->value().is_string() ? std::string(it->value().get_string()) : "";
}

// The reply must have `type`; an error or anything else ends the demo.
boost::system::result<json::object, std::string> expect(client_result<json::object> got,
                                                        std::string_view type) {
  if (!got) return "no \"" + std::string(type) + "\": " + std::string(to_string(got.error()));
  if (text_of(*got, "type") != type) {
    return "expected \"" + std::string(type) + "\", got " + json::serialize(*got);
  }
  return std::move(*got);
}

}  // namespace

outcome run_demo_payment(const demo_options& o, std::ostream& out) {
  auto step = [&](std::string_view line) { out << "\n  # " << line << "\n"; };
  auto observe = [&out](std::string_view who) {
    return [&out, who = std::string(who)](bool outbound, std::string_view frame) {
      out << "  " << who << (outbound ? " -> " : " <- ") << frame << "\n";
    };
  };

  client_options billing_options;
  billing_options.host = o.host;
  billing_options.port = o.billing_port;
  billing_options.tls = o.tls;
  auto billing = terminal_session::connect(billing_options);
  if (!billing)
    return fail("billing terminal cannot connect: " + std::string(to_string(billing.error())));
  billing->set_observer(observe("billing"));

  auto keys = read_terminal_key_file(o.key_file);
  if (!keys) return fail(keys.error());
  step(
      "The billing terminal identifies itself with a signature over the switch's challenge; "
      "the switch checks its key and registration (claims 10, 20).");
  auto welcome = expect(identify(*billing, "terminal", o.terminal, &*keys, o.timeout), "welcome");
  if (!welcome) return fail(welcome.error());

  step("It opens a transaction; the switch sets the id, a short code and a link (claims 1, 3, 6).");
  auto opened = expect(
      billing->request({{"type", "open"}, {"reference", "demo-order-1"}}, o.timeout), "opened");
  if (!opened) return fail(opened.error());
  const auto txn = text_of(*opened, "txn");
  const auto link = text_of(*opened, "link");
  const auto token = link.substr(link.rfind('/') + 1);

  client_options handset_options;
  handset_options.host = o.host;
  handset_options.port = o.paying_port;
  handset_options.tls = o.tls;
  handset_options.headers.emplace_back(o.msisdn_header, o.msisdn);
  auto handset = terminal_session::connect(handset_options);
  if (!handset) return fail("handset cannot connect: " + std::string(to_string(handset.error())));
  handset->set_observer(observe("handset"));

  step(
      "The customer opens the link on the handset; its calling number comes from the gateway "
      "(claim 12) and the switch shows who is asking for money (claims 5, 11).");
  auto merchant =
      expect(handset->request({{"type", "join"}, {"token", token}}, o.timeout), "merchant");
  if (!merchant) return fail(merchant.error());

  step(
      "The customer confirms the merchant; the switch synchronizes the two sessions and "
      "tells the terminal (claims 5, 20), with the payer attributes it may see (claim 13).");
  auto ack =
      expect(handset->request({{"type", "confirm_merchant"}, {"txn", txn}}, o.timeout), "ack");
  if (!ack) return fail(ack.error());
  auto synced = expect(billing->wait_for("synchronized", o.timeout), "synchronized");
  if (!synced) return fail(synced.error());

  step("The terminal sends the purchase amount; the handset is asked to confirm it (claims 8, 9).");
  auto amount_ack = expect(
      billing->request(
          {{"type", "amount"}, {"txn", txn}, {"amount", o.amount_minor}, {"currency", o.currency}},
          o.timeout),
      "ack");
  if (!amount_ack) return fail(amount_ack.error());
  auto offer = expect(handset->wait_for("amount", o.timeout), "amount");
  if (!offer) return fail(offer.error());

  step(
      "The customer gives the final confirmation; the ledger commits durably, then the terminal "
      "gets the completion notice and the handset its receipt (claims 7, 9, 22, 23).");
  auto receipt = expect(handset->request({{"type", "confirm_amount"},
                                          {"txn", txn},
                                          {"amount", o.amount_minor},
                                          {"currency", o.currency}},
                                         o.timeout),
                        "receipt");
  if (!receipt) return fail(receipt.error());
  auto settled = expect(billing->wait_for("settled", o.timeout), "settled");
  if (!settled) return fail(settled.error());

  handset->close();
  billing->close();
  demo_outcome result;
  result.txn = txn;
  if (auto it = settled->find("sequence"); it != settled->end() && it->value().is_number()) {
    result.sequence = it->value().to_number<std::uint64_t>();
  }
  return result;
}

}  // namespace paysync::protocols
