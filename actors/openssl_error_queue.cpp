// Clears the thread's OpenSSL error queue before every TLS read, write,
// connect and accept of this process (docs/cluster.md, TLS between nodes).
//
// Why: SSL_get_error() reports the last I/O call correctly only if the
// thread's error queue was empty before that call (SSL_get_error(3)).
// caf_openssl 0.17.6 never empties it: after one failed TLS operation on
// CAF's I/O thread (a peer killed: OpenSSL 3 queues "unexpected EOF"; a
// refused certificate; a redundant connection closed), the stale entry makes
// the next harmless SSL_ERROR_WANT_READ of ANY other connection on that thread
// read as SSL_ERROR_SSL, and caf_openssl closes that healthy connection. The
// cluster then saw every other TLS peer go down ~0.5 s after one died, and
// two nodes dialling each other flapped forever. caf_openssl is a system
// library, so the fix lives here: these definitions in the executable take
// precedence over libssl's for every caller, caf_openssl included, empty the
// queue (a thread-local list; Asio's TLS streams empty it themselves too)
// and call libssl's own function.

#include <dlfcn.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <cstdio>
#include <cstdlib>

namespace {

// libssl's definition of `name`, the one these hide.
template <class Function>
Function libssl(const char* name) {
  auto* found = ::dlsym(RTLD_NEXT, name);
  if (found == nullptr) {
    std::fprintf(stderr, "paysync: %s not found in libssl\n", name);
    std::abort();
  }
  return reinterpret_cast<Function>(found);
}

}  // namespace

extern "C" {

int SSL_read(SSL* ssl, void* buf, int num) {
  static const auto next = libssl<int (*)(SSL*, void*, int)>("SSL_read");
  ERR_clear_error();
  return next(ssl, buf, num);
}

int SSL_write(SSL* ssl, const void* buf, int num) {
  static const auto next = libssl<int (*)(SSL*, const void*, int)>("SSL_write");
  ERR_clear_error();
  return next(ssl, buf, num);
}

int SSL_connect(SSL* ssl) {
  static const auto next = libssl<int (*)(SSL*)>("SSL_connect");
  ERR_clear_error();
  return next(ssl);
}

int SSL_accept(SSL* ssl) {
  static const auto next = libssl<int (*)(SSL*)>("SSL_accept");
  ERR_clear_error();
  return next(ssl);
}

}  // extern "C"
