#include "storage/keyring.hpp"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace paysync::storage {
namespace {

constexpr char magic[8] = {'P', 'S', 'K', 'E', 'Y', 'S', '0', '1'};
constexpr std::size_t file_size = sizeof(magic) + 3 * 32;

}  // namespace

keyring::~keyring() {
  sodium_memzero(template_key.data(), template_key.size());
  sodium_memzero(pepper.data(), pepper.size());
  sodium_memzero(signing_seed.data(), signing_seed.size());
}

result<keyring> load_or_create_keyring(const std::string& path) {
  keyring k;
  unsigned char buf[file_size];
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) {
    randombytes_buf(k.template_key.data(), k.template_key.size());
    randombytes_buf(k.pepper.data(), k.pepper.size());
    randombytes_buf(k.signing_seed.data(), k.signing_seed.size());
    std::memcpy(buf, magic, sizeof(magic));
    std::memcpy(buf + 8, k.template_key.data(), 32);
    std::memcpy(buf + 40, k.pepper.data(), 32);
    std::memcpy(buf + 72, k.signing_seed.data(), 32);
    // O_EXCL: two processes starting at once must not write two key sets.
    fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
      sodium_memzero(buf, sizeof(buf));
      if (errno == EEXIST) return load_or_create_keyring(path);
      return store_error::io_error;
    }
    const bool ok =
        ::write(fd, buf, sizeof(buf)) == static_cast<ssize_t>(sizeof(buf)) && ::fsync(fd) == 0;
    ::close(fd);
    sodium_memzero(buf, sizeof(buf));
    if (!ok) return store_error::io_error;
    return k;
  }
  if (fd < 0) return store_error::io_error;
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    return store_error::io_error;
  }
  if ((st.st_mode & 077) != 0 || st.st_size != static_cast<off_t>(file_size)) {
    ::close(fd);
    return store_error::invalid_argument;
  }
  const auto n = ::read(fd, buf, sizeof(buf));
  ::close(fd);
  if (n != static_cast<ssize_t>(sizeof(buf)) || std::memcmp(buf, magic, sizeof(magic)) != 0) {
    sodium_memzero(buf, sizeof(buf));
    return store_error::invalid_argument;
  }
  std::memcpy(k.template_key.data(), buf + 8, 32);
  std::memcpy(k.pepper.data(), buf + 40, 32);
  std::memcpy(k.signing_seed.data(), buf + 72, 32);
  sodium_memzero(buf, sizeof(buf));
  return k;
}

}  // namespace paysync::storage
