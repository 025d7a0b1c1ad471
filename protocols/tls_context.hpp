#pragma once

#include <boost/system/result.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace boost::asio::ssl {
class context;
}
struct x509_st;  // OpenSSL's X509

namespace paysync::protocols {

// The server side of TLS on the billing and paying ports: a certificate and
// its private key, either named by the operator or made on first start.
// No Beast, no Asio streams here; the listener takes the context as it is.

enum class tls_error : std::uint8_t {
  half_configured = 1,  // a certificate without a key, or a key without a certificate
  missing_file,         // a named file does not exist
  unreadable_file,      // exists but cannot be read
  bad_certificate,      // not a PEM certificate
  bad_key,              // not a PEM private key
  key_mismatch,         // the key does not belong to the certificate
  key_exposed,          // the key file is readable or writable by every user
  create_failed,        // the self-signed pair could not be made or written
};
std::string_view to_string(tls_error e) noexcept;

// An error and the file and detail that explain it, for the operator.
struct tls_failure {
  tls_error code;
  std::string detail;  // e.g. "/etc/paysync/key.pem: no PEM private key in it"
};
std::string describe(const tls_failure& f);

template <class T>
using tls_result = boost::system::result<T, tls_failure>;

struct server_tls_options {
  std::string certificate_file;  // PEM chain, leaf first; "" with key_file "" = self-signed
  std::string key_file;          // PEM private key
  // Where the self-signed pair lives: <dir>/cert.pem and <dir>/key.pem (0600),
  // made on the first start and reused on every later one.
  std::string self_signed_dir;
};

struct server_tls {
  std::shared_ptr<boost::asio::ssl::context> context;  // TLS 1.2 minimum
  std::string certificate_file, key_file;              // the files actually used
  std::string fingerprint_sha256;                      // "AB:CD:...", 32 bytes of the DER
  bool created = false;                                // the self-signed pair was made now
};

// Loads the named pair, or (both names empty) the self-signed pair in
// self_signed_dir, creating it when neither of its files exists. Never
// overwrites a file: half a pair on disk is an error, not a reason to replace it.
tls_result<server_tls> load_server_tls(const server_tls_options& options);

// Makes a self-signed P-256 certificate for CN=paysync with the names
// localhost, 127.0.0.1 and ::1, valid for 825 days, and writes it and its
// key (mode 0600) to the two paths. Fails if either file exists.
tls_result<void> create_self_signed_pair(const std::string& certificate_file,
                                         const std::string& key_file);

// The SHA-256 fingerprint of the first certificate in a PEM file, as
// "AB:CD:..." (the form `openssl x509 -fingerprint -sha256` prints).
tls_result<std::string> certificate_fingerprint(const std::string& certificate_file);

// The same for a certificate in memory; "" when it cannot be hashed.
std::string sha256_fingerprint(x509_st* certificate);

// A fingerprint in any common spelling ("ab:cd..", "ABCD..", with spaces) as
// 64 lower-case hex digits, or "" when it is not 32 bytes of hex.
std::string normalize_fingerprint(std::string_view text);

}  // namespace paysync::protocols
