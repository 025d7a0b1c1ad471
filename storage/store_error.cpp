#include "storage/store_error.hpp"

#include <boost/system/system_error.hpp>
#include <boost/throw_exception.hpp>
#include <string>

namespace paysync::storage {

std::string_view to_string(store_error e) noexcept {
  switch (e) {
    case store_error::not_found:
      return "not_found";
    case store_error::already_exists:
      return "already_exists";
    case store_error::invalid_argument:
      return "invalid_argument";
    case store_error::insufficient_funds:
      return "insufficient_funds";
    case store_error::unknown_account:
      return "unknown_account";
    case store_error::currency_mismatch:
      return "currency_mismatch";
    case store_error::account_frozen:
      return "account_frozen";
    case store_error::refund_exceeds_payment:
      return "refund_exceeds_payment";
    case store_error::original_not_found:
      return "original_not_found";
    case store_error::idempotency_conflict:
      return "idempotency_conflict";
    case store_error::map_full:
      return "map_full";
    case store_error::corrupt:
      return "corrupt";
    case store_error::io_error:
      return "io_error";
    case store_error::velocity_limit:
      return "velocity_limit";
  }
  return "unknown_store_error";
}

namespace {

class store_error_category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "paysync.storage"; }
  std::string message(int value) const override {
    return std::string(to_string(static_cast<store_error>(value)));
  }
};

}  // namespace

const boost::system::error_category& store_category() noexcept {
  static const store_error_category category;
  return category;
}

void throw_exception_from_error(store_error e, const boost::source_location& loc) {
  boost::throw_exception(
      boost::system::system_error(boost::system::error_code(static_cast<int>(e), store_category())),
      loc);
}

}  // namespace paysync::storage

namespace boost::system {

void throw_exception_from_error(paysync::storage::store_error e,
                                const boost::source_location& loc) {
  paysync::storage::throw_exception_from_error(e, loc);
}

}  // namespace boost::system
