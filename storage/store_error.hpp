#pragma once

#include <boost/system/result.hpp>
#include <cstdint>
#include <string_view>

namespace paysync::storage {

// Every way a storage call can fail. Values are stable: they are logged and
// mapped to protocol error codes by the layers above.
enum class store_error : std::uint8_t {
  not_found = 1,
  already_exists,
  invalid_argument,    // a record that breaks a documented precondition
  insufficient_funds,  // the debit would take a floored account below its floor
  unknown_account,
  currency_mismatch,
  account_frozen,
  refund_exceeds_payment,
  original_not_found,    // a refund names a settlement that is not in the journal
  idempotency_conflict,  // a settlement id reused with different content
  map_full,              // the LMDB map size is exhausted
  corrupt,               // a stored record failed to decode
  io_error,              // any other LMDB failure
  velocity_limit,        // a payment beyond its payer's velocity rule
};

// A short, stable, lower_snake_case name ("insufficient_funds").
std::string_view to_string(store_error e) noexcept;

template <class T>
using result = boost::system::result<T, store_error>;

// Throws boost::system::system_error carrying `e`. result<T, store_error>::value()
// finds this overload by argument-dependent lookup (the declaration in
// boost::system below is declared after boost/system/result.hpp, so two-phase
// lookup never sees it on its own; it forwards here).
[[noreturn]] void throw_exception_from_error(store_error e, const boost::source_location& loc);

// The boost::system error category of store_error, so an error can travel as
// a boost::system::error_code when a layer above needs one.
const boost::system::error_category& store_category() noexcept;

}  // namespace paysync::storage

namespace boost::system {
// Lets result<T, store_error>::value() throw a meaningful exception; callers
// are expected to test has_value() first and never rely on this.
[[noreturn]] void throw_exception_from_error(paysync::storage::store_error e,
                                             const boost::source_location& loc);
}  // namespace boost::system
