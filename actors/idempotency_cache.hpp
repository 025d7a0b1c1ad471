#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstddef>
#include <list>
#include <queue>
#include <string>
#include <unordered_map>
#include <vector>

namespace paysync::actors {

// The requests a connection sent with an idempotency key, and the replies
// they got, so a retry gets the first answer and a reused key with other
// content is refused. Bounded: the oldest keys are forgotten first.
class idempotency_cache {
 public:
  explicit idempotency_cache(std::size_t capacity) : capacity_(capacity) {}

  enum class verdict {
    first,     // a new key: handle the request, then complete() it
    replay,    // a retry of a completed request: send `reply` (with the retry's ref)
    conflict,  // the key was used for a different request
    waiting,   // a retry of a request still in progress: complete() answers it too
  };
  struct outcome {
    verdict kind;
    boost::json::object reply;  // for replay
  };

  outcome begin(const std::string& key, const std::string& fingerprint,
                const boost::json::value& ref);

  // Records the reply to the request with `key` (its "ref" is dropped) and
  // returns it readdressed to every retry that waited for it.
  std::vector<boost::json::object> complete(const std::string& key, boost::json::object reply);

 private:
  struct entry {
    std::string fingerprint;
    bool done = false;
    boost::json::object reply;
    std::vector<boost::json::value> waiting_refs;
  };
  std::size_t capacity_;
  std::unordered_map<std::string, entry> entries_;
  // Keys oldest first. A std::deque would allocate ~600 bytes as soon as it is
  // constructed, and every connection owns one of these caches: a list-backed
  // queue costs nothing until a key arrives (most connections never send one).
  std::queue<std::string, std::list<std::string>> order_;
};

// The reply addressed to `ref` (ref removed when null).
boost::json::object readdressed(boost::json::object reply, const boost::json::value& ref);

}  // namespace paysync::actors
