// Certificates with OpenSSL's C API, each object in a unique_ptr with its
// free function; the Asio context is only configured here, never used.

#include "protocols/tls_context.hpp"

#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/ssl/context.hpp>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>

namespace paysync::protocols {

std::string_view to_string(tls_error e) noexcept {
  switch (e) {
    case tls_error::half_configured:
      return "half_configured";
    case tls_error::missing_file:
      return "missing_file";
    case tls_error::unreadable_file:
      return "unreadable_file";
    case tls_error::bad_certificate:
      return "bad_certificate";
    case tls_error::bad_key:
      return "bad_key";
    case tls_error::key_mismatch:
      return "key_mismatch";
    case tls_error::key_exposed:
      return "key_exposed";
    case tls_error::create_failed:
      return "create_failed";
  }
  return "unknown";
}

std::string describe(const tls_failure& f) {
  return std::string(to_string(f.code)) + ": " + f.detail;
}

namespace {

namespace fs = std::filesystem;

// Self-signed certificates are for the quick start and for pinning; 825 days
// is the longest validity browsers accept for a certificate they would trust.
constexpr long validity_days = 825;

template <class T, void (*Free)(T*)>
struct deleter {
  void operator()(T* p) const noexcept { Free(p); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, deleter<EVP_PKEY, EVP_PKEY_free>>;
using x509_ptr = std::unique_ptr<X509, deleter<X509, X509_free>>;
using bio_ptr = std::unique_ptr<BIO, deleter<BIO, BIO_free_all>>;
using ext_ptr = std::unique_ptr<X509_EXTENSION, deleter<X509_EXTENSION, X509_EXTENSION_free>>;

tls_failure failure(tls_error code, const std::string& file, std::string_view what) {
  return {code, file + ": " + std::string(what)};
}

// The oldest OpenSSL error on this thread, and clears the queue.
std::string openssl_reason() {
  const auto code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "unknown OpenSSL error";
  char text[256];
  ERR_error_string_n(code, text, sizeof text);
  return text;
}

tls_result<std::string> fingerprint_of(X509* cert) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (X509_digest(cert, EVP_sha256(), digest, &length) != 1 || length != 32) {
    return tls_failure{tls_error::bad_certificate, "cannot hash the certificate"};
  }
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(3 * length);
  for (unsigned i = 0; i < length; ++i) {
    if (i > 0) out += ':';
    out += hex[digest[i] >> 4];
    out += hex[digest[i] & 0xF];
  }
  return out;
}

tls_result<x509_ptr> read_certificate(const std::string& file) {
  bio_ptr bio{BIO_new_file(file.c_str(), "r")};
  if (!bio) return failure(tls_error::unreadable_file, file, "cannot be read");
  x509_ptr cert{PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)};
  ERR_clear_error();
  if (!cert) return failure(tls_error::bad_certificate, file, "no PEM certificate in it");
  return cert;
}

// The named file exists, is readable, and (for keys) is not open to every user.
std::optional<tls_failure> check_file(const std::string& file, bool secret) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) {
    return failure(tls_error::missing_file, file, "does not exist");
  }
  if (::access(file.c_str(), R_OK) != 0) {
    return failure(tls_error::unreadable_file, file, "cannot be read by this user");
  }
  // Group access is allowed (Debian's ssl-cert group); access by everyone is not.
  if (secret && (st.st_mode & (S_IROTH | S_IWOTH)) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return failure(
        tls_error::key_exposed, file,
        std::string("is readable or writable by every user (mode ") + mode + "); chmod 600 it");
  }
  return std::nullopt;
}

pkey_ptr make_p256_key() {
  // P-256: every TLS 1.2 client supports it, and handshakes cost a fraction
  // of RSA-2048's on the server.
  return pkey_ptr{EVP_EC_gen("P-256")};
}

bool add_extension(X509* cert, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  ext_ptr ext{X509V3_EXT_conf_nid(nullptr, &ctx, nid, value)};
  return ext && X509_add_ext(cert, ext.get(), -1) == 1;
}

x509_ptr make_certificate(EVP_PKEY* key) {
  x509_ptr cert{X509_new()};
  if (!cert || X509_set_version(cert.get(), 2) != 1) return nullptr;  // v3
  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof serial) != 1) return nullptr;
  serial[0] &= 0x7F;  // a positive INTEGER
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  const bool serial_set = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  if (!serial_set) return nullptr;
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);  // tolerate a client's clock skew
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), validity_days * 24 * 3600);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("paysync"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("paysync self-signed"), -1, -1,
                             0);
  X509_set_issuer_name(cert.get(), name);
  if (X509_set_pubkey(cert.get(), key) != 1) return nullptr;
  // CA:TRUE lets a client trust the file itself as its CA (--ca-file).
  if (!add_extension(cert.get(), NID_basic_constraints, "critical,CA:TRUE,pathlen:0") ||
      !add_extension(cert.get(), NID_key_usage, "critical,digitalSignature,keyCertSign") ||
      !add_extension(cert.get(), NID_ext_key_usage, "serverAuth") ||
      !add_extension(cert.get(), NID_subject_alt_name,
                     "DNS:localhost,IP:127.0.0.1,IP:0:0:0:0:0:0:0:1")) {
    return nullptr;
  }
  if (X509_sign(cert.get(), key, EVP_sha256()) == 0) return nullptr;
  return cert;
}

// Writes `pem` to a new file with `mode` (never replacing one), via a temporary
// name so a crash leaves no half-written file under the real name.
std::optional<tls_failure> write_new_file(const std::string& file, const std::string& pem,
                                          mode_t mode) {
  const auto temporary = file + ".new";
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return failure(tls_error::create_failed, temporary, std::strerror(errno));
  ::fchmod(fd, mode);  // O_CREAT's mode is filtered by the umask
  std::size_t written = 0;
  while (written < pem.size()) {
    const auto n = ::write(fd, pem.data() + written, pem.size() - written);
    if (n <= 0) break;
    written += static_cast<std::size_t>(n);
  }
  const bool ok = written == pem.size() && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::link(temporary.c_str(), file.c_str()) != 0) {  // link: fails if `file` exists
    const auto why = std::string(std::strerror(errno));
    ::unlink(temporary.c_str());
    return failure(tls_error::create_failed, file, why);
  }
  ::unlink(temporary.c_str());
  return std::nullopt;
}

template <class Write>
std::string to_pem(Write write) {
  bio_ptr bio{BIO_new(BIO_s_mem())};
  if (!bio || write(bio.get()) != 1) return {};
  char* data = nullptr;
  const long length = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(length));
}

tls_result<std::shared_ptr<boost::asio::ssl::context>> make_context(const std::string& cert_file,
                                                                    const std::string& key_file) {
  namespace ssl = boost::asio::ssl;
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* native = ctx->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_compression |
                   ssl::context::single_dh_use);
  // An idle connection gives its record buffers back to OpenSSL's allocator
  // (terminals are idle most of the time; see docs/architecture.md).
  SSL_CTX_set_mode(native, SSL_MODE_RELEASE_BUFFERS);
  ERR_clear_error();
  if (SSL_CTX_use_certificate_chain_file(native, cert_file.c_str()) != 1) {
    return failure(tls_error::bad_certificate, cert_file, openssl_reason());
  }
  bio_ptr bio{BIO_new_file(key_file.c_str(), "r")};
  pkey_ptr key{bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr};
  if (!key) {
    ERR_clear_error();
    return failure(tls_error::bad_key, key_file, "no usable PEM private key in it");
  }
  // OpenSSL checks here that the key belongs to the certificate.
  if (SSL_CTX_use_PrivateKey(native, key.get()) != 1 || SSL_CTX_check_private_key(native) != 1) {
    ERR_clear_error();
    return failure(tls_error::key_mismatch, key_file,
                   "does not belong to the certificate in " + cert_file);
  }
  return ctx;
}

}  // namespace

tls_result<void> create_self_signed_pair(const std::string& certificate_file,
                                         const std::string& key_file) {
  auto key = make_p256_key();
  if (!key) return tls_failure{tls_error::create_failed, "P-256 key: " + openssl_reason()};
  auto cert = make_certificate(key.get());
  if (!cert) return tls_failure{tls_error::create_failed, "certificate: " + openssl_reason()};
  const auto key_pem = to_pem([&](BIO* b) {
    return PEM_write_bio_PrivateKey(b, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  });
  const auto cert_pem = to_pem([&](BIO* b) { return PEM_write_bio_X509(b, cert.get()); });
  if (key_pem.empty() || cert_pem.empty()) {
    return tls_failure{tls_error::create_failed, "PEM encoding: " + openssl_reason()};
  }
  // The key first: a certificate on disk without its key would block the next start.
  if (auto f = write_new_file(key_file, key_pem, 0600)) return *f;
  if (auto f = write_new_file(certificate_file, cert_pem, 0644)) {
    ::unlink(key_file.c_str());
    return *f;
  }
  return {};
}

tls_result<std::string> certificate_fingerprint(const std::string& certificate_file) {
  if (auto f = check_file(certificate_file, false)) return *f;
  auto cert = read_certificate(certificate_file);
  if (!cert) return cert.error();
  return fingerprint_of(cert->get());
}

tls_result<server_tls> load_server_tls(const server_tls_options& options) {
  server_tls out;
  if (options.certificate_file.empty() != options.key_file.empty()) {
    return tls_failure{tls_error::half_configured,
                       "--tls-cert and --tls-key go together: name both files or neither"};
  }
  if (options.certificate_file.empty()) {
    out.certificate_file = options.self_signed_dir + "/cert.pem";
    out.key_file = options.self_signed_dir + "/key.pem";
    std::error_code ec;
    const bool have_cert = fs::exists(out.certificate_file, ec);
    const bool have_key = fs::exists(out.key_file, ec);
    if (!have_cert && !have_key) {
      fs::create_directories(options.self_signed_dir, ec);
      if (ec) return failure(tls_error::create_failed, options.self_signed_dir, ec.message());
      fs::permissions(options.self_signed_dir, fs::perms::owner_all, ec);
      if (auto made = create_self_signed_pair(out.certificate_file, out.key_file); !made) {
        return made.error();
      }
      out.created = true;
    } else if (have_cert != have_key) {
      return failure(tls_error::half_configured, have_cert ? out.key_file : out.certificate_file,
                     "is missing while its pair is there; restore it, or delete the other file "
                     "to have a new pair made");
    }
  } else {
    out.certificate_file = options.certificate_file;
    out.key_file = options.key_file;
  }
  if (auto f = check_file(out.certificate_file, false)) return *f;
  if (auto f = check_file(out.key_file, true)) return *f;
  auto cert = read_certificate(out.certificate_file);
  if (!cert) return cert.error();
  auto fingerprint = fingerprint_of(cert->get());
  if (!fingerprint) return fingerprint.error();
  out.fingerprint_sha256 = std::move(*fingerprint);
  auto ctx = make_context(out.certificate_file, out.key_file);
  if (!ctx) return ctx.error();
  out.context = std::move(*ctx);
  return out;
}

std::string sha256_fingerprint(X509* certificate) {
  if (certificate == nullptr) return {};
  auto fingerprint = fingerprint_of(certificate);
  return fingerprint ? *fingerprint : std::string{};
}

std::string normalize_fingerprint(std::string_view text) {
  std::string out;
  for (const char c : text) {
    if (c == ':' || c == ' ') continue;
    if (!std::isxdigit(static_cast<unsigned char>(c))) return {};
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out.size() == 64 ? out : std::string{};
}

}  // namespace paysync::protocols
