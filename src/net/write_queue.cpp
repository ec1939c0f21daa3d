#include "net/write_queue.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <optional>
#include <string_view>

namespace waitron::net {

namespace {

constexpr std::size_t kMaxIov = 64;
// sendfile() moves at most 0x7ffff000 bytes per call on Linux.
constexpr std::uint64_t kMaxSendfile = 0x7ffff000;

std::uint64_t chunk_size(const http::OutputChunk& c) {
  if (auto* s = std::get_if<std::string>(&c)) return s->size();
  if (auto* b = std::get_if<http::SharedBytes>(&c)) return b->bytes.size();
  return std::get<core::FileRegion>(c).length();
}

// The bytes of a memory chunk (owned or shared), or nullopt for a file region.
std::optional<std::string_view> memory_of(const http::OutputChunk& c) {
  if (auto* s = std::get_if<std::string>(&c)) return std::string_view(*s);
  if (auto* b = std::get_if<http::SharedBytes>(&c)) return b->bytes;
  return std::nullopt;
}

}  // namespace

void WriteQueue::push(http::OutputChunk chunk) {
  std::uint64_t n = chunk_size(chunk);
  if (n == 0) return;
  bytes_ += n;
  auto bytes = memory_of(chunk);
  // Only output queued behind what is already waiting spills: a response that the socket
  // may take at once (one large chunk on an empty queue) stays in memory.
  if (bytes && memory_bytes_ >= overflow_) {
    // Spill: append to the temporary file and queue the region instead. If the file
    // cannot be made or written, the bytes stay in memory.
    if (!spill_ && core::FileBuffer::create(temp_dir_, spill_)) spill_.reset();
    if (spill_) {
      std::uint64_t at = spill_->file_offset() + spill_->size();
      core::FileRegion region;
      if (!spill_->append(*bytes) &&
          !core::FileRegion::dup_from(spill_->file_descriptor(), at, n, region)) {
        chunks_.push_back(Entry{std::move(region), true});
        return;
      }
    }
  }
  if (bytes) memory_bytes_ += n;
  chunks_.push_back(Entry{std::move(chunk), false});
}

namespace {

bool option_missing(int error) noexcept {
  return error == EOPNOTSUPP || error == ENOPROTOOPT;
}

// Sets fd's TCP_NOTSENT_LOWAT to the limit (on) or to 0, the system's default (off), unless
// it is so already. Before the first change the socket's own value is read: a socket with
// a limit of its own, or without the option (a Unix socket), is left alone for good.
void set_unsent_limit(int fd, UnsentLimit& limit, bool on) noexcept {
  using State = UnsentLimit::State;
  if (limit.state == State::hands_off) return;
  if (limit.state == State::unchecked) {
    if (!on) return;  // nothing to take off
    int current = -1;
    socklen_t length = sizeof current;
    if (::getsockopt(fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &current, &length) != 0) {
      if (option_missing(errno)) limit.state = State::hands_off;
      return;  // any other failure: tried again at the next flush
    }
    limit.state = current == 0 ? State::off : State::hands_off;
    if (limit.state == State::hands_off) return;
  }
  if (on == (limit.state == State::on)) return;
  int value = on ? WriteQueue::kFileUnsentLimit : 0;
  if (::setsockopt(fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &value, sizeof value) == 0) {
    limit.state = on ? State::on : State::off;
  } else if (option_missing(errno)) {
    limit.state = State::hands_off;
  }
  // Any other failure leaves the socket as it was, to be tried again at the next flush.
}

}  // namespace

WriteQueue::Result WriteQueue::flush(int fd, UnsentLimit& limit) {
  Result r;
  while (!chunks_.empty()) {
    auto* region = std::get_if<core::FileRegion>(&chunks_.front().chunk);
    const bool limited = limit.state == UnsentLimit::State::on;
    // On for a large region, and kept on to its end (not taken off for its last bytes); off
    // at a byte chunk. A byte chunk on a socket without the limit (the usual flush) skips
    // the call.
    if (region || limited) {
      set_unsent_limit(
          fd, limit,
          region && (limited || region->length() > static_cast<std::uint64_t>(kFileUnsentLimit)));
    }
    if (region) {
      off_t offset = static_cast<off_t>(region->offset());
      ssize_t n = ::sendfile(fd, region->fd(), &offset,
                             static_cast<std::size_t>(std::min(region->length(), kMaxSendfile)));
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN)
          r.blocked = true;
        else
          r.error = errno;
        return r;
      }
      if (n == 0) {  // the file shrank under us: the promised bytes cannot be sent
        r.error = EIO;
        return r;
      }
      auto sent = static_cast<std::uint64_t>(n);
      region->advance(sent);
      bytes_ -= sent;
      r.bytes += sent;
      if (chunks_.front().spilled) r.memory_bytes += sent;
      if (region->length() == 0) chunks_.pop_front();
      if (chunks_.empty()) spill_.reset();  // every region of it is sent
      continue;
    }
    iovec iov[kMaxIov];
    std::size_t count = 0;
    for (auto it = chunks_.begin(); it != chunks_.end() && count < kMaxIov; ++it) {
      auto bytes = memory_of(it->chunk);
      if (!bytes) break;
      std::size_t skip = count == 0 ? front_offset_ : 0;
      iov[count].iov_base = const_cast<char*>(bytes->data() + skip);
      iov[count].iov_len = bytes->size() - skip;
      ++count;
    }
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = count;
    ssize_t n = ::sendmsg(fd, &msg, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN)
        r.blocked = true;
      else
        r.error = errno;
      return r;
    }
    auto left = static_cast<std::size_t>(n);
    bytes_ -= left;
    memory_bytes_ -= left;
    r.bytes += left;
    r.memory_bytes += left;
    while (left > 0) {
      std::size_t rest = memory_of(chunks_.front().chunk)->size() - front_offset_;
      if (left < rest) {
        front_offset_ += left;
        break;
      }
      left -= rest;
      front_offset_ = 0;
      // Only a string with memory of its own is worth keeping (a short one lives inside
      // the object), and only if none is kept yet.
      if (auto* sent = std::get_if<std::string>(&chunks_.front().chunk);
          sent && spare_.capacity() == std::string().capacity() &&
          sent->capacity() > spare_.capacity() && sent->capacity() <= max_spare_) {
        spare_ = std::move(*sent);
        spare_.clear();
      }
      chunks_.pop_front();
    }
    if (chunks_.empty()) spill_.reset();  // the last chunk out may be a memory one
  }
  return r;
}

}  // namespace waitron::net
